"""Public read-only JSON endpoints of the foundation: aggregate figures and the agency list."""

from __future__ import annotations

from fastapi import APIRouter

from porchlight.entrypoints.api.schemas import AgencyOut, ErrorBody, NeighbourhoodOut
from porchlight.entrypoints.deps import UowDep
from porchlight.neighbourhood.services import summary as neighbourhood

ERROR_RESPONSES = {status: {"model": ErrorBody} for status in (401, 403, 404, 409, 422)}

router = APIRouter(prefix="/api/v1", responses=ERROR_RESPONSES)


@router.get("/neighbourhood", response_model=NeighbourhoodOut, tags=["public"])
def get_neighbourhood(uow: UowDep) -> NeighbourhoodOut:
    """Aggregate figures only: how many residents, cameras and opted-in cameras there are."""
    found = neighbourhood.summary(uow)
    return NeighbourhoodOut(
        residents=found.residents,
        cameras=found.cameras,
        cameras_opted_in=found.cameras_opted_in,
        agencies=len(found.agencies),
    )


@router.get("/agencies", response_model=list[AgencyOut], tags=["public"])
def list_agencies(uow: UowDep) -> list[AgencyOut]:
    """Every agency on this deployment, with its kind and jurisdiction: public by design."""
    return [AgencyOut.of(agency) for agency in neighbourhood.agencies(uow)]
