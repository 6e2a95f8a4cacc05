"""Domain errors. Each carries a stable machine code; the web layer maps classes to statuses."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every rule violation the domain reports."""

    code = "domain_error"

    def __init__(self, message: str, *, code: str | None = None, field: str | None = None
                 ) -> None:
        super().__init__(message)
        self.message = message
        # The input the error is about, by its domain name ("password", "radius_m"), so a
        # form can show the message beside that field; None when it is about the whole.
        self.field = field
        if code is not None:
            self.code = code


class ValidationFailed(DomainError):
    """The input breaks a rule about its shape or range."""

    code = "invalid"


class NotFound(DomainError):
    """The object does not exist or the caller may not know that it does."""

    code = "not_found"


class PermissionDenied(DomainError):
    """The caller is known but may not do this."""

    code = "forbidden"


class NotAuthenticated(DomainError):
    """The caller must sign in first."""

    code = "not_authenticated"


class Conflict(DomainError):
    """The request clashes with the current state (duplicate, already done, too late)."""

    code = "conflict"


class TooManyRequests(DomainError):
    """The caller asked too often in a short time; they may ask again later."""

    code = "too_many_requests"


class PolicyRefused(DomainError):
    """A deployment policy rule refused the request; the message names the rule."""

    code = "policy_refused"

    def __init__(self, rule: str, message: str, *, field: str | None = None) -> None:
        super().__init__(message, code=f"policy_refused.{rule}", field=field)
        self.rule = rule


class SigninRefused(NotAuthenticated):
    """Sign-in failed. One message for every cause, so it tells an attacker nothing."""

    code = "signin_refused"

    def __init__(self) -> None:
        super().__init__(
            "The e-mail address or password is wrong, or the account is locked or disabled. "
            "Residents can unlock their account with a password reset; staff, ask your "
            "agency admin."
        )


class VideoRejected(ValidationFailed):
    """An uploaded file is not footage Porchlight accepts; ``reason`` says which rule."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message, code=f"video_rejected.{reason}")
        self.reason = reason


class TooLarge(ValidationFailed):
    """An upload is larger than the deployment allows."""

    code = "too_large"


class UploadStalled(DomainError):
    """An upload's body stopped arriving, or arrived slower than the deployment accepts."""

    code = "upload_stalled"
