"""Web forms: what was typed is parsed once, kept, and each error is shown beside its field.

A page's form is a ``FormModel``: the fields the page asks for, with their bounds.
``parse`` turns the posted strings into it or raises ``FormInvalid`` with one message per
field, in plain words. A domain error raised later names its field too
(``DomainError.field``), and ``field_errors`` files it the same way. The page then renders
itself again with ``form`` (what was typed) and ``errors`` (field -> message), so nothing
typed is lost and a browser never gets a bare error page for a typo.

A use case that the API offers too has one input model for both (``entrypoints.inputs``):
``submit`` takes it as it takes a ``FormModel``, and ``parse`` tells it that it reads a form.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from pydantic import (
    BaseModel,
    ConfigDict,
    ValidationError,
    model_validator,
)

from porchlight.entrypoints.inputs import When, clean_posted
from porchlight.kernel.domain.errors import (
    DomainError,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
)

WHOLE_FORM = "_form"  # the key of an error about the form as a whole

Values = dict[str, str | list[str]]
M = TypeVar("M", bound=BaseModel)


class FormInvalid(Exception):
    """The posted form breaks its rules; ``errors`` maps each field to its message."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


LocalDateTime = When  # the viewer's wall-clock time, in their zone


class FormModel(BaseModel):
    """Fields of a page's form. Empty inputs count as not given; repeated names as lists."""

    model_config = ConfigDict(str_strip_whitespace=True, extra="ignore", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _from_posted(cls, data: Any) -> Any:
        return clean_posted(cls, data) if isinstance(data, Mapping) else data


async def posted(request: Request) -> Values:
    """The posted form as strings; a name sent more than once becomes a list."""
    form = await request.form()
    values: Values = {}
    for key in form:
        items = [v for v in form.getlist(key) if isinstance(v, str)]
        values[key] = items if len(items) > 1 else (items[0] if items else "")
    return values


Posted = Annotated[Values, Depends(posted)]


def parse(model: type[M], values: Values, *, zone: Any = None) -> M:
    try:
        return model.model_validate(values, context={"form": True, "zone": zone})
    except ValidationError as exc:
        raise FormInvalid(_messages(exc)) from None


def field_errors(error: DomainError, aliases: Mapping[str, str] | None = None
                 ) -> dict[str, str]:
    """A domain error filed under the form field it is about (renamed by ``aliases``)."""
    name = error.field
    if name and aliases:
        name = aliases.get(name, name)
    return {name or WHOLE_FORM: error.message}


def _messages(exc: ValidationError) -> dict[str, str]:
    found: dict[str, str] = {}
    for error in exc.errors():
        name = str(error["loc"][0]) if error["loc"] else WHOLE_FORM
        found.setdefault(name, plain_message(error))
    return found


def plain_message(error: Any) -> str:
    """A Pydantic error in the plain words a form shows beside its field."""
    kind, ctx = error["type"], error.get("ctx") or {}
    if kind == "missing" or (kind == "string_too_short" and ctx.get("min_length") == 1):
        return "this is required"
    if kind == "too_short" and ctx.get("min_length") == 1:
        return "pick at least one"
    simple = {
        "float_parsing": "enter a number, like 45.5123",
        "float_type": "enter a number, like 45.5123",
        "int_parsing": "enter a whole number, like 200",
        "int_from_float": "enter a whole number, like 200",
        "int_type": "enter a whole number, like 200",
        "enum": "pick one of the choices",
        "literal_error": "pick one of the choices",
        "bool_parsing": "tick the box or leave it empty",
        "uuid_parsing": "pick one of the choices",
        "uuid_type": "pick one of the choices",
        "datetime_parsing": "enter a date and a time",
        "datetime_from_date_parsing": "enter a date and a time",
        "datetime_type": "enter a date and a time",
    }
    if kind in simple:
        return simple[kind]
    bounds = {
        "string_too_short": "use at least {min_length} characters",
        "string_too_long": "use at most {max_length} characters",
        "greater_than_equal": "must be at least {ge}",
        "greater_than": "must be more than {gt}",
        "less_than_equal": "must be at most {le}",
        "less_than": "must be less than {lt}",
        "too_short": "pick at least {min_length}",
        "too_long": "pick at most {max_length}",
        "string_pattern_mismatch": "this is not in the expected form",
    }
    if kind in bounds:  # 90.0 reads as 90
        return bounds[kind].format(**{k: f"{v:g}" if isinstance(v, float) else v
                                      for k, v in ctx.items()})
    if kind == "value_error":
        return str(ctx.get("error", error["msg"]))
    return str(error["msg"])


T = TypeVar("T")
_NOT_FORM_ERRORS = (NotFound, PermissionDenied, NotAuthenticated)


def submit(model: type[M], values: Values, action: Callable[[M], T],
           page: Callable[[dict[str, str]], T], *, aliases: Mapping[str, str] | None = None,
           zone: Any = None) -> T:
    """Parse the form and run ``action`` on it; on bad input, ``page(errors)`` instead.

    Bad input is a form's business: a field the parser or the domain refuses is shown
    beside that field. Not being allowed, or asking for what does not exist, is not: those
    errors go on to the error pages."""
    try:
        return action(parse(model, values, zone=zone))
    except FormInvalid as invalid:
        return page(invalid.errors)
    except DomainError as error:
        if isinstance(error, _NOT_FORM_ERRORS):
            raise
        return page(field_errors(error, aliases))
