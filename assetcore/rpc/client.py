"""A typed client of OrchestratorService's client calls, for the gateway and the CLI.

Each call takes the caller's API key (the gateway forwards each request's own key). Failed
calls raise ApiError subclasses carrying the orchestrator's code and field. Unary calls get a
15 s deadline from the channel's service config; the live WatchJob stream has none. Reads are
retried by gRPC on UNAVAILABLE (a call that never reached the orchestrator); writes are not,
since a create without an idempotency key must not run twice.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable
from typing import Any, TypeVar

import grpc

from assetcore.errors import ApiError
from assetcore.proto.v1 import events_pb2, job_pb2, library_pb2, orchestrator_pb2, orchestrator_pb2_grpc
from assetcore.rpc.channel import MethodPolicy, RetryPolicy, bearer, open_channel, service_config
from assetcore.rpc.status import from_rpc_error

T = TypeVar("T")
TIMEOUT_S = 15.0
SERVICE = orchestrator_pb2.DESCRIPTOR.services_by_name["OrchestratorService"].full_name
READS = (
    "GetJob",
    "ListJobs",
    "GetAsset",
    "ListAssets",
    "ListPipelines",
    "WhoAmI",
    "ListProjects",
    "ListMembers",
    "ListApiKeys",
    "ListAuditLog",
)
READ_RETRY = RetryPolicy(max_attempts=3, initial_backoff_s=0.1, max_backoff_s=1.0)
UNARY = [
    m.name
    for m in orchestrator_pb2.DESCRIPTOR.services_by_name["OrchestratorService"].methods
    if not m.server_streaming
]
POLICIES = {m: MethodPolicy(timeout_s=TIMEOUT_S, retry=READ_RETRY if m in READS else None) for m in UNARY}
CALL = {m: policy.call_options() for m, policy in POLICIES.items()}  # each unary call's deadline


def _options(method: str, key: str) -> dict[str, Any]:
    """A unary call's metadata (the caller's own key) and deadline."""
    return {"metadata": bearer(key), **CALL[method]}


async def _call(pending: Awaitable[T]) -> T:
    try:
        return await pending
    except grpc.aio.AioRpcError as exc:
        raise from_rpc_error(exc) from None


class OrchestratorApi:
    def __init__(self, address: str) -> None:
        self._channel = open_channel(address, config=service_config(SERVICE, POLICIES))
        self._stub = orchestrator_pb2_grpc.OrchestratorServiceStub(self._channel)

    async def close(self) -> None:
        await self._channel.close()

    async def create_job(
        self, key: str, job_input: job_pb2.JobInput, idempotency_key: str = ""
    ) -> orchestrator_pb2.CreateJobResponse:
        request = orchestrator_pb2.CreateJobRequest(input=job_input, idempotency_key=idempotency_key)
        return await _call(self._stub.CreateJob(request, **_options("CreateJob", key)))

    async def get_job(self, key: str, job_id: str) -> job_pb2.Job:
        request = orchestrator_pb2.GetJobRequest(job_id=job_id)
        return await _call(self._stub.GetJob(request, **_options("GetJob", key)))

    async def list_jobs(
        self, key: str, request: orchestrator_pb2.ListJobsRequest
    ) -> orchestrator_pb2.ListJobsResponse:
        return await _call(self._stub.ListJobs(request, **_options("ListJobs", key)))

    async def cancel_job(self, key: str, job_id: str) -> job_pb2.Job:
        request = orchestrator_pb2.CancelJobRequest(job_id=job_id)
        return await _call(self._stub.CancelJob(request, **_options("CancelJob", key)))

    async def retry_job(self, key: str, job_id: str) -> job_pb2.Job:
        request = orchestrator_pb2.RetryJobRequest(job_id=job_id)
        return await _call(self._stub.RetryJob(request, **_options("RetryJob", key)))

    async def review_step(self, key: str, request: orchestrator_pb2.ReviewStepRequest) -> job_pb2.Job:
        return await _call(self._stub.ReviewStep(request, **_options("ReviewStep", key)))

    async def get_asset(self, key: str, asset_id: str) -> library_pb2.Asset:
        request = orchestrator_pb2.GetAssetRequest(asset_id=asset_id)
        return await _call(self._stub.GetAsset(request, **_options("GetAsset", key)))

    async def list_assets(
        self, key: str, request: orchestrator_pb2.ListAssetsRequest
    ) -> orchestrator_pb2.ListAssetsResponse:
        return await _call(self._stub.ListAssets(request, **_options("ListAssets", key)))

    async def delete_asset(self, key: str, asset_id: str) -> orchestrator_pb2.DeleteAssetResponse:
        request = orchestrator_pb2.DeleteAssetRequest(asset_id=asset_id)
        return await _call(self._stub.DeleteAsset(request, **_options("DeleteAsset", key)))

    async def delete_asset_version(
        self, key: str, asset_id: str, version: int
    ) -> orchestrator_pb2.DeleteAssetResponse:
        request = orchestrator_pb2.DeleteAssetVersionRequest(asset_id=asset_id, version=version)
        return await _call(self._stub.DeleteAssetVersion(request, **_options("DeleteAssetVersion", key)))

    async def list_pipelines(self, key: str) -> orchestrator_pb2.ListPipelinesResponse:
        request = orchestrator_pb2.ListPipelinesRequest()
        return await _call(self._stub.ListPipelines(request, **_options("ListPipelines", key)))

    async def who_am_i(self, key: str) -> orchestrator_pb2.Principal:
        return await _call(self._stub.WhoAmI(orchestrator_pb2.WhoAmIRequest(), **_options("WhoAmI", key)))

    # -- administration (admins; tenant admins for projects) --

    async def create_project(
        self, key: str, request: orchestrator_pb2.CreateProjectRequest
    ) -> orchestrator_pb2.Project:
        return await _call(self._stub.CreateProject(request, **_options("CreateProject", key)))

    async def list_projects(
        self, key: str, request: orchestrator_pb2.ListProjectsRequest
    ) -> orchestrator_pb2.ListProjectsResponse:
        return await _call(self._stub.ListProjects(request, **_options("ListProjects", key)))

    async def add_member(
        self, key: str, request: orchestrator_pb2.AddMemberRequest
    ) -> orchestrator_pb2.Member:
        return await _call(self._stub.AddMember(request, **_options("AddMember", key)))

    async def set_member_role(
        self, key: str, request: orchestrator_pb2.SetMemberRoleRequest
    ) -> orchestrator_pb2.Member:
        return await _call(self._stub.SetMemberRole(request, **_options("SetMemberRole", key)))

    async def remove_member(
        self, key: str, request: orchestrator_pb2.RemoveMemberRequest
    ) -> orchestrator_pb2.Member:
        return await _call(self._stub.RemoveMember(request, **_options("RemoveMember", key)))

    async def list_members(
        self, key: str, request: orchestrator_pb2.ListMembersRequest
    ) -> orchestrator_pb2.ListMembersResponse:
        return await _call(self._stub.ListMembers(request, **_options("ListMembers", key)))

    async def create_api_key(
        self, key: str, request: orchestrator_pb2.CreateApiKeyRequest
    ) -> orchestrator_pb2.CreateApiKeyResponse:
        return await _call(self._stub.CreateApiKey(request, **_options("CreateApiKey", key)))

    async def revoke_api_key(
        self, key: str, request: orchestrator_pb2.RevokeApiKeyRequest
    ) -> orchestrator_pb2.ApiKey:
        return await _call(self._stub.RevokeApiKey(request, **_options("RevokeApiKey", key)))

    async def list_api_keys(
        self, key: str, request: orchestrator_pb2.ListApiKeysRequest
    ) -> orchestrator_pb2.ListApiKeysResponse:
        return await _call(self._stub.ListApiKeys(request, **_options("ListApiKeys", key)))

    async def list_audit_log(
        self, key: str, request: orchestrator_pb2.ListAuditLogRequest
    ) -> orchestrator_pb2.ListAuditLogResponse:
        return await _call(self._stub.ListAuditLog(request, **_options("ListAuditLog", key)))

    async def watch_job(
        self, key: str, job_id: str, after_sequence: int = 0
    ) -> AsyncGenerator[events_pb2.JobEvent, None]:
        """The job's events, live; ends after the job's final event. Always closes the stream."""
        call = self._stub.WatchJob(
            orchestrator_pb2.WatchJobRequest(job_id=job_id, after_sequence=after_sequence),
            metadata=bearer(key),
        )
        try:
            async for event in call:
                yield event
        except grpc.aio.AioRpcError as exc:
            raise from_rpc_error(exc) from None
        finally:
            call.cancel()


__all__ = ["ApiError", "OrchestratorApi"]
