"""OrchestratorService over gRPC: authentication, authorization and error mapping around core."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from functools import wraps
from typing import Any

import grpc
from sqlalchemy.exc import OperationalError

from assetcore.errors import ApiError, InvalidArgument, Unavailable
from assetcore.proto.v1 import events_pb2, job_pb2, library_pb2, orchestrator_pb2, orchestrator_pb2_grpc
from assetcore.rpc.channel import token_from_metadata
from assetcore.rpc.status import to_status
from services.orchestrator import library
from services.orchestrator.auth import Authenticator, authorize
from services.orchestrator.core import MAX_PAGE, Orchestrator, Principal, decode_token, encode_token
from services.orchestrator.pipelines import PIPELINES

log = logging.getLogger(__name__)
Method = Callable[[Any, Principal, Any], Awaitable[Any]]


def _as_api_error(exc: Exception) -> ApiError:
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, OperationalError):
        log.warning("database unavailable: %s", exc.orig)
        return Unavailable("the job store is busy or unreachable; retry")
    raise exc


def rpc(role: str) -> Callable[[Method], Callable[..., Awaitable[Any]]]:
    """Authenticate from call metadata, check the role, and turn ApiErrors into gRPC statuses."""

    def decorate(method: Method) -> Callable[..., Awaitable[Any]]:
        @wraps(method)
        async def handler(self: OrchestratorServicer, request: Any, context: grpc.aio.ServicerContext) -> Any:
            try:
                principal = await self.auth.authenticate(token_from_metadata(context.invocation_metadata()))
                authorize(principal, role)
                return await method(self, principal, request)
            except (ApiError, OperationalError) as exc:
                await context.abort_with_status(to_status(_as_api_error(exc)))

        return handler

    return decorate


class OrchestratorServicer(orchestrator_pb2_grpc.OrchestratorServiceServicer):
    def __init__(self, core: Orchestrator, auth: Authenticator) -> None:
        self.core = core
        self.auth = auth

    @rpc("editor")
    async def CreateJob(self, principal: Principal, request: orchestrator_pb2.CreateJobRequest) -> Any:
        return await self.core.create_job(principal, request)

    @rpc("viewer")
    async def GetJob(self, principal: Principal, request: orchestrator_pb2.GetJobRequest) -> job_pb2.Job:
        return await self.core.get_job(principal, request.job_id)

    @rpc("viewer")
    async def ListJobs(self, principal: Principal, request: orchestrator_pb2.ListJobsRequest) -> Any:
        return await self.core.list_jobs(principal, request)

    @rpc("editor")
    async def CancelJob(
        self, principal: Principal, request: orchestrator_pb2.CancelJobRequest
    ) -> job_pb2.Job:
        return await self.core.cancel_job(principal, request.job_id)

    @rpc("editor")
    async def RetryJob(self, principal: Principal, request: orchestrator_pb2.RetryJobRequest) -> job_pb2.Job:
        return await self.core.retry_job(principal, request.job_id)

    @rpc("editor")
    async def ReviewStep(
        self, principal: Principal, request: orchestrator_pb2.ReviewStepRequest
    ) -> job_pb2.Job:
        return await self.core.review_step(principal, request)

    async def WatchJob(
        self, request: orchestrator_pb2.WatchJobRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[events_pb2.JobEvent]:
        try:
            principal = await self.auth.authenticate(token_from_metadata(context.invocation_metadata()))
            authorize(principal, "viewer")
            async for event in self.core.watch_job(principal, request.job_id, request.after_sequence):
                yield event
        except (ApiError, OperationalError) as exc:
            await context.abort_with_status(to_status(_as_api_error(exc)))

    @rpc("viewer")
    async def GetAsset(
        self, principal: Principal, request: orchestrator_pb2.GetAssetRequest
    ) -> library_pb2.Asset:
        return await library.get_asset(self.core.db, principal, request.asset_id)

    @rpc("viewer")
    async def ListAssets(self, principal: Principal, request: orchestrator_pb2.ListAssetsRequest) -> Any:
        if len(request.query) > 200:
            raise InvalidArgument("longer than 200 characters", field="query")
        size = min(request.page_size or 20, MAX_PAGE)
        after = decode_token(request.page_token, "ast") if request.page_token else None
        found, more = await library.list_assets(
            self.core.db, principal, request.query, request.tags, size, after
        )
        return orchestrator_pb2.ListAssetsResponse(
            assets=found, next_page_token=encode_token(found[-1].id) if more else ""
        )

    @rpc("viewer")
    async def ListPipelines(
        self, principal: Principal, request: orchestrator_pb2.ListPipelinesRequest
    ) -> Any:
        return orchestrator_pb2.ListPipelinesResponse(
            pipelines=[
                library_pb2.Pipeline(
                    name=p.name,
                    description=p.description,
                    steps=[
                        library_pb2.PipelineStep(
                            name=s.name,
                            depends_on=s.depends_on,
                            max_attempts=self.core.settings.retry_policy(s.name).max_attempts,
                        )
                        for s in p.steps
                    ],
                )
                for p in PIPELINES.values()
            ]
        )

    @rpc("viewer")
    async def WhoAmI(self, principal: Principal, request: orchestrator_pb2.WhoAmIRequest) -> Any:
        return orchestrator_pb2.Principal(
            tenant_id=principal.tenant_id,
            project_id=principal.project_id,
            role=principal.role,
            key_id=principal.key_id,
        )

    @rpc("worker")
    async def StartStep(self, principal: Principal, request: orchestrator_pb2.StartStepRequest) -> Any:
        return await self.core.start_step(request)

    @rpc("worker")
    async def ReportProgress(
        self, principal: Principal, request: orchestrator_pb2.ReportProgressRequest
    ) -> Any:
        return await self.core.report_progress(request)

    @rpc("worker")
    async def CompleteStep(self, principal: Principal, request: orchestrator_pb2.CompleteStepRequest) -> Any:
        return await self.core.complete_step(request)

    @rpc("worker")
    async def FailStep(self, principal: Principal, request: orchestrator_pb2.FailStepRequest) -> Any:
        return await self.core.fail_step(request)

    @rpc("worker")
    async def AbandonStep(self, principal: Principal, request: orchestrator_pb2.AbandonStepRequest) -> Any:
        await self.core.abandon_step(request)
        return orchestrator_pb2.AbandonStepResponse()
