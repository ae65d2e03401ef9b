"""The GraphQL schema: queries, mutations and the jobEvents subscription.

Resolvers only translate: every rule (auth, tenancy, validation) is the orchestrator's, so
the gateway forwards the caller's key with each gRPC call. Two checks happen here too, so that
oversized input never reaches gRPC: ids must have their format (`require_id`), and the
request limits of gateway/limits.py apply to every operation. Errors are not wrapped here:
resolvers raise ApiError (or let the client's through) and the schema's ErrorMapping
extension (gateway/errors.py) gives them their code and field, renamed by ARGUMENTS.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import datetime
from pathlib import Path
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.types import ExecutionContext, Info

from assetcore.config import GatewayLimits
from assetcore.errors import InvalidArgument, excerpt
from assetcore.ids import is_valid_id
from assetcore.proto.v1 import orchestrator_pb2
from gateway.admin import AdminMutation, AdminQuery
from gateway.context import context_of
from gateway.errors import ErrorMapping, is_unexpected
from gateway.inputs import CreateAssetJobInput, JobFilter, ReviewDecision, to_job_input
from gateway.limits import request_limits
from gateway.types import (
    EVENT_TYPES,
    Asset,
    AssetConnection,
    CreateAssetJobPayload,
    DeleteAssetPayload,
    Job,
    JobConnection,
    JobEvent,
    JobState,
    Me,
    PageInfo,
    Pipeline,
    PipelineStep,
    documented,
    event_from_proto,
)

SDL_PATH = Path(__file__).with_name("schema.graphql")
# Orchestrator request fields -> this API's argument names, per root field (errors name the
# argument the client wrote). Other fields are only camel-cased (input.seed, jobId).
ARGUMENTS: dict[str, dict[str, str]] = {
    "job": {"job_id": "id"},
    "cancelJob": {"job_id": "id"},
    "retryJob": {"job_id": "id"},
    "jobs": {"page_token": "after"},
    "asset": {"asset_id": "id"},
    "assets": {"query": "search", "page_token": "after"},
    "createAssetJob": {"idempotency_key": "idempotencyKey"},
    "members": {"project_id": "projectId"},
    "apiKeys": {"project_id": "projectId"},
    "auditLog": {"project_id": "projectId", "page_token": "after"},
    "addMember": {"project_id": "projectId", "user_id": "userId"},
    "setMemberRole": {"member_id": "memberId"},
    "removeMember": {"member_id": "memberId"},
    "createApiKey": {"member_id": "memberId", "expires_at": "expiresAt"},
    "revokeApiKey": {"key_id": "id"},
    "deleteAsset": {"asset_id": "id"},
    "deleteAssetVersion": {"asset_id": "assetId"},
}


def require_id(prefix: str, value: str, field: str) -> str:
    if not is_valid_id(prefix, value):
        raise InvalidArgument(f"malformed id {excerpt(value)!r}", field=field)
    return value


def _timestamp(value: str | None, field: str) -> Any:
    if value is None:
        return None
    from google.protobuf.timestamp_pb2 import Timestamp

    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidArgument("not an ISO 8601 date-time", field=field) from None
    ts = Timestamp()
    ts.FromDatetime(parsed)
    return ts


@strawberry.type
class Query(AdminQuery):
    @strawberry.field
    async def job(self, info: Info, id: strawberry.ID) -> Job:
        ctx = context_of(info)
        return Job.from_proto(await ctx.api.get_job(ctx.api_key(), require_id("job", id, "id")))

    @documented(strawberry.field, "Newest first; `after` is a previous page's endCursor.")
    async def jobs(
        self, info: Info, first: int = 20, after: str | None = None, filter: JobFilter | None = None
    ) -> JobConnection:
        ctx = context_of(info)
        if not 1 <= first <= 100:
            raise InvalidArgument("must be within 1..100", field="first")
        request = orchestrator_pb2.ListJobsRequest(page_size=first, page_token=after or "")
        if filter is not None:
            for i, state in enumerate(filter.states or []):
                try:
                    request.states.append(JobState(state.lower()).to_proto())
                except ValueError:
                    raise InvalidArgument(
                        f"unknown job state {state[:80]!r}", field=f"filter.states[{i}]"
                    ) from None
            request.pipeline = filter.pipeline or ""
            if (ts := _timestamp(filter.created_after, "filter.created_after")) is not None:
                request.created_after.CopyFrom(ts)
            if (ts := _timestamp(filter.created_before, "filter.created_before")) is not None:
                request.created_before.CopyFrom(ts)
        found = await ctx.api.list_jobs(ctx.api_key(), request)
        return JobConnection(
            nodes=[Job.from_proto(j) for j in found.jobs],
            page_info=PageInfo(
                has_next_page=bool(found.next_page_token), end_cursor=found.next_page_token or None
            ),
        )

    @strawberry.field
    async def asset(self, info: Info, id: strawberry.ID) -> Asset:
        ctx = context_of(info)
        return Asset.from_proto(await ctx.api.get_asset(ctx.api_key(), require_id("ast", id, "id")))

    @documented(strawberry.field, "Library search: words match name, prompt and tags; all tags must match.")
    async def assets(
        self,
        info: Info,
        search: str = "",
        tags: list[str] | None = None,
        first: int = 20,
        after: str | None = None,
    ) -> AssetConnection:
        ctx = context_of(info)
        if not 1 <= first <= 100:
            raise InvalidArgument("must be within 1..100", field="first")
        request = orchestrator_pb2.ListAssetsRequest(
            query=search, tags=tags or [], page_size=first, page_token=after or ""
        )
        found = await ctx.api.list_assets(ctx.api_key(), request)
        return AssetConnection(
            nodes=[Asset.from_proto(a) for a in found.assets],
            page_info=PageInfo(
                has_next_page=bool(found.next_page_token), end_cursor=found.next_page_token or None
            ),
        )

    @strawberry.field
    async def pipelines(self, info: Info) -> list[Pipeline]:
        ctx = context_of(info)
        found = await ctx.api.list_pipelines(ctx.api_key())
        return [
            Pipeline(
                name=p.name,
                description=p.description,
                steps=[PipelineStep.from_proto(s) for s in p.steps],
            )
            for p in found.pipelines
        ]

    @strawberry.field
    async def me(self, info: Info) -> Me:
        ctx = context_of(info)
        return Me.from_proto(await ctx.api.who_am_i(ctx.api_key()))


@strawberry.type
class Mutation(AdminMutation):
    @strawberry.mutation
    async def create_asset_job(
        self, info: Info, input: CreateAssetJobInput, idempotency_key: str | None = None
    ) -> CreateAssetJobPayload:
        ctx = context_of(info)
        key = ctx.api_key()
        created = await ctx.api.create_job(key, to_job_input(input), idempotency_key or "")
        return CreateAssetJobPayload(job=Job.from_proto(created.job), created=created.created)

    @strawberry.mutation
    async def cancel_job(self, info: Info, id: strawberry.ID) -> Job:
        ctx = context_of(info)
        return Job.from_proto(await ctx.api.cancel_job(ctx.api_key(), require_id("job", id, "id")))

    @strawberry.mutation
    async def retry_job(self, info: Info, id: strawberry.ID) -> Job:
        ctx = context_of(info)
        return Job.from_proto(await ctx.api.retry_job(ctx.api_key(), require_id("job", id, "id")))

    @documented(
        strawberry.mutation,
        "Delete an asset: every version, its files and its library entries (editors and admins).",
    )
    async def delete_asset(self, info: Info, id: strawberry.ID) -> DeleteAssetPayload:
        ctx = context_of(info)
        deleted = await ctx.api.delete_asset(ctx.api_key(), require_id("ast", id, "id"))
        return DeleteAssetPayload.from_proto(deleted)

    @documented(
        strawberry.mutation,
        "Delete one version of an asset and its files; deleting the last version deletes the asset.",
    )
    async def delete_asset_version(
        self, info: Info, asset_id: strawberry.ID, version: int
    ) -> DeleteAssetPayload:
        ctx = context_of(info)
        if version < 1:
            raise InvalidArgument("must be 1 or more", field="version")
        deleted = await ctx.api.delete_asset_version(
            ctx.api_key(), require_id("ast", asset_id, "assetId"), version
        )
        return DeleteAssetPayload.from_proto(deleted)

    @documented(
        strawberry.mutation,
        "Approve a gated step, or reject it to re-run it with a new seed. When approving, `choice` may "
        'name one of the step\'s candidate outputs ("candidate_2") to keep instead of the first.',
    )
    async def review_step(
        self,
        info: Info,
        job_id: strawberry.ID,
        step: str,
        decision: ReviewDecision,
        notes: str = "",
        choice: str = "",
    ) -> Job:
        ctx = context_of(info)
        request = orchestrator_pb2.ReviewStepRequest(
            job_id=require_id("job", job_id, "jobId"),
            step=step,
            decision=orchestrator_pb2.REVIEW_DECISION_APPROVE
            if decision is ReviewDecision.APPROVE
            else orchestrator_pb2.REVIEW_DECISION_REJECT,
            notes=notes,
            choice=choice,
        )
        return Job.from_proto(await ctx.api.review_step(ctx.api_key(), request))


@strawberry.type
class Subscription:
    @documented(
        strawberry.subscription, "The job's events from `afterSequence` on, live, ending with the job."
    )
    async def job_events(
        self, info: Info, job_id: strawberry.ID, after_sequence: int = 0
    ) -> AsyncGenerator[JobEvent, None]:
        ctx = context_of(info)
        if after_sequence < 0:
            raise InvalidArgument("must not be negative", field="after_sequence")
        require_id("job", job_id, "jobId")
        key = ctx.api_key()
        with ctx.gateway.subscriptions.hold(key):
            stream = ctx.api.watch_job(key, job_id, after_sequence)
            try:
                async for event in stream:
                    yield event_from_proto(event)
            finally:
                await stream.aclose()


class GatewaySchema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Log only the errors no rule produced; the rest are answers (mapped by ErrorMapping)."""
        unexpected = [e for e in errors if is_unexpected(e)]
        if unexpected:
            super().process_errors(unexpected, execution_context)


def build_schema(limits: GatewayLimits) -> GatewaySchema:
    return GatewaySchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=list(EVENT_TYPES),
        extensions=[request_limits(limits), lambda: ErrorMapping(ARGUMENTS)],
    )


schema = build_schema(GatewayLimits())  # the default limits; apps build theirs from settings


def export_sdl() -> str:
    return schema.as_str() + "\n"


if __name__ == "__main__":
    SDL_PATH.write_text(export_sdl())
