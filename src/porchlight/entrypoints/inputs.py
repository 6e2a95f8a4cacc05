"""What callers send, parsed once for the JSON API and the web pages alike.

An input model (``Input``) is the body of an API operation, so the OpenAPI document
describes it, and the form of a page, through ``web.forms.submit``, so what was typed is
kept and each error is shown beside its field. Its ``command`` method builds the use case's
command: the page and the API cannot drift apart, because there is one model and one
method between what was sent and what is asked.

The two readings differ only where JSON and HTML forms differ, and the validation context
says which one is at work (``web.forms.parse`` passes ``{"form": True, "zone": ...}``):

* JSON: numbers and flags are JSON types, never strings (as the schema says); times carry
  their offset.
* a posted form: every value is a string; a blank one counts as not given and surrounding
  whitespace is dropped; a name sent more than once is a list and an unticked set of boxes
  an empty one; a time is the viewer's wall-clock time in their zone.
"""

from __future__ import annotations

import re
import typing
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any
from uuid import UUID

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    model_validator,
)
from pydantic_core import PydanticCustomError

from porchlight.custody.domain.demands import (
    COURT_MAX,
    DOCKET_MAX,
    DOCUMENTATION_MAX,
    DOCUMENTATION_MIN,
    Coverage,
    DemandTerms,
    DemandType,
)
from porchlight.custody.domain.holds import HOLD_REASON_MAX, HOLD_REASON_MIN
from porchlight.custody.domain.reshare import RESHARE_REASON_MAX, RESHARE_REASON_MIN
from porchlight.custody.services.commands import (
    AnswerDeletionRequest,
    DocumentEmergency,
    RecordLegalDemand,
    ReshareEvidence,
    SetLegalHold,
)
from porchlight.kernel.domain.geo import LatLon
from porchlight.redaction.domain.options import ExtraBox, Rect, RedactionOptions, Style
from porchlight.requests.domain.consent import SharingScope
from porchlight.requests.domain.requests import (
    MIN_RADIUS_M,
    REJECTION_REASON_MAX,
    REJECTION_REASON_MIN,
    IncidentType,
    RequestDraft,
)
from porchlight.requests.services.commands import (
    ApproveVideoRequest,
    CreateVideoRequest,
    GrantConsent,
    RejectVideoRequest,
)


def from_form(info: ValidationInfo) -> bool:
    """Whether the value being validated came from a posted HTML form."""
    return bool((info.context or {}).get("form"))


def clean_posted(model: type[BaseModel], data: Mapping[str, Any]) -> dict[str, Any]:
    """A posted form as ``model`` reads it: only its fields, blanks dropped, text stripped,
    repeated names as lists (an absent list is an empty one: unticked boxes send nothing)."""
    cleaned: dict[str, Any] = {}
    for name in model.model_fields:
        value = data.get(name)
        if _is_list(model, name):
            items = value if isinstance(value, list) else [] if value is None else [value]
            cleaned[name] = [v.strip() for v in items if isinstance(v, str) and v.strip()]
            continue
        if isinstance(value, list):
            value = value[-1] if value else ""
        if isinstance(value, str):
            value = value.strip()
        if value is not None and value != "":
            cleaned[name] = value
    return cleaned


def _is_list(model: type[BaseModel], name: str) -> bool:
    annotation = model.model_fields[name].annotation
    return typing.get_origin(annotation) in (list, set, tuple)


class Input(BaseModel):
    """One use case's input, read from a JSON body or from a posted form."""

    model_config = ConfigDict(frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _from_posted(cls, data: Any, info: ValidationInfo) -> Any:
        if from_form(info) and isinstance(data, Mapping):
            return clean_posted(cls, data)
        return data


# Python's whitespace (what the domain collapses with str.split) spelled out one by one:
# the schema's regex dialect (ECMA 262), pydantic's (Rust) and Python's disagree on \s.
_SPACE = "".join(f"\\u{ord(c):04x}" for c in map(chr, range(0x3001)) if c.isspace())
VISIBLE = f"[^{_SPACE}]"


def text(low: int, high: int, default: Any = ...) -> Any:
    """A text field: ``low`` to ``high`` characters with at least one visible one (two when
    ``low`` is 2 or more), so that the domain, which collapses runs of whitespace before it
    measures, does not find it empty. Schema and server check the same raw string."""
    pattern = VISIBLE if low < 2 else f"{VISIBLE}[\\s\\S]*{VISIBLE}"
    return Field(default, min_length=low, max_length=high, pattern=pattern)


# JSON numbers and booleans as JSON Schema reads them: the schema refuses "1" for a number
# and 0 for a flag, so the server does too (FastAPI validates bodies in Python mode, which
# would coerce them); an integer may be written 3.0, as JSON Schema allows. A form sends
# only strings, which pydantic then parses as usual.
def _json_number(value: Any, info: ValidationInfo) -> Any:
    if not from_form(info) and (isinstance(value, bool) or not isinstance(value, int | float)):
        raise ValueError("Input should be a number")
    return value


def _json_float(value: Any, info: ValidationInfo) -> Any:
    if not from_form(info) and (isinstance(value, bool) or not isinstance(value, int | float)):
        raise PydanticCustomError("float_type", "Input should be a valid number")
    return value


def _json_bool(value: Any, info: ValidationInfo) -> Any:
    if not from_form(info) and not isinstance(value, bool):
        raise PydanticCustomError("bool_type", "Input should be a valid boolean")
    return value


def _in_zone(value: datetime, info: ValidationInfo) -> datetime:
    """JSON times carry their offset; a form's is the viewer's wall-clock time."""
    if value.tzinfo is not None:
        return value
    if from_form(info):
        return value.replace(tzinfo=(info.context or {}).get("zone") or UTC)
    raise PydanticCustomError("timezone_aware", "Input should have timezone info")


_DAY = re.compile(r"\d{4}-\d\d-\d\d")


def _through_the_day(value: Any, info: ValidationInfo) -> Any:
    """A form's end date is a day the hold lasts through: it ends at the next midnight
    in the viewer's zone. JSON gives the end itself, a time with its offset."""
    if from_form(info) and isinstance(value, str) and _DAY.fullmatch(value.strip()):
        try:
            day = date.fromisoformat(value.strip()) + timedelta(days=1)
        except ValueError:
            return value  # not a real day: the datetime parser says so
        return datetime.combine(day, time(), tzinfo=(info.context or {}).get("zone") or UTC)
    return value


Flag = Annotated[bool, BeforeValidator(_json_bool)]
Latitude = Annotated[float, Field(ge=-90, le=90), BeforeValidator(_json_float)]
Longitude = Annotated[float, Field(ge=-180, le=180), BeforeValidator(_json_float)]
Whole = Annotated[int, BeforeValidator(_json_number)]
When = Annotated[datetime, AfterValidator(_in_zone)]
EndDate = Annotated[datetime, BeforeValidator(_through_the_day), AfterValidator(_in_zone)]


def whole(low: int, high: int | None = None) -> Any:
    """Bounds of a ``Whole`` field, which is required."""
    return Field(ge=low, le=high)


class RequestIn(Input):
    """The shape of a request; the scope policy (window, radius and retention caps, purposes,
    the window having ended) is checked by the service and refused with 422 policy_refused."""

    case_number: str = text(1, 40)
    incident_type: IncidentType
    incident_other: str | None = text(3, 120, default=None)
    incident_time: When
    lat: Latitude
    lon: Longitude
    radius_m: Whole = whole(MIN_RADIUS_M)
    window_start: When
    window_end: When
    description: str = text(20, 2000)
    retention_days: Whole = whole(1)
    sharing_plan: list[UUID] = []
    contact: str = text(3, 200)

    def command(self) -> CreateVideoRequest:
        return CreateVideoRequest(RequestDraft(
            case_number=self.case_number, incident_type=self.incident_type,
            incident_other=self.incident_other, incident_time=self.incident_time,
            location=LatLon(self.lat, self.lon), radius_m=self.radius_m,
            window_start=self.window_start, window_end=self.window_end,
            description=self.description, retention_days=self.retention_days,
            sharing_plan=tuple(self.sharing_plan), contact=self.contact))


class ApprovalIn(Input):
    justification: str = text(20, 2000)

    def command(self, request_id: UUID) -> ApproveVideoRequest:
        return ApproveVideoRequest(request_id, self.justification)


class RejectionIn(Input):
    reason: str = Field(description="why the request is rejected; the officer reads it "
                        f"({REJECTION_REASON_MIN} to {REJECTION_REASON_MAX} characters)")

    def command(self, request_id: UUID) -> RejectVideoRequest:
        return RejectVideoRequest(request_id, self.reason)


class ConsentIn(Input):
    clips: list[str] = Field(min_length=1)
    scope: SharingScope
    share_contact: Flag = False
    disclosure_sha256: str = Field(pattern="^[0-9a-f]{64}$")
    blur: Flag = Field(False, description="share the owner's approved copy of each clip with "
                       "bystanders' faces blurred, instead of the clip")

    def command(self, delivery_id: UUID) -> GrantConsent:
        return GrantConsent(delivery_id, frozenset(self.clips), self.scope, self.share_contact,
                            self.disclosure_sha256, blur=self.blur)


class HoldIn(Input):
    """A legal hold on a case's evidence; the end date's bounds (after now, at most the
    deployment's longest evidence retention from now) are checked by the service."""

    reason: str = Field(description="why the evidence is kept; the agency's staff read it, "
                        "the audit log gets only a commitment to it and the residents "
                        f"are not shown it ({HOLD_REASON_MIN} to {HOLD_REASON_MAX} "
                        "characters)")
    until: EndDate = Field(description="when the hold ends, a time with its offset; the "
                           "page's form sends a day, which the hold lasts through")

    def command(self, request_id: UUID) -> SetLegalHold:
        return SetLegalHold(request_id, self.reason, self.until)


class ReshareIn(Input):
    """Share an evidence item with another agency; the owner's consent decides whether it
    may go there (checked by the service, which audits a refusal)."""

    to_agency_id: UUID = Field(description="the verified agency to receive a copy")
    reason: str = Field(description="why it is shared; the owner of the footage reads it, "
                        "the audit log gets only a commitment to it "
                        f"({RESHARE_REASON_MIN} to {RESHARE_REASON_MAX} characters)")
    until: EndDate | None = Field(default=None, description="when the copy is to be deleted, "
                                  "a time with its offset (the page's form sends a day, "
                                  "kept through); never later than the item's own promised "
                                  "date, which is used when it is not given")

    def command(self, evidence_id: UUID) -> ReshareEvidence:
        return ReshareEvidence(evidence_id, self.to_agency_id, self.reason, self.until)


def _id_list(value: Any) -> Any:
    """A form's textarea of ids (one per line, or separated by commas or spaces) as a list;
    JSON sends a list already."""
    if isinstance(value, str):
        value = [value]
    if isinstance(value, list):
        return [part for item in value for part in
                (re.split(r"[\s,;]+", item) if isinstance(item, str) else [item]) if part != ""]
    return value


IdList = Annotated[list[UUID], BeforeValidator(_id_list)]


class LegalDemandIn(Input):
    """A legal demand as a platform admin records it; the rules (court and docket unless an
    emergency, the coverage's bounds, a notice delay for a warrant or court order only, the
    retention cap) are checked by the domain and refused beside their field."""

    demand_type: DemandType
    agency_id: UUID = Field(description="the verified agency that issued it")
    court: str | None = text(1, COURT_MAX, default=None)
    docket: str | None = text(1, DOCKET_MAX, default=None)
    coverage: Coverage
    account_ids: IdList = Field(default=[], description="with account_data: the accounts")
    camera_ids: IdList = Field(default=[], description="with cameras: the cameras")
    covers_from: When | None = None
    covers_to: When | None = None
    notice_delayed_until: EndDate | None = Field(
        default=None, description="a court-ordered delay of the owners' notice (warrant or "
        "court order); the page's form sends a day, which the delay lasts through")
    retention_days: Whole = whole(1)

    def command(self) -> RecordLegalDemand:
        return RecordLegalDemand(DemandTerms(
            self.demand_type, self.agency_id, self.court, self.docket, self.coverage,
            tuple(self.account_ids), tuple(self.camera_ids), self.covers_from, self.covers_to,
            self.notice_delayed_until, self.retention_days))


class DocumentationIn(Input):
    documentation: str = Field(description="the agency's account of the emergency: the "
                               "audit log gets only its length and a commitment "
                               f"({DOCUMENTATION_MIN} to {DOCUMENTATION_MAX} characters)")

    def command(self, demand_id: UUID) -> DocumentEmergency:
        return DocumentEmergency(demand_id, self.documentation)


class DeletionAnswerIn(Input):
    """The holding agency's answer to the owner's deletion request."""

    answer: typing.Literal["deleted", "kept"] = Field(
        description="deleted: the agency's copies of that footage are deleted now; kept: "
                    "they are kept under the legal hold named in hold_id")
    hold_id: UUID | None = Field(default=None, description="with kept: an active legal "
                                 "hold your agency set on the case")

    def command(self, consent_id: UUID) -> AnswerDeletionRequest:
        return AnswerDeletionRequest(consent_id, self.answer, self.hold_id)


Seconds = Annotated[float, Field(ge=0, le=86400), BeforeValidator(_json_float)]
# seconds (up to a day, to the millisecond), then pixels (up to 5 digits): bounded before
# they are numbers, so no box can be an overflow or an infinity
_SECOND, _PIXEL = r"\s*\d{1,5}(\.\d{1,3})?\s*", r"\s*\d{1,5}\s*"
BOX = f"^{_SECOND},{_SECOND},{_PIXEL},{_PIXEL},{_PIXEL},{_PIXEL}$"


class RedactionIn(Input):
    """A redacted copy of one of the owner's clips (redaction/domain/options.py)."""

    style: Style = Field(Style.BLUR, description="blur or pixelate each face")
    drop_audio: Flag = Field(False, description="leave the sound out of the copy")
    start: Seconds | None = Field(None, description="keep the clip from this second on")
    end: Seconds | None = Field(None, description="keep the clip up to this second")
    keep: list[Annotated[int, Field(ge=0, le=1_000_000)]] = Field(
        [], max_length=50, description="ids of faces found by an earlier copy of the same "
        "clip with the same start and end, to leave visible (the person at the door)")
    boxes: list[Annotated[str, Field(pattern=BOX)]] = Field(
        [], max_length=20, description='extra areas to cover, each "start,end,x,y,w,h": '
        "seconds of the copy, then pixels of the clip's frame")

    def options(self) -> RedactionOptions:
        boxes = []
        for box in self.boxes:
            start, end, x, y, w, h = (part.strip() for part in box.split(","))
            boxes.append(ExtraBox(float(start), float(end), Rect(int(x), int(y), int(w),
                                                                 int(h))))
        return RedactionOptions(style=self.style, keep_visible=frozenset(self.keep),
                                extra_boxes=tuple(boxes), keep_audio=not self.drop_audio,
                                start=self.start, end=self.end)
