"""FastAPI dependencies, as Annotated aliases routes can declare.

The ones that do no I/O are ``async def``: FastAPI runs a plain ``def`` dependency in the
thread pool, a hand-off to a thread and back per dependency per request, which costs more
than these functions do. ``get_caller`` reads the database and stays a ``def``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from porchlight.accounts.domain.accounts import Account
from porchlight.accounts.domain.auth import Session as UserSession
from porchlight.accounts.services.credentials import Security
from porchlight.bootstrap import Container
from porchlight.entrypoints.auth import Caller, resolve_caller
from porchlight.kernel.domain.errors import NotAuthenticated
from porchlight.kernel.services.ports import UnitOfWork


async def get_container(request: Request) -> Container:
    return request.app.state.container


async def get_uow(request: Request) -> UnitOfWork:
    return request.app.state.container.uow()


async def get_security(request: Request) -> Security:
    return request.app.state.container.security


def get_caller(request: Request) -> Caller:
    return resolve_caller(request)


def actor_of(caller: Caller) -> Account:
    """The caller's account, once fully signed in; else NotAuthenticated."""
    if caller.actor is None:
        if caller.pending is not None:
            raise NotAuthenticated("finish signing in with your second step first")
        raise NotAuthenticated("sign in first")
    return caller.actor


async def require_actor(caller: Annotated[Caller, Depends(get_caller)]) -> Account:
    return actor_of(caller)


async def require_any_session(caller: Annotated[Caller, Depends(get_caller)]) -> UserSession:
    """A browser session, fully signed in or still owing its second step."""
    if caller.session is None:
        raise NotAuthenticated("sign in first")
    return caller.session


ContainerDep = Annotated[Container, Depends(get_container)]
UowDep = Annotated[UnitOfWork, Depends(get_uow)]
SecurityDep = Annotated[Security, Depends(get_security)]
CallerDep = Annotated[Caller, Depends(get_caller)]
ActorDep = Annotated[Account, Depends(require_actor)]
AnySessionDep = Annotated[UserSession, Depends(require_any_session)]
