"""The dead-letter list: jobs that kept failing, for a platform admin to look at and retry."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from porchlight.entrypoints.deps import ActorDep, ContainerDep, UowDep
from porchlight.entrypoints.web.render import render, see_other
from porchlight.jobs.domain.jobs import MAX_ATTEMPTS, JobState
from porchlight.jobs.services import jobs

router = APIRouter(include_in_schema=False)


@router.get("/admin/jobs", response_class=HTMLResponse)
def admin_jobs(request: Request, uow: UowDep, me: ActorDep) -> Response:
    dead = jobs.list_jobs(uow, me, [JobState.DEAD])
    working = jobs.list_jobs(uow, me, [JobState.RUNNING, JobState.PENDING], limit=50)
    return render(request, "admin_jobs.html", dead=dead, working=working,
                  max_attempts=MAX_ATTEMPTS)


@router.post("/admin/jobs/{job_id}/retry")
def retry(uow: UowDep, container: ContainerDep, me: ActorDep, job_id: UUID) -> Response:
    jobs.retry_dead_job(uow, container.queue, me, job_id)
    return see_other("/admin/jobs")
