"""The orchestrator, queues and workers together (embedded mesh, noop backends), on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import hashlib

import pytest

from assetcore.config import Settings
from assetcore.errors import (
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    ResourceExhausted,
    Unauthenticated,
)
from assetcore.proto.v1 import job_pb2, orchestrator_pb2
from tests.support.bvh_samples import walking_bvh
from tests.support.harness import Harness, embedded, job_input, kinds

CHARACTER_STEPS = ["tti", "refine", "image3d", "retopo", "rig", "anim", "export"]
pytestmark = pytest.mark.timeout(120)


@pytest.fixture
async def h(settings: Settings):  # type: ignore[no-untyped-def]
    async with embedded(settings) as harness:
        yield harness


async def test_character_job_runs_every_step_in_order(h: Harness) -> None:
    job = await h.create("a knight in red armor")
    assert job.pipeline == "character"
    assert [s.name for s in job.steps] == CHARACTER_STEPS
    events = await h.events(job.id)
    assert [e.sequence for e in events] == list(range(1, len(events) + 1))
    for step in CHARACTER_STEPS:
        assert kinds(events, step)[:2] == ["queued", "started"]
        assert "progress" in kinds(events, step)
        assert kinds(events, step)[-1] == "step_completed"
    started = [e.step_name for e in events if e.WhichOneof("kind") == "started"]
    assert started == CHARACTER_STEPS
    finished = events[-1]
    assert finished.WhichOneof("kind") == "finished"
    assert finished.finished.state == job_pb2.JOB_STATE_SUCCEEDED
    assert finished.finished.asset_version == 1 and finished.finished.artifacts

    done = await h.api.get_job(h.key, job.id)
    assert done.state == job_pb2.JOB_STATE_SUCCEEDED
    for step in done.steps:
        assert step.state == job_pb2.STEP_STATE_SUCCEEDED
        assert step.backend == "noop" and step.backend_version == "1"
        assert step.HasField("started_at") and step.HasField("finished_at")
        assert step.attempt == 1
    assert [t.to_state for t in done.transitions if not t.step] == ["running", "succeeded"]
    assert {t.step for t in done.transitions if t.step} == set(CHARACTER_STEPS)
    asset = await h.api.get_asset(h.key, done.asset_id)
    assert asset.latest_version == 1 and len(asset.versions) == 1
    version = asset.versions[0]
    assert version.job_id == job.id
    assert all(
        f.blob_key.startswith(f"t/{done.tenant_id}/library/") and "/v1/" in f.blob_key for f in version.files
    )
    assert {e.step_name for e in version.lineage} == set(CHARACTER_STEPS)
    rig = next(e for e in version.lineage if e.step_name == "rig")
    assert rig.backend == "noop" and rig.input_sha256


async def test_prop_and_concept_pipelines(h: Harness) -> None:
    prop = await h.create("a wooden treasure chest")
    concept = await h.create("a castle", pipeline="concept")
    assert prop.pipeline == "prop"
    assert [s.name for s in prop.steps] == ["tti", "refine", "image3d", "retopo", "export"]
    assert prop.input.constraints.rig_type == job_pb2.RIG_TYPE_STATIC
    assert [s.name for s in concept.steps] == ["tti", "refine"]
    for job in (prop, concept):
        assert (await h.finish(job.id)).state == job_pb2.JOB_STATE_SUCCEEDED


async def test_inferred_defaults_are_explicit(h: Harness) -> None:
    wolf = await h.create("a grey wolf")
    assert wolf.pipeline == "character"
    assert wolf.input.constraints.rig_type == job_pb2.RIG_TYPE_QUADRUPED
    assert list(wolf.input.animation.clips) == ["idle", "walk", "run"]
    assert wolf.input.animation.fps == 30
    assert list(wolf.input.export.formats) == ["glb"]
    assert wolf.input.constraints.platform == job_pb2.PLATFORM_PC
    again = await h.create("a grey wolf")
    assert again.input.seed == wolf.input.seed, "an unseeded prompt always gets the same seed"


async def test_bvh_input_travels_as_an_artifact(h: Harness) -> None:
    bvh = walking_bvh()
    job = await h.create("a knight", animation={"bvh": bvh})
    assert job.input.animation.bvh == b"", "stored once in the blob store, not in every task"
    done = await h.finish(job.id)
    anim = next(s for s in done.steps if s.name == "anim")
    passed = {o.name: o.sha256 for o in anim.outputs}  # the noop backend passes its inputs on
    assert passed["bvh"] == hashlib.sha256(bvh).hexdigest()
    with pytest.raises(InvalidArgument) as raised:
        await h.api.create_job(h.key, job_input("a knight", animation={"bvh": b"not a bvh"}))
    assert raised.value.field == "input.animation.bvh"


async def test_idempotency_key_returns_the_first_job(h: Harness) -> None:
    first = await h.api.create_job(h.key, job_input("a knight"), idempotency_key="req-1")
    second = await h.api.create_job(h.key, job_input("a different prompt"), idempotency_key="req-1")
    assert first.created and not second.created
    assert second.job.id == first.job.id
    await h.finish(first.job.id)


async def test_step_cache_answers_a_repeated_job(h: Harness) -> None:
    first = await h.finish((await h.create("a cached knight", seed=7)).id)
    second = await h.finish((await h.create("a cached knight", seed=7)).id)
    assert not any(s.cache_hit for s in first.steps)
    assert all(s.cache_hit for s in second.steps)
    assert [o.sha256 for s in second.steps for o in s.outputs] == [
        o.sha256 for s in first.steps for o in s.outputs
    ]
    assert second.cost_usd == 0.0
    assert second.asset_id != first.asset_id


async def test_costs_and_eta(h: Harness) -> None:
    job = await h.create("a slow knight", step_options={"tti": {"sleep_s": 0.3, "ticks": 3}})
    assert job.eta_seconds > 0
    events = await h.events(job.id)
    queued = [e.queued for e in events if e.WhichOneof("kind") == "queued"]
    assert len(queued) == 7 and all(q.eta_seconds > 0 for q in queued)
    done = await h.api.get_job(h.key, job.id)
    tti = done.steps[0]
    assert tti.duration_seconds >= 0.25
    assert tti.pool in ("cpu", "gpu")
    expected = tti.duration_seconds * h.settings.prices.per_second(tti.pool)
    assert tti.cost_usd == pytest.approx(expected)
    assert done.cost_usd == pytest.approx(sum(s.cost_usd for s in done.steps))


async def test_poison_step_dead_letters_and_fails_only_its_job(h: Harness) -> None:
    poison = await h.create(
        "a poisoned knight",
        step_options={"retopo": {"fail_code": "E_POISON", "fail_message": "always fails"}},
    )
    healthy = await h.create("a healthy knight")
    events = await h.events(poison.id)
    retries = [e for e in events if e.WhichOneof("kind") == "retrying"]
    assert len(retries) == h.settings.retry.max_attempts - 1
    assert all(r.retrying.error.code == "E_POISON" for r in retries)
    failed = next(e for e in events if e.WhichOneof("kind") == "failed")
    assert failed.step_name == "retopo" and failed.failed.error.code == "E_POISON"
    assert events[-1].finished.state == job_pb2.JOB_STATE_FAILED
    job = await h.api.get_job(h.key, poison.id)
    assert job.state == job_pb2.JOB_STATE_FAILED
    assert job.error.code == "E_POISON" and job.error.message == "always fails"
    retopo = next(s for s in job.steps if s.name == "retopo")
    assert retopo.state == job_pb2.STEP_STATE_FAILED and retopo.attempt == h.settings.retry.max_attempts
    assert [s.state for s in job.steps[5:]] == [job_pb2.STEP_STATE_CANCELLED] * 2
    assert (await h.depth("retopo")).dead == 1
    assert (await h.finish(healthy.id)).state == job_pb2.JOB_STATE_SUCCEEDED


async def test_non_retryable_failure_dead_letters_at_once(h: Harness) -> None:
    job = await h.create(
        "a bad image", step_options={"refine": {"fail_code": "INVALID_IMAGE", "fail_retryable": False}}
    )
    done = await h.finish(job.id)
    assert done.state == job_pb2.JOB_STATE_FAILED and done.error.code == "INVALID_IMAGE"
    assert next(s for s in done.steps if s.name == "refine").attempt == 1
    assert (await h.depth("refine")).dead == 1


async def test_retry_job_reruns_the_failed_step(h: Harness) -> None:
    job = await h.create("a knight", step_options={"anim": {"fail_code": "E_X", "fail_retryable": False}})
    assert (await h.finish(job.id)).state == job_pb2.JOB_STATE_FAILED
    with pytest.raises(FailedPrecondition):
        await h.api.retry_job(h.key, (await h.finish((await h.create("a wizard")).id)).id)
    retried = await h.api.retry_job(h.key, job.id)
    assert retried.state in (job_pb2.JOB_STATE_QUEUED, job_pb2.JOB_STATE_RUNNING)
    anim = next(s for s in retried.steps if s.name == "anim")
    assert anim.generation == 1 and anim.state == job_pb2.STEP_STATE_QUEUED
    # Still poisoned: fails again, and the job says so.
    assert (await h.finish(job.id)).state == job_pb2.JOB_STATE_FAILED


async def test_cancel_stops_the_running_step_and_queues_nothing_more(h: Harness) -> None:
    interval = h.settings.worker.progress_interval_s
    job = await h.create("a long knight", step_options={"image3d": {"sleep_s": 5.0, "ticks": 100}})
    async for event in h.api.watch_job(h.key, job.id):
        if event.step_name == "image3d" and event.WhichOneof("kind") == "progress":
            break
    loop = asyncio.get_running_loop()
    cancelled_at = loop.time()
    cancelled = await h.api.cancel_job(h.key, job.id)
    assert cancelled.state == job_pb2.JOB_STATE_CANCELLED
    consumer = h.mesh.workers.consumer
    while consumer.in_flight:
        await asyncio.sleep(0.01)
    stopped_after = loop.time() - cancelled_at
    # One progress interval of the backend (50 ms ticks) plus a report round trip.
    assert stopped_after < 0.05 + interval + 0.5
    await asyncio.sleep(0.3)
    done = await h.api.get_job(h.key, job.id)
    assert [s.state for s in done.steps[3:]] == [job_pb2.STEP_STATE_CANCELLED] * 4
    assert not any(s.HasField("started_at") for s in done.steps[3:])
    with pytest.raises(FailedPrecondition):
        await h.api.cancel_job(h.key, job.id)


async def test_review_gate_approve_and_reject(h: Harness) -> None:
    job = await h.create("a gated knight", review_gates=["image"])
    assert list(job.input.review_gates) == ["tti"]
    events = await h.events(job.id)
    assert events[-1].WhichOneof("kind") == "review_needed" and events[-1].step_name == "tti"
    waiting = await h.api.get_job(h.key, job.id)
    assert waiting.state == job_pb2.JOB_STATE_AWAITING_REVIEW
    tti = waiting.steps[0]
    assert tti.state == job_pb2.STEP_STATE_AWAITING_REVIEW
    assert waiting.steps[1].state == job_pb2.STEP_STATE_PENDING

    reject = orchestrator_pb2.ReviewStepRequest(
        job_id=job.id, step="tti", decision=orchestrator_pb2.REVIEW_DECISION_REJECT, notes="try again"
    )
    rejected = await h.api.review_step(h.key, reject)
    assert rejected.steps[0].generation == 1 and rejected.steps[0].seed != tti.seed
    again = await h.events(job.id, after=events[-1].sequence)
    assert kinds(again)[:2] == ["queued", "started"] and kinds(again)[-1] == "review_needed"
    rerun = await h.api.get_job(h.key, job.id)
    assert rerun.steps[0].state == job_pb2.STEP_STATE_AWAITING_REVIEW
    assert rerun.steps[0].review_notes == "try again"
    assert rerun.steps[0].outputs[0].sha256 != tti.outputs[0].sha256, "a new seed makes a new image"

    approve = orchestrator_pb2.ReviewStepRequest(
        job_id=job.id, step="tti", decision=orchestrator_pb2.REVIEW_DECISION_APPROVE
    )
    await h.api.review_step(h.key, approve)
    done = await h.finish(job.id)
    assert done.state == job_pb2.JOB_STATE_SUCCEEDED
    with pytest.raises(FailedPrecondition):
        await h.api.review_step(h.key, approve)


async def test_tenants_and_roles(h: Harness) -> None:
    job = await h.create("a private knight")
    other = await h.key_for("rival")
    with pytest.raises(NotFound):
        await h.api.get_job(other, job.id)
    with pytest.raises(NotFound):
        await h.api.cancel_job(other, job.id)
    assert not (await h.api.list_jobs(other, orchestrator_pb2.ListJobsRequest())).jobs
    done = await h.finish(job.id)
    with pytest.raises(NotFound):
        await h.api.get_asset(other, done.asset_id)
    viewer = await h.key_for("local", role="viewer")
    assert (await h.api.get_job(viewer, job.id)).id == job.id
    with pytest.raises(PermissionDenied):
        await h.api.cancel_job(viewer, job.id)
    with pytest.raises(Unauthenticated):
        await h.api.get_job("ac_not_a_real_key", job.id)
    with pytest.raises(PermissionDenied):  # the service token cannot act as a client
        await h.api.get_job(h.settings.secret("internal_token"), job.id)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"prompt": ""}, "input.prompt.concept"),
        ({"prompt": "x" * 4097}, "input.prompt.concept"),
        ({"pipeline": "spaceship"}, "input.pipeline"),
        ({"constraints": {"poly_budget": 0}}, "input.constraints.poly_budget"),
        ({"constraints": {"poly_budget": 10**9}}, "input.constraints.poly_budget"),
        ({"seed": -1}, "input.seed"),
        ({"seed": 2**40}, "input.seed"),
        ({"export": {"engine": "cryengine"}}, "input.export.engine"),
        ({"review_gates": ["nope"]}, "input.review_gates[0]"),
        ({"animation": {"fps": 500}}, "input.animation.fps"),
        ({"asset_id": "not-an-id"}, "input.asset_id"),
    ],
)
async def test_bad_input_names_the_field_and_queues_nothing(h: Harness, fields: dict, field: str) -> None:
    fields = dict(fields)
    prompt = fields.pop("prompt", "a knight")
    with pytest.raises(InvalidArgument) as raised:
        await h.create(prompt, **fields)
    assert raised.value.field == field
    assert not (await h.api.list_jobs(h.key, orchestrator_pb2.ListJobsRequest())).jobs
    assert (await h.depth("tti")).visible == 0


async def test_unknown_export_format_and_clip(h: Harness) -> None:
    bad = job_input("a knight")
    bad.export.formats.extend(["glb", "obj"])
    with pytest.raises(InvalidArgument) as raised:
        await h.api.create_job(h.key, bad)
    assert raised.value.field == "input.export.formats[1]"
    bad = job_input("a grey wolf")
    bad.animation.clips.append("wave")  # quadrupeds do not wave
    with pytest.raises(InvalidArgument) as raised:
        await h.api.create_job(h.key, bad)
    assert raised.value.field == "input.animation.clips[0]"


async def test_quota_limits_active_jobs(settings: Settings) -> None:
    settings.max_active_jobs_per_tenant = 2
    async with embedded(settings) as h:
        gated = {"review_gates": ["image"]}  # they stay active, waiting for review
        first, second = await h.create("one", **gated), await h.create("two", **gated)
        with pytest.raises(ResourceExhausted):
            await h.create("three")
        assert (await h.api.list_jobs(h.key, orchestrator_pb2.ListJobsRequest())).jobs[0].id == second.id
        await h.api.cancel_job(h.key, first.id)
        assert (await h.create("four", pipeline="concept")).id


async def test_malformed_and_unknown_ids(h: Harness) -> None:
    with pytest.raises(InvalidArgument) as raised:
        await h.api.get_job(h.key, "job_../../etc")
    assert raised.value.field == "job_id"
    with pytest.raises(NotFound):
        await h.api.get_job(h.key, "job_01m8cgqqpjnkzjs6p773fxmbw9")


async def test_list_jobs_filters_and_pages(h: Harness) -> None:
    ids = [(await h.create(f"knight {i}", pipeline="concept")).id for i in range(5)]
    for job_id in ids:
        await h.finish(job_id)
    page = await h.api.list_jobs(h.key, orchestrator_pb2.ListJobsRequest(page_size=2))
    assert [j.id for j in page.jobs] == ids[::-1][:2] and page.next_page_token
    rest = await h.api.list_jobs(
        h.key, orchestrator_pb2.ListJobsRequest(page_size=10, page_token=page.next_page_token)
    )
    assert [j.id for j in rest.jobs] == ids[::-1][2:] and not rest.next_page_token
    failed = await h.api.list_jobs(h.key, orchestrator_pb2.ListJobsRequest(states=[job_pb2.JOB_STATE_FAILED]))
    assert not failed.jobs
    props = await h.api.list_jobs(h.key, orchestrator_pb2.ListJobsRequest(pipeline="prop"))
    assert not props.jobs


async def test_library_search(h: Harness) -> None:
    a = await h.finish((await h.create("a red dragon", pipeline="concept", tags=["boss", "fire"])).id)
    b = await h.finish((await h.create("a blue slime", pipeline="concept", tags=["minion"])).id)
    found = await h.api.list_assets(h.key, orchestrator_pb2.ListAssetsRequest(query="dragon"))
    assert [x.id for x in found.assets] == [a.asset_id]
    found = await h.api.list_assets(h.key, orchestrator_pb2.ListAssetsRequest(tags=["minion"]))
    assert [x.id for x in found.assets] == [b.asset_id]
    found = await h.api.list_assets(h.key, orchestrator_pb2.ListAssetsRequest())
    assert {x.id for x in found.assets} == {a.asset_id, b.asset_id}


async def test_new_version_of_an_existing_asset(h: Harness) -> None:
    first = await h.finish((await h.create("a sword", pipeline="concept")).id)
    second = await h.finish(
        (await h.create("a sharper sword", pipeline="concept", asset_id=first.asset_id)).id
    )
    assert second.asset_id == first.asset_id and second.asset_version == 2
    asset = await h.api.get_asset(h.key, first.asset_id)
    assert [v.version for v in asset.versions] == [2, 1]
    assert all("/v2/" in f.blob_key for f in asset.versions[0].files)
