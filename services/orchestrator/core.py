"""The orchestrator's job state machine, independent of gRPC: one facade over its parts.

- client_api.py   create, get, list, cancel, retry, review and watch jobs
- worker_api.py   start, progress, complete, fail and abandon step attempts
- advance.py      the DAG advance (queue ready steps, finish or fail the job)
- writer.py       write transactions: one job locked, its JobTx (jobtx.py) flushed, then
                  watchers woken and outbox rows handed to the relay
- store.py        SQL statements and reads returning the typed rows of rows.py
- library.py      asset versions (files copied before the transaction that records them)

Every operation on a job locks the job row and changes it, its steps, its event log and the
outbox in one transaction. Worker calls are idempotent: a duplicate delivery, a
redelivery after a crash or a late result from a superseded attempt never changes a result
already recorded.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from assetcore.blobs.base import BlobStore
from assetcore.config import Settings
from assetcore.db.database import Database
from assetcore.events.notifier import JobNotifier
from assetcore.proto.v1 import events_pb2, job_pb2, orchestrator_pb2
from assetcore.steps.catalog import catalog_for
from services.orchestrator import audit, deletion, eta
from services.orchestrator.admin import Admin
from services.orchestrator.advance import Advance
from services.orchestrator.client_api import ClientApi
from services.orchestrator.offers import OfferBook
from services.orchestrator.paging import MAX_PAGE, decode_token, encode_token
from services.orchestrator.principal import Principal
from services.orchestrator.rate_limits import RateLimiter
from services.orchestrator.worker_api import WORKER_LOST, WorkerApi
from services.orchestrator.writer import JobWriter, OutboxHandoff

# Re-exported: their homes are principal.py and paging.py.
__all__ = [
    "MAX_PAGE",
    "WORKER_LOST",
    "Orchestrator",
    "OutboxHandoff",
    "Principal",
    "decode_token",
    "encode_token",
]


class Orchestrator:
    def __init__(
        self,
        db: Database,
        blobs: BlobStore,
        settings: Settings,
        notifier: JobNotifier,
        on_outbox: OutboxHandoff,
        *,
        publish_events: bool = False,
    ) -> None:
        """`publish_events`: events also go to the outbox for the event bus (aws profile)."""
        self.db = db
        self.blobs = blobs
        self.settings = settings
        self.notifier = notifier
        self.eta = eta.EtaModel()
        self.catalog = catalog_for(settings)
        self.offers = OfferBook(db)
        self.writer = JobWriter(db, blobs, notifier, on_outbox, publish_events=publish_events)
        advance = Advance(self.eta, self.catalog.file_suffix)
        self.client = ClientApi(
            db, blobs, settings, notifier, self.eta, self.writer, self.catalog, advance, self.offers
        )
        self.worker = WorkerApi(settings, self.eta, self.writer, advance)
        self.rate_limits = RateLimiter(db, settings.rate_limits)  # on every mutation, before its work
        self.admin = Admin(db, settings.key_pepper())

    # -- client calls -------------------------------------------------------------------------

    async def create_job(
        self, principal: Principal, request: orchestrator_pb2.CreateJobRequest
    ) -> orchestrator_pb2.CreateJobResponse:
        await self.rate_limits.admit(principal)
        created = await self.client.create_job(principal, request)
        if created.created:
            await audit.append(
                self.db, principal, "job.create", created.job.id, pipeline=created.job.pipeline
            )
        return created

    async def get_job(self, principal: Principal, job_id: str) -> job_pb2.Job:
        return await self.client.get_job(principal, job_id)

    async def list_jobs(
        self, principal: Principal, request: orchestrator_pb2.ListJobsRequest
    ) -> orchestrator_pb2.ListJobsResponse:
        return await self.client.list_jobs(principal, request)

    async def cancel_job(self, principal: Principal, job_id: str) -> job_pb2.Job:
        await self.rate_limits.admit(principal)
        job = await self.client.cancel_job(principal, job_id)
        await audit.append(self.db, principal, "job.cancel", job.id)
        return job

    async def retry_job(self, principal: Principal, job_id: str) -> job_pb2.Job:
        await self.rate_limits.admit(principal)
        job = await self.client.retry_job(principal, job_id)
        await audit.append(self.db, principal, "job.retry", job.id)
        return job

    async def review_step(
        self, principal: Principal, request: orchestrator_pb2.ReviewStepRequest
    ) -> job_pb2.Job:
        await self.rate_limits.admit(principal)
        job = await self.client.review_step(principal, request)
        decision = "approve" if request.decision == orchestrator_pb2.REVIEW_DECISION_APPROVE else "reject"
        await audit.append(self.db, principal, "job.review", job.id, step=request.step, decision=decision)
        return job

    async def delete_asset(
        self, principal: Principal, asset_id: str, version: int | None = None
    ) -> orchestrator_pb2.DeleteAssetResponse:
        """A version (or the whole asset, version None), its files and its library entries."""
        await self.rate_limits.admit(principal)
        return await deletion.delete_asset(self.db, self.blobs, principal, asset_id, version)

    def watch_job(
        self, principal: Principal, job_id: str, after_sequence: int = 0
    ) -> AsyncIterator[events_pb2.JobEvent]:
        """The job's events after `after_sequence`, live, ending after the job's final event."""
        return self.client.watch_job(principal, job_id, after_sequence)

    # -- worker calls -------------------------------------------------------------------------

    async def start_step(
        self, request: orchestrator_pb2.StartStepRequest
    ) -> orchestrator_pb2.StartStepResponse:
        return await self.worker.start_step(request)

    async def report_progress(
        self, request: orchestrator_pb2.ReportProgressRequest
    ) -> orchestrator_pb2.ReportProgressResponse:
        return await self.worker.report_progress(request)

    async def complete_step(
        self, request: orchestrator_pb2.CompleteStepRequest
    ) -> orchestrator_pb2.CompleteStepResponse:
        return await self.worker.complete_step(request)

    async def fail_step(self, request: orchestrator_pb2.FailStepRequest) -> orchestrator_pb2.FailStepResponse:
        return await self.worker.fail_step(request)

    async def abandon_step(self, request: orchestrator_pb2.AbandonStepRequest) -> None:
        await self.worker.abandon_step(request)

    async def register_worker(self, request: orchestrator_pb2.RegisterWorkerRequest) -> None:
        """A worker's backend loaded: record what it offers (checked by CreateJob)."""
        await self.offers.register(request)
