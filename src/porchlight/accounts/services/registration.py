"""Joining and recovering: resident registration, e-mail checks, password resets, staff invites."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID, uuid4

from porchlight.accounts.domain.accounts import (
    Account,
    AccountKind,
    StaffRole,
    clean_display_name,
    normalise_email,
)
from porchlight.accounts.domain.agencies import Agency
from porchlight.accounts.domain.auth import (
    TOKEN_LIFETIMES,
    EmailVerified,
    OneTimeToken,
    PasswordChanged,
    TokenIssued,
    TokenPurpose,
    check_password_rules,
    unlock,
)
from porchlight.accounts.services.credentials import (
    Security,
    digest,
    link_token,
    open_link_token,
    sign_link_token,
)
from porchlight.accounts.services.signin import end_all_sessions
from porchlight.jobs.domain.jobs import JobSpec
from porchlight.kernel.domain.errors import Conflict, DomainError, NotFound, ValidationFailed
from porchlight.kernel.domain.geo import LatLon
from porchlight.kernel.domain.policies import Actor, actor_id, require_agency_admin
from porchlight.kernel.services.ports import OutgoingMail, UnitOfWork

MAX_ADDRESS_LENGTH = 300


@dataclass(frozen=True)
class Registration:
    email: str
    display_name: str
    password: str
    home: LatLon
    postal_address: str | None = None


def _address_context(account_id: UUID) -> bytes:
    return f"account:{account_id}:postal_address".encode()


def _issue_link(
    uow: UnitOfWork, sec: Security, account: Account, purpose: TokenPurpose, now: datetime
) -> None:
    """A new one-time link; the mail that carries it is a job (``send_link``) after commit."""
    for old in uow.one_time_tokens.list_open(account.id):
        if old.purpose is purpose:
            old.used_at = now  # a new link replaces any earlier one of the same kind
    token_id = uuid4()
    uow.one_time_tokens.add(OneTimeToken(
        id=token_id, account_id=account.id, purpose=purpose,
        token_hash=digest(link_token(sec.link_key, token_id)),
        created_at=now, expires_at=now + TOKEN_LIFETIMES[purpose],
    ))
    account.record(TokenIssued(actor_id=None, account_id=account.id, purpose=purpose,
                               token_id=token_id))


RESET_COOLDOWN = timedelta(minutes=5)  # at most one reset mail per address this often

LINK_PATHS = {TokenPurpose.VERIFY_EMAIL: "verify-email",
              TokenPurpose.RESET_PASSWORD: "password/reset", TokenPurpose.INVITE: "invite"}


def send_link(uow: UnitOfWork, sec: Security, token_id: UUID) -> bool:
    """The job that mails a one-time link; whether it sent one.

    A link already used, expired or replaced by a newer one is not sent. The link is
    derived again from the token's id, so a retry sends the same link, with the same
    idempotency key (the mail's Message-ID)."""
    with uow.reading():
        token = uow.one_time_tokens.get(token_id)
        if token is None or token.used_at is not None or token.expires_at <= uow.clock.now():
            return False
        account = uow.accounts.get(token.account_id)
        agency = (uow.agencies.get(account.agency_id)
                  if account is not None and account.agency_id else None)
    if account is None or account.is_disabled:
        return False
    signed = sign_link_token(sec.link_key, token.purpose, link_token(sec.link_key, token_id))
    link = f"{sec.base_url.rstrip('/')}/{LINK_PATHS[token.purpose]}/{signed}"
    sec.mailer.send(_link_mail(token.purpose, account, agency, link,
                               key=f"link.{digest(str(token_id))[:32]}"))  # not the id
    return True


def _link_mail(purpose: TokenPurpose, account: Account, agency: Agency | None, link: str,
               key: str) -> OutgoingMail:
    if purpose is TokenPurpose.VERIFY_EMAIL:
        return OutgoingMail(
            to=account.email, subject="Confirm your e-mail address for Porchlight", key=key,
            body=f"Welcome to Porchlight.\n\nConfirm this address by opening:\n{link}\n\n"
                 "If you did not sign up, ignore this message.")
    if purpose is TokenPurpose.RESET_PASSWORD:
        return OutgoingMail(
            to=account.email, subject="Reset your Porchlight password", key=key,
            body=f"Someone asked to reset the password of this account.\n\n{link}\n\n"
                 "The link works once, for one hour. If it was not you, ignore this message.")
    name = agency.name if agency else "an agency"
    role = account.staff_role.value.replace("_", " ") if account.staff_role else "staff"
    return OutgoingMail(
        to=account.email, subject=f"You are invited to Porchlight for {name}", key=key,
        body=f"You have been added as {role} of {name}.\n\n"
             f"Choose a password and set up two-step sign-in here (valid 7 days):\n{link}")


def send_signup_taken(uow: UnitOfWork, sec: Security, account_id: UUID, key: str) -> bool:
    """The job that tells an account's owner someone tried to sign up with their address."""
    with uow.reading():
        account = uow.accounts.get(account_id)
    if account is None or account.is_disabled:
        return False
    sec.mailer.send(OutgoingMail(
        to=account.email, subject="Someone tried to sign up with your address", key=key,
        body="Someone tried to create a Porchlight account with this address, which "
             "already has one. If it was you, sign in or reset your password at "
             f"{sec.base_url.rstrip('/')}/password/forgot. Otherwise, ignore this."))
    return True


def _use_link(
    uow: UnitOfWork, sec: Security, purpose: TokenPurpose, signed: str, now: datetime,
    *, use: bool = True,
) -> Account:
    token = uow.one_time_tokens.get_by_token_hash(
        digest(open_link_token(sec.link_key, purpose, signed))
    )
    if token is None or token.purpose is not purpose:
        raise Conflict("this link is not valid")
    if use:
        uow.lock(token)  # a link used twice at the same moment works once (PostgreSQL)
        token.use(now=now)
    else:
        token.check_usable(now=now)
    account = uow.accounts.get(token.account_id)
    if account is None or account.is_disabled:
        raise Conflict("this link is not valid")
    return account


def _new_password_hash(sec: Security, account: Account, password: str) -> str:
    """Check the rules and hash; called with no transaction open (the hash is slow on
    purpose, and on SQLite a write transaction holds the only write lock)."""
    check_password_rules(password, common=sec.common_passwords, email=account.email)
    return sec.passwords.hash(password)


def _set_password(account: Account, password_hash: str, reason: str) -> None:
    account.password_hash = password_hash
    account.record(PasswordChanged(actor_id=account.id, account_id=account.id, reason=reason))


def _link_account(uow: UnitOfWork, sec: Security, purpose: TokenPurpose, signed: str) -> Account:
    """The account a link is for, read without using the link (``_use_link`` does that)."""
    with uow.reading():
        return _use_link(uow, sec, purpose, signed, uow.clock.now(), use=False)


def reset_link_usable(uow: UnitOfWork, sec: Security, signed: str) -> bool:
    """Whether a password-reset link would work now (it is not used up by asking)."""
    return _usable(uow, sec, TokenPurpose.RESET_PASSWORD, signed)


def invite_link_usable(uow: UnitOfWork, sec: Security, signed: str) -> bool:
    return _usable(uow, sec, TokenPurpose.INVITE, signed)


def _usable(uow: UnitOfWork, sec: Security, purpose: TokenPurpose, signed: str) -> bool:
    try:
        _link_account(uow, sec, purpose, signed)
    except DomainError:
        return False
    return True


def register(uow: UnitOfWork, sec: Security, form: Registration) -> UUID | None:
    """Create a resident account and mail a link that confirms the address.

    For an address that already has an account, nothing is created and its owner is
    mailed instead; the caller sees the same answer either way, so the form cannot be
    used to find out who has an account.
    """
    # Every field is checked before the address is looked up: a refusal must not depend
    # on whether the address has an account.
    email = normalise_email(form.email)
    check_password_rules(form.password, common=sec.common_passwords, email=email)
    clean_display_name(form.display_name)
    _clean_address(form.postal_address)
    # Hashed whether or not the address is taken, so the answer takes as long either way,
    # and before any transaction: the hash is slow on purpose.
    password_hash = sec.passwords.hash(form.password)
    with uow:
        now = uow.clock.now()
        existing = uow.accounts.get_by_email(email)
        if existing is not None:
            # one warning a day at most, however often the form is posted
            uow.enqueue(JobSpec("mail.signup_taken",
                                {"account_id": str(existing.id), "day": str(now.date())},
                                key=f"mail.signup_taken:{existing.id}:{now.date()}"))
            uow.commit()
            return None
        account = Account.resident(id=uuid4(), email=email, display_name=form.display_name,
                                   home=form.home, now=now)
        account.password_hash = password_hash
        _seal_address(sec, account, form.postal_address)
        uow.accounts.add(account)
        _issue_link(uow, sec, account, TokenPurpose.VERIFY_EMAIL, now)
        uow.commit()  # the confirmation mail is a job (kernel.services.messagebus)
    return account.id


def _clean_address(address: str | None) -> str:
    address = " ".join((address or "").split())
    if len(address) > MAX_ADDRESS_LENGTH:
        raise ValidationFailed(f"the address must be at most {MAX_ADDRESS_LENGTH} characters",
                               field="postal_address")
    return address


def _seal_address(sec: Security, account: Account, address: str | None) -> None:
    address = _clean_address(address)
    account.postal_address_sealed = (
        sec.vault.seal(address.encode(), context=_address_context(account.id)) if address
        else None
    )


def postal_address(sec: Security, account: Account) -> str | None:
    """Only ever called for the account's owner (the account settings page)."""
    if account.postal_address_sealed is None:
        return None
    return sec.vault.open(account.postal_address_sealed,
                          context=_address_context(account.id)).decode()


def verify_email(uow: UnitOfWork, sec: Security, signed: str) -> None:
    with uow:
        now = uow.clock.now()
        account = _use_link(uow, sec, TokenPurpose.VERIFY_EMAIL, signed, now)
        if account.email_verified_at is None:
            account.email_verified_at = now
            account.record(EmailVerified(actor_id=account.id, account_id=account.id))
        uow.commit()


def request_password_reset(uow: UnitOfWork, sec: Security, email: str) -> None:
    """Mail a reset link if the account exists; the caller learns nothing either way.
    Looked up without the write lock: anyone can post this form, for any address."""
    try:
        address = normalise_email(email)
    except ValidationFailed:
        return
    with uow.reading():
        account = uow.accounts.get_by_email(address)
    if account is None or account.is_disabled or account.password_hash is None:
        return
    with uow:
        account = uow.accounts.get(account.id)
        if account is None or account.is_disabled or account.password_hash is None:
            return
        now = uow.clock.now()
        if any(t.purpose is TokenPurpose.RESET_PASSWORD and now - t.created_at < RESET_COOLDOWN
               for t in uow.one_time_tokens.list_open(account.id)):
            return  # a link went out minutes ago: the form is not a way to flood a mailbox
        _issue_link(uow, sec, account, TokenPurpose.RESET_PASSWORD, now)
        uow.commit()  # the mail with the link is a job


def reset_password(uow: UnitOfWork, sec: Security, signed: str, password: str) -> None:
    """Set a new password from a mailed link; ends every session; unlocks a resident."""
    password_hash = _new_password_hash(
        sec, _link_account(uow, sec, TokenPurpose.RESET_PASSWORD, signed), password)
    with uow:
        now = uow.clock.now()
        account = _use_link(uow, sec, TokenPurpose.RESET_PASSWORD, signed, now)
        _set_password(account, password_hash, reason="reset")
        if account.kind is AccountKind.RESIDENT:
            unlock(account, actor_id=account.id, reason="password_reset")
        end_all_sessions(uow, account, now, reason="password_reset")
        for token in uow.api_tokens.list_for_account(account.id):  # a reset may follow a leak
            if token.revoked_at is None:
                token.revoke(now=now, actor_id=account.id)
        uow.commit()


def invite_staff(
    uow: UnitOfWork, sec: Security, actor: Actor, *, agency_id: UUID, email: str,
    display_name: str, role: StaffRole,
) -> UUID:
    """An agency admin (or a platform admin) invites a member of staff by e-mail."""
    with uow:
        require_agency_admin(actor, agency_id)
        agency = uow.agencies.get(agency_id)
        if agency is None:
            raise NotFound("no such agency")
        email = normalise_email(email)
        if uow.accounts.get_by_email(email) is not None:
            raise Conflict("an account with this e-mail address already exists")
        account = Account.staff(id=uuid4(), email=email, display_name=display_name,
                                agency_id=agency_id, role=role, now=uow.clock.now(),
                                actor_id=actor_id(actor))
        uow.accounts.add(account)
        _issue_link(uow, sec, account, TokenPurpose.INVITE, uow.clock.now())
        uow.commit()  # the invitation is mailed by a job
    return account.id


def accept_invite(uow: UnitOfWork, sec: Security, signed: str, password: str) -> None:
    password_hash = _new_password_hash(
        sec, _link_account(uow, sec, TokenPurpose.INVITE, signed), password)
    with uow:
        now = uow.clock.now()
        account = _use_link(uow, sec, TokenPurpose.INVITE, signed, now)
        _set_password(account, password_hash, reason="invite_accepted")
        account.email_verified_at = now
        account.record(EmailVerified(actor_id=account.id, account_id=account.id))
        uow.commit()


def change_password(
    uow: UnitOfWork, sec: Security, account_id: UUID, current: str, new: str,
    *, keep_session: UUID | None = None,
) -> None:
    """Change the password; every other session is signed out. Both hashes are worked
    out with no transaction open; the change is written only if the password it was
    checked against is still the account's."""
    with uow.reading():
        account = uow.accounts.get(account_id)
    if account is None or account.password_hash is None:
        raise NotFound("no such account")
    checked = account.password_hash
    if not sec.passwords.verify(checked, current):
        raise ValidationFailed("the current password is not right", field="current")
    password_hash = _new_password_hash(sec, account, new)
    with uow:
        account = uow.accounts.get(account_id)
        if account is None or account.password_hash != checked:
            raise Conflict("the password was changed meanwhile; try again")
        _set_password(account, password_hash, reason="changed")
        for session in uow.sessions.list_open(account.id):
            if session.id != keep_session:
                session.end(now=uow.clock.now(), reason="password_changed")
        uow.commit()
