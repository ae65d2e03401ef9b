"""OrchestratorService over gRPC: thin handlers around core.

What each method requires is declared once, in ROLES; the server's interceptors
(assetcore/rpc/interceptors.py, installed by `server_interceptors`) authenticate the caller,
check that requirement, hand the Principal to the handler (`_principal()`), and map every
error a handler raises (ApiError; a database error → UNAVAILABLE) to a status with details.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from typing import Any, TypeAlias

import grpc

from assetcore.config import Settings
from assetcore.errors import InvalidArgument
from assetcore.proto.v1 import events_pb2, job_pb2, library_pb2, orchestrator_pb2, orchestrator_pb2_grpc
from assetcore.rpc.interceptors import (
    AuthInterceptor,
    ErrorStatusInterceptor,
    current_principal,
    method_roles,
)
from assetcore.steps.catalog import Catalog
from assetcore.steps.schema import options_schema
from services.orchestrator import audit, library
from services.orchestrator.auth import Authenticator
from services.orchestrator.core import Orchestrator
from services.orchestrator.paging import MAX_PAGE, decode_token, encode_token
from services.orchestrator.principal import Principal

SERVICE = orchestrator_pb2.DESCRIPTOR.services_by_name["OrchestratorService"]
Context: TypeAlias = grpc.aio.ServicerContext

# The requirement of every method: a role (viewer < editor < admin), "tenant_admin" (an admin
# of the whole tenant) or "worker" (the all-tenant worker credential). A method missing here
# fails the server at start.
ROLES = {
    "CreateJob": "editor",
    "GetJob": "viewer",
    "ListJobs": "viewer",
    "CancelJob": "editor",
    "RetryJob": "editor",
    "ReviewStep": "editor",
    "WatchJob": "viewer",
    "GetAsset": "viewer",
    "ListAssets": "viewer",
    "DeleteAsset": "editor",
    "DeleteAssetVersion": "editor",
    "ListPipelines": "viewer",
    "WhoAmI": "viewer",
    "CreateProject": "tenant_admin",
    "ListProjects": "tenant_admin",
    "AddMember": "admin",
    "SetMemberRole": "admin",
    "RemoveMember": "admin",
    "ListMembers": "admin",
    "CreateApiKey": "admin",
    "RevokeApiKey": "admin",
    "ListApiKeys": "admin",
    "ListAuditLog": "admin",
    "StartStep": "worker",
    "ReportProgress": "worker",
    "CompleteStep": "worker",
    "FailStep": "worker",
    "AbandonStep": "worker",
    "RegisterWorker": "worker",
}


def server_interceptors(auth: Authenticator) -> list[Any]:
    """Outermost first: errors → statuses (including authentication's), then authentication."""
    return [ErrorStatusInterceptor([SERVICE.full_name]), AuthInterceptor(auth, method_roles(SERVICE, ROLES))]


def _pipeline_step(
    catalog: Catalog, settings: Settings, name: str, depends_on: Sequence[str]
) -> library_pb2.PipelineStep:
    step = catalog.steps[name]
    backend = catalog.backend_name(name, settings.backends)
    return library_pb2.PipelineStep(
        name=name,
        depends_on=depends_on,
        max_attempts=settings.retry_policy(name).max_attempts,
        description=step.description,
        backend=backend,
        options_schema=json.dumps(options_schema(step, backend), sort_keys=True),
        consumes=step.consumes,
        produces=step.produces,
    )


def _principal() -> Principal:
    return current_principal(Principal)


class OrchestratorServicer(orchestrator_pb2_grpc.OrchestratorServiceServicer):  # type: ignore[misc]
    def __init__(self, core: Orchestrator, auth: Authenticator) -> None:
        self.core = core
        self.auth = auth

    def interceptors(self) -> list[Any]:
        """The interceptors the server must install for this servicer (GrpcServer(interceptors=...))."""
        return server_interceptors(self.auth)

    async def CreateJob(
        self, request: orchestrator_pb2.CreateJobRequest, context: Context
    ) -> orchestrator_pb2.CreateJobResponse:
        return await self.core.create_job(_principal(), request)

    async def GetJob(self, request: orchestrator_pb2.GetJobRequest, context: Context) -> job_pb2.Job:
        return await self.core.get_job(_principal(), request.job_id)

    async def ListJobs(
        self, request: orchestrator_pb2.ListJobsRequest, context: Context
    ) -> orchestrator_pb2.ListJobsResponse:
        return await self.core.list_jobs(_principal(), request)

    async def CancelJob(self, request: orchestrator_pb2.CancelJobRequest, context: Context) -> job_pb2.Job:
        return await self.core.cancel_job(_principal(), request.job_id)

    async def RetryJob(self, request: orchestrator_pb2.RetryJobRequest, context: Context) -> job_pb2.Job:
        return await self.core.retry_job(_principal(), request.job_id)

    async def ReviewStep(self, request: orchestrator_pb2.ReviewStepRequest, context: Context) -> job_pb2.Job:
        return await self.core.review_step(_principal(), request)

    async def WatchJob(
        self, request: orchestrator_pb2.WatchJobRequest, context: Context
    ) -> AsyncIterator[events_pb2.JobEvent]:
        async for event in self.core.watch_job(_principal(), request.job_id, request.after_sequence):
            yield event

    async def GetAsset(
        self, request: orchestrator_pb2.GetAssetRequest, context: Context
    ) -> library_pb2.Asset:
        return await library.get_asset(self.core.db, _principal(), request.asset_id)

    async def ListAssets(
        self, request: orchestrator_pb2.ListAssetsRequest, context: Context
    ) -> orchestrator_pb2.ListAssetsResponse:
        if len(request.query) > 200:
            raise InvalidArgument("longer than 200 characters", field="query")
        size = min(request.page_size or 20, MAX_PAGE)
        after = decode_token(request.page_token, "ast") if request.page_token else None
        found, more = await library.list_assets(
            self.core.db, _principal(), request.query, request.tags, size, after
        )
        return orchestrator_pb2.ListAssetsResponse(
            assets=found, next_page_token=encode_token(found[-1].id) if more else ""
        )

    async def DeleteAsset(
        self, request: orchestrator_pb2.DeleteAssetRequest, context: Context
    ) -> orchestrator_pb2.DeleteAssetResponse:
        return await self.core.delete_asset(_principal(), request.asset_id)

    async def DeleteAssetVersion(
        self, request: orchestrator_pb2.DeleteAssetVersionRequest, context: Context
    ) -> orchestrator_pb2.DeleteAssetResponse:
        if request.version < 1:
            raise InvalidArgument("must be 1 or more", field="version")
        return await self.core.delete_asset(_principal(), request.asset_id, request.version)

    async def ListPipelines(
        self, request: orchestrator_pb2.ListPipelinesRequest, context: Context
    ) -> orchestrator_pb2.ListPipelinesResponse:
        catalog, settings = self.core.catalog, self.core.settings
        return orchestrator_pb2.ListPipelinesResponse(
            pipelines=[
                library_pb2.Pipeline(
                    name=p.name,
                    description=p.description,
                    steps=[_pipeline_step(catalog, settings, s.name, s.depends_on) for s in p.steps],
                )
                for p in catalog.pipelines.values()
            ]
        )

    async def WhoAmI(
        self, request: orchestrator_pb2.WhoAmIRequest, context: Context
    ) -> orchestrator_pb2.Principal:
        principal = _principal()
        return orchestrator_pb2.Principal(
            tenant_id=principal.tenant_id,
            project_id=principal.project_id,
            role=principal.role,
            key_id=principal.key_id,
            member_id=principal.member_id,
            user_id=principal.user_id,
            tenant_admin=principal.tenant_admin,
        )

    async def CreateProject(
        self, request: orchestrator_pb2.CreateProjectRequest, context: Context
    ) -> orchestrator_pb2.Project:
        return await self.core.admin.create_project(_principal(), request)

    async def ListProjects(
        self, request: orchestrator_pb2.ListProjectsRequest, context: Context
    ) -> orchestrator_pb2.ListProjectsResponse:
        return await self.core.admin.list_projects(_principal())

    async def AddMember(
        self, request: orchestrator_pb2.AddMemberRequest, context: Context
    ) -> orchestrator_pb2.Member:
        return await self.core.admin.add_member(_principal(), request)

    async def SetMemberRole(
        self, request: orchestrator_pb2.SetMemberRoleRequest, context: Context
    ) -> orchestrator_pb2.Member:
        return await self.core.admin.set_member_role(_principal(), request)

    async def RemoveMember(
        self, request: orchestrator_pb2.RemoveMemberRequest, context: Context
    ) -> orchestrator_pb2.Member:
        return await self.core.admin.remove_member(_principal(), request)

    async def ListMembers(
        self, request: orchestrator_pb2.ListMembersRequest, context: Context
    ) -> orchestrator_pb2.ListMembersResponse:
        return await self.core.admin.list_members(_principal(), request)

    async def CreateApiKey(
        self, request: orchestrator_pb2.CreateApiKeyRequest, context: Context
    ) -> orchestrator_pb2.CreateApiKeyResponse:
        return await self.core.admin.create_api_key(_principal(), request)

    async def RevokeApiKey(
        self, request: orchestrator_pb2.RevokeApiKeyRequest, context: Context
    ) -> orchestrator_pb2.ApiKey:
        return await self.core.admin.revoke_api_key(_principal(), request)

    async def ListApiKeys(
        self, request: orchestrator_pb2.ListApiKeysRequest, context: Context
    ) -> orchestrator_pb2.ListApiKeysResponse:
        return await self.core.admin.list_api_keys(_principal(), request)

    async def ListAuditLog(
        self, request: orchestrator_pb2.ListAuditLogRequest, context: Context
    ) -> orchestrator_pb2.ListAuditLogResponse:
        principal = _principal()
        project_id = await self.core.admin.audit_project(principal, request.project_id)
        return await audit.list_entries(self.core.db, principal.tenant_id, project_id, request)

    async def StartStep(
        self, request: orchestrator_pb2.StartStepRequest, context: Context
    ) -> orchestrator_pb2.StartStepResponse:
        return await self.core.start_step(request)

    async def ReportProgress(
        self, request: orchestrator_pb2.ReportProgressRequest, context: Context
    ) -> orchestrator_pb2.ReportProgressResponse:
        return await self.core.report_progress(request)

    async def CompleteStep(
        self, request: orchestrator_pb2.CompleteStepRequest, context: Context
    ) -> orchestrator_pb2.CompleteStepResponse:
        return await self.core.complete_step(request)

    async def FailStep(
        self, request: orchestrator_pb2.FailStepRequest, context: Context
    ) -> orchestrator_pb2.FailStepResponse:
        return await self.core.fail_step(request)

    async def AbandonStep(
        self, request: orchestrator_pb2.AbandonStepRequest, context: Context
    ) -> orchestrator_pb2.AbandonStepResponse:
        await self.core.abandon_step(request)
        return orchestrator_pb2.AbandonStepResponse()

    async def RegisterWorker(
        self, request: orchestrator_pb2.RegisterWorkerRequest, context: Context
    ) -> orchestrator_pb2.RegisterWorkerResponse:
        await self.core.register_worker(request)
        return orchestrator_pb2.RegisterWorkerResponse()
