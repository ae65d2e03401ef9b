"""The GraphQL schema: queries, mutations and the jobEvents subscription.

Resolvers only translate: every rule (auth, tenancy, validation) is the orchestrator's, so
the gateway forwards the caller's key with each gRPC call and maps errors back.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import strawberry
from graphql import GraphQLError
from strawberry.types import ExecutionContext, Info

from assetcore.errors import ApiError, InvalidArgument
from assetcore.proto.v1 import orchestrator_pb2
from gateway.context import context_of
from gateway.errors import classify, to_graphql
from gateway.inputs import CreateAssetJobInput, JobFilter, ReviewDecision, to_job_input
from gateway.types import (
    EVENT_TYPES,
    Asset,
    AssetConnection,
    CreateAssetJobPayload,
    Job,
    JobConnection,
    JobEvent,
    JobState,
    Me,
    PageInfo,
    Pipeline,
    PipelineStep,
    event_from_proto,
)

T = TypeVar("T")
SDL_PATH = Path(__file__).with_name("schema.graphql")
JOB_ID = {"job_id": "id"}


async def _call(pending: Awaitable[T], renames: Mapping[str, str] | None = None) -> T:
    try:
        return await pending
    except ApiError as exc:
        raise to_graphql(exc, renames) from None


def _timestamp(value: str | None, field: str) -> Any:
    if value is None:
        return None
    from google.protobuf.timestamp_pb2 import Timestamp

    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise to_graphql(InvalidArgument("not an ISO 8601 date-time", field=field)) from None
    ts = Timestamp()
    ts.FromDatetime(parsed)
    return ts


@strawberry.type
class Query:
    @strawberry.field
    async def job(self, info: Info, id: strawberry.ID) -> Job:
        ctx = context_of(info)
        return Job.from_proto(await _call(ctx.api.get_job(ctx.api_key(), id), JOB_ID))

    @strawberry.field(description="Newest first; `after` is a previous page's endCursor.")
    async def jobs(
        self, info: Info, first: int = 20, after: str | None = None, filter: JobFilter | None = None
    ) -> JobConnection:
        ctx = context_of(info)
        if not 1 <= first <= 100:
            raise to_graphql(InvalidArgument("must be within 1..100", field="first"))
        request = orchestrator_pb2.ListJobsRequest(page_size=first, page_token=after or "")
        if filter is not None:
            for i, state in enumerate(filter.states or []):
                try:
                    request.states.append(JobState(state.lower()).to_proto())
                except ValueError:
                    raise to_graphql(
                        InvalidArgument(f"unknown job state {state!r}", field=f"filter.states[{i}]")
                    ) from None
            request.pipeline = filter.pipeline or ""
            if (ts := _timestamp(filter.created_after, "filter.created_after")) is not None:
                request.created_after.CopyFrom(ts)
            if (ts := _timestamp(filter.created_before, "filter.created_before")) is not None:
                request.created_before.CopyFrom(ts)
        found = await _call(ctx.api.list_jobs(ctx.api_key(), request), {"page_token": "after"})
        return JobConnection(
            nodes=[Job.from_proto(j) for j in found.jobs],
            page_info=PageInfo(
                has_next_page=bool(found.next_page_token), end_cursor=found.next_page_token or None
            ),
        )

    @strawberry.field
    async def asset(self, info: Info, id: strawberry.ID) -> Asset:
        ctx = context_of(info)
        return Asset.from_proto(await _call(ctx.api.get_asset(ctx.api_key(), id), {"asset_id": "id"}))

    @strawberry.field(description="Library search: words match name, prompt and tags; all tags must match.")
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
            raise to_graphql(InvalidArgument("must be within 1..100", field="first"))
        request = orchestrator_pb2.ListAssetsRequest(
            query=search, tags=tags or [], page_size=first, page_token=after or ""
        )
        found = await _call(
            ctx.api.list_assets(ctx.api_key(), request), {"query": "search", "page_token": "after"}
        )
        return AssetConnection(
            nodes=[Asset.from_proto(a) for a in found.assets],
            page_info=PageInfo(
                has_next_page=bool(found.next_page_token), end_cursor=found.next_page_token or None
            ),
        )

    @strawberry.field
    async def pipelines(self, info: Info) -> list[Pipeline]:
        ctx = context_of(info)
        found = await _call(ctx.api.list_pipelines(ctx.api_key()))
        return [
            Pipeline(
                name=p.name,
                description=p.description,
                steps=[
                    PipelineStep(name=s.name, depends_on=list(s.depends_on), max_attempts=s.max_attempts)
                    for s in p.steps
                ],
            )
            for p in found.pipelines
        ]

    @strawberry.field
    async def me(self, info: Info) -> Me:
        ctx = context_of(info)
        return Me.from_proto(await _call(ctx.api.who_am_i(ctx.api_key())))


@strawberry.type
class Mutation:
    @strawberry.mutation
    async def create_asset_job(
        self, info: Info, input: CreateAssetJobInput, idempotency_key: str | None = None
    ) -> CreateAssetJobPayload:
        ctx = context_of(info)
        key = ctx.api_key()
        try:
            job_input = to_job_input(input)
        except ApiError as exc:
            raise to_graphql(exc) from None
        created = await _call(
            ctx.api.create_job(key, job_input, idempotency_key or ""), {"idempotency_key": "idempotencyKey"}
        )
        return CreateAssetJobPayload(job=Job.from_proto(created.job), created=created.created)

    @strawberry.mutation
    async def cancel_job(self, info: Info, id: strawberry.ID) -> Job:
        ctx = context_of(info)
        return Job.from_proto(await _call(ctx.api.cancel_job(ctx.api_key(), id), JOB_ID))

    @strawberry.mutation
    async def retry_job(self, info: Info, id: strawberry.ID) -> Job:
        ctx = context_of(info)
        return Job.from_proto(await _call(ctx.api.retry_job(ctx.api_key(), id), JOB_ID))

    @strawberry.mutation(description="Approve a gated step, or reject it to re-run it with a new seed.")
    async def review_step(
        self, info: Info, job_id: strawberry.ID, step: str, decision: ReviewDecision, notes: str = ""
    ) -> Job:
        ctx = context_of(info)
        request = orchestrator_pb2.ReviewStepRequest(
            job_id=job_id,
            step=step,
            decision=orchestrator_pb2.REVIEW_DECISION_APPROVE
            if decision is ReviewDecision.APPROVE
            else orchestrator_pb2.REVIEW_DECISION_REJECT,
            notes=notes,
        )
        return Job.from_proto(await _call(ctx.api.review_step(ctx.api_key(), request)))


@strawberry.type
class Subscription:
    @strawberry.subscription(
        description="The job's events from `afterSequence` on, live, ending with the job."
    )
    async def job_events(
        self, info: Info, job_id: strawberry.ID, after_sequence: int = 0
    ) -> AsyncGenerator[JobEvent, None]:
        ctx = context_of(info)
        if after_sequence < 0:
            raise to_graphql(InvalidArgument("must not be negative", field="after_sequence"))
        stream = ctx.api.watch_job(ctx.api_key(), job_id, after_sequence)
        try:
            async for event in stream:
                yield event_from_proto(event)
        except ApiError as exc:
            raise to_graphql(exc, {"job_id": "jobId"}) from None
        finally:
            await stream.aclose()


class GatewaySchema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        document = execution_context.graphql_document if execution_context is not None else None
        for error in errors:
            classify(error, document)
        unexpected = [e for e in errors if (e.extensions or {}).get("code") == "INTERNAL"]
        if unexpected:
            super().process_errors(unexpected, execution_context)


schema = GatewaySchema(query=Query, mutation=Mutation, subscription=Subscription, types=list(EVENT_TYPES))


def export_sdl() -> str:
    return schema.as_str() + "\n"


if __name__ == "__main__":
    SDL_PATH.write_text(export_sdl())
