"""FastAPI dependencies, as Annotated aliases routes can declare."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from porchlight.bootstrap import Container
from porchlight.services.ports import UnitOfWork


def get_container(request: Request) -> Container:
    return request.app.state.container


def get_uow(request: Request) -> UnitOfWork:
    return get_container(request).uow()


ContainerDep = Annotated[Container, Depends(get_container)]
UowDep = Annotated[UnitOfWork, Depends(get_uow)]
