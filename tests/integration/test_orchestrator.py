"""The orchestrator, queues and workers together (embedded mesh), on SQLite and PostgreSQL.

Jobs run the probe pipelines (assetcore/steps/probe.py: noop steps shaped like the character
pipeline, through the real step function and gates); CreateJob's checks run against the
installed pipelines (`real`)."""

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
from assetcore.steps.catalog import load_catalog
from tests.conftest import PROBE
from tests.support.bvh_samples import walking_bvh
from tests.support.harness import Harness, embedded, job_input, kinds

PROBE_STEPS = list(load_catalog((PROBE,)).pipelines["probe"].step_names)
pytestmark = pytest.mark.timeout(120)


@pytest.fixture
async def h(settings: Settings):  # type: ignore[no-untyped-def]
    """A deployment running only the probe steps: "a knight" is a `probe` job."""
    settings.steps = PROBE_STEPS
    async with embedded(settings) as harness:
        yield harness


@pytest.fixture
async def real(settings: Settings):  # type: ignore[no-untyped-def]
    """Every installed step declared (on noop): CreateJob checks as in production."""
    async with embedded(settings) as harness:
        yield harness


async def test_a_job_runs_every_step_in_order(h: Harness) -> None:
    job = await h.create("a knight in red armor")
    assert job.pipeline == "probe"
    assert [s.name for s in job.steps] == PROBE_STEPS
    events = await h.events(job.id)
    assert [e.sequence for e in events] == list(range(1, len(events) + 1))
    for step in PROBE_STEPS:
        assert kinds(events, step)[:2] == ["queued", "started"]
        assert "progress" in kinds(events, step)
        assert kinds(events, step)[-1] == "step_completed"
    started = [e.step_name for e in events if e.WhichOneof("kind") == "started"]
    assert started == PROBE_STEPS
    finished = events[-1]
    assert finished.WhichOneof("kind") == "finished"
    assert finished.finished.state == job_pb2.JOB_STATE_SUCCEEDED
    assert finished.finished.asset_version == 1 and finished.finished.artifacts

    done = await h.api.get_job(h.key, job.id)
    assert done.state == job_pb2.JOB_STATE_SUCCEEDED
    for step in done.steps:
        assert step.state == job_pb2.STEP_STATE_SUCCEEDED
        assert step.backend == "noop" and step.backend_version == "2"
        assert step.HasField("started_at") and step.HasField("finished_at")
        assert step.attempt == 1
    assert [t.to_state for t in done.transitions if not t.step] == ["running", "succeeded"]
    assert {t.step for t in done.transitions if t.step} == set(PROBE_STEPS)
    asset = await h.api.get_asset(h.key, done.asset_id)
    assert asset.latest_version == 1 and len(asset.versions) == 1
    version = asset.versions[0]
    assert version.job_id == job.id
    assert all(
        f.blob_key.startswith(f"t/{done.tenant_id}/library/") and "/v1/" in f.blob_key for f in version.files
    )
    assert {e.step_name for e in version.lineage} == set(PROBE_STEPS)
    bones = next(e for e in version.lineage if e.step_name == "bones")
    assert bones.backend == "noop" and bones.input_sha256
    assert {f.name for f in version.files} == {"glb", "lod1_glb", "lod2_glb", "manifest", "image"}


async def test_prop_and_concept_pipelines(real: Harness) -> None:
    prop = await real.create("a wooden treasure chest")
    concept = await real.create("a castle", pipeline="concept")
    assert prop.pipeline == "prop"
    assert [s.name for s in prop.steps] == ["tti", "refine", "image3d", "retopo", "export"]
    assert prop.input.constraints.rig_type == job_pb2.RIG_TYPE_STATIC
    assert [s.name for s in concept.steps] == ["tti", "refine"]
    for job in (prop, concept):  # noop's text stand-in is no concept image: the tti gate refuses it
        done = await real.finish(job.id)
        assert done.state == job_pb2.JOB_STATE_FAILED and done.steps[0].error.code == "INTERNAL"


async def test_inferred_defaults_are_explicit(real: Harness) -> None:
    wolf = await real.create("a grey wolf")
    assert wolf.pipeline == "character"
    assert wolf.input.constraints.rig_type == job_pb2.RIG_TYPE_QUADRUPED
    assert list(wolf.input.animation.clips) == ["idle", "walk", "run"]
    assert wolf.input.animation.fps == 30
    assert list(wolf.input.export.formats) == ["glb"]
    assert wolf.input.constraints.platform == job_pb2.PLATFORM_PC
    again = await real.create("a grey wolf")
    assert again.input.seed == wolf.input.seed, "an unseeded prompt always gets the same seed"


async def test_bvh_input_travels_as_an_artifact(h: Harness) -> None:
    bvh = walking_bvh()
    job = await h.create("a knight", animation={"bvh": bvh})
    assert job.input.animation.bvh == b"", "stored once in the blob store, not in every task"
    done = await h.finish(job.id)
    asset = await h.api.get_asset(h.key, done.asset_id)
    motion = next(e for e in asset.versions[0].lineage if e.step_name == "motion")
    assert hashlib.sha256(bvh).hexdigest() in motion.input_sha256, "the BVH reached the step as an input"
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
    job = await h.create("a slow knight", step_options={"sketch": {"sleep_s": 0.3, "ticks": 3}})
    assert job.eta_seconds > 0
    events = await h.events(job.id)
    queued = [e.queued for e in events if e.WhichOneof("kind") == "queued"]
    assert len(queued) == 7 and all(q.eta_seconds > 0 for q in queued)
    done = await h.api.get_job(h.key, job.id)
    sketch = done.steps[0]
    assert sketch.duration_seconds >= 0.25
    assert sketch.pool == "cpu", "priced by its backend's pool"
    expected = sketch.duration_seconds * h.settings.prices.per_second(sketch.pool)
    assert sketch.cost_usd == pytest.approx(expected)
    assert done.cost_usd == pytest.approx(sum(s.cost_usd for s in done.steps))


async def test_poison_step_dead_letters_and_fails_only_its_job(h: Harness) -> None:
    poison = await h.create(
        "a poisoned knight",
        step_options={"topo": {"fail_code": "E_POISON", "fail_message": "always fails"}},
    )
    healthy = await h.create("a healthy knight")
    events = await h.events(poison.id)
    retries = [e for e in events if e.WhichOneof("kind") == "retrying"]
    assert len(retries) == h.settings.retry.max_attempts - 1
    assert all(r.retrying.error.code == "E_POISON" for r in retries)
    failed = next(e for e in events if e.WhichOneof("kind") == "failed")
    assert failed.step_name == "topo" and failed.failed.error.code == "E_POISON"
    assert events[-1].finished.state == job_pb2.JOB_STATE_FAILED
    job = await h.api.get_job(h.key, poison.id)
    assert job.state == job_pb2.JOB_STATE_FAILED
    assert job.error.code == "E_POISON" and job.error.message == "always fails"
    topo = next(s for s in job.steps if s.name == "topo")
    assert topo.state == job_pb2.STEP_STATE_FAILED and topo.attempt == h.settings.retry.max_attempts
    assert [s.state for s in job.steps[4:]] == [job_pb2.STEP_STATE_CANCELLED] * 3
    assert (await h.wait_depth("topo", dead=1)).dead == 1  # the DLQ catches up after the record
    assert (await h.finish(healthy.id)).state == job_pb2.JOB_STATE_SUCCEEDED


async def test_non_retryable_failure_dead_letters_at_once(h: Harness) -> None:
    job = await h.create(
        "a bad image", step_options={"touchup": {"fail_code": "INVALID_IMAGE", "fail_retryable": False}}
    )
    done = await h.finish(job.id)
    assert done.state == job_pb2.JOB_STATE_FAILED and done.error.code == "INVALID_IMAGE"
    assert next(s for s in done.steps if s.name == "touchup").attempt == 1
    # The job fails first (FailStep), then the worker dead-letters the message: the DLQ catches
    # up shortly after (docs/architecture.md, "Order of a failure").
    depth = await h.wait_depth("touchup", dead=1)
    assert (depth.visible, depth.in_flight, depth.delayed, depth.dead) == (0, 0, 0, 1)


async def test_retry_job_reruns_the_failed_step(h: Harness) -> None:
    job = await h.create("a knight", step_options={"motion": {"fail_code": "E_X", "fail_retryable": False}})
    assert (await h.finish(job.id)).state == job_pb2.JOB_STATE_FAILED
    with pytest.raises(FailedPrecondition):
        await h.api.retry_job(h.key, (await h.finish((await h.create("a wizard")).id)).id)
    retried = await h.api.retry_job(h.key, job.id)
    assert retried.state in (job_pb2.JOB_STATE_QUEUED, job_pb2.JOB_STATE_RUNNING)
    motion = next(s for s in retried.steps if s.name == "motion")
    assert motion.generation == 1 and motion.state == job_pb2.STEP_STATE_QUEUED
    # Still poisoned: fails again, and the job says so.
    assert (await h.finish(job.id)).state == job_pb2.JOB_STATE_FAILED


async def test_cancel_stops_the_running_step_and_queues_nothing_more(h: Harness) -> None:
    interval = h.settings.worker.progress_interval_s
    job = await h.create("a long knight", step_options={"shape": {"sleep_s": 60.0, "ticks": 1000}})
    async for event in h.api.watch_job(h.key, job.id):
        if event.step_name == "shape" and event.WhichOneof("kind") == "progress":
            break
    loop = asyncio.get_running_loop()
    cancelled_at = loop.time()
    cancelled = await h.api.cancel_job(h.key, job.id)
    assert cancelled.state == job_pb2.JOB_STATE_CANCELLED
    consumer = h.mesh.workers.consumer
    while consumer.in_flight and loop.time() - cancelled_at < 30:
        await asyncio.sleep(0.01)
    stopped_after = loop.time() - cancelled_at
    # One progress interval of the backend (50 ms ticks) plus a report round trip; the step
    # would otherwise run on for a minute. Bounded loosely: a busy machine is slow, not wrong.
    assert stopped_after < 10 * (0.05 + interval) + 5
    await asyncio.sleep(0.3)
    done = await h.api.get_job(h.key, job.id)
    assert [s.state for s in done.steps[3:]] == [job_pb2.STEP_STATE_CANCELLED] * 4
    assert not any(s.HasField("started_at") for s in done.steps[3:])
    with pytest.raises(FailedPrecondition):
        await h.api.cancel_job(h.key, job.id)


async def test_review_gate_approve_and_reject(h: Harness) -> None:
    job = await h.create("a gated knight", review_gates=["sketch"])
    assert list(job.input.review_gates) == ["sketch"]
    events = await h.events(job.id)
    assert events[-1].WhichOneof("kind") == "review_needed" and events[-1].step_name == "sketch"
    waiting = await h.api.get_job(h.key, job.id)
    assert waiting.state == job_pb2.JOB_STATE_AWAITING_REVIEW
    sketch = waiting.steps[0]
    assert sketch.state == job_pb2.STEP_STATE_AWAITING_REVIEW
    assert waiting.steps[1].state == job_pb2.STEP_STATE_PENDING

    reject = orchestrator_pb2.ReviewStepRequest(
        job_id=job.id, step="sketch", decision=orchestrator_pb2.REVIEW_DECISION_REJECT, notes="try again"
    )
    rejected = await h.api.review_step(h.key, reject)
    assert rejected.steps[0].generation == 1 and rejected.steps[0].seed != sketch.seed
    again = await h.events(job.id, after=events[-1].sequence)
    assert kinds(again)[:2] == ["queued", "started"] and kinds(again)[-1] == "review_needed"
    rerun = await h.api.get_job(h.key, job.id)
    assert rerun.steps[0].state == job_pb2.STEP_STATE_AWAITING_REVIEW
    assert rerun.steps[0].review_notes == "try again"
    assert rerun.steps[0].outputs[0].sha256 != sketch.outputs[0].sha256, "a new seed makes a new image"

    approve = orchestrator_pb2.ReviewStepRequest(
        job_id=job.id, step="sketch", decision=orchestrator_pb2.REVIEW_DECISION_APPROVE
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
async def test_bad_input_names_the_field_and_queues_nothing(real: Harness, fields: dict, field: str) -> None:
    fields = dict(fields)
    prompt = fields.pop("prompt", "a knight")
    with pytest.raises(InvalidArgument) as raised:
        await real.create(prompt, **fields)
    assert raised.value.field == field
    assert not (await real.api.list_jobs(real.key, orchestrator_pb2.ListJobsRequest())).jobs
    assert (await real.depth("tti")).visible == 0


async def test_unknown_export_format_and_clip(real: Harness) -> None:
    bad = job_input("a knight")
    bad.export.formats.extend(["glb", "obj"])
    with pytest.raises(InvalidArgument) as raised:
        await real.api.create_job(real.key, bad)
    assert raised.value.field == "input.export.formats[1]"
    bad = job_input("a grey wolf")
    bad.animation.clips.append("wave")  # quadrupeds do not wave
    with pytest.raises(InvalidArgument) as raised:
        await real.api.create_job(real.key, bad)
    assert raised.value.field == "input.animation.clips[0]"


async def test_quota_limits_active_jobs(settings: Settings) -> None:
    settings.max_active_jobs_per_tenant = 2
    settings.steps = PROBE_STEPS
    async with embedded(settings) as h:
        gated = {"review_gates": ["sketch"], "pipeline": "probe"}  # active: waiting for review
        first, second = await h.create("one", **gated), await h.create("two", **gated)
        with pytest.raises(ResourceExhausted):
            await h.create("three", pipeline="probe")
        assert (await h.api.list_jobs(h.key, orchestrator_pb2.ListJobsRequest())).jobs[0].id == second.id
        await h.api.cancel_job(h.key, first.id)
        assert (await h.create("four", pipeline="probe_short")).id


async def test_malformed_and_unknown_ids(h: Harness) -> None:
    with pytest.raises(InvalidArgument) as raised:
        await h.api.get_job(h.key, "job_../../etc")
    assert raised.value.field == "job_id"
    with pytest.raises(NotFound):
        await h.api.get_job(h.key, "job_01m8cgqqpjnkzjs6p773fxmbw9")


async def test_list_jobs_filters_and_pages(h: Harness) -> None:
    ids = [(await h.create(f"knight {i}", pipeline="probe_short")).id for i in range(5)]
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
    probes = await h.api.list_jobs(h.key, orchestrator_pb2.ListJobsRequest(pipeline="probe"))
    assert not probes.jobs
    with pytest.raises(InvalidArgument) as raised:
        await h.api.list_jobs(h.key, orchestrator_pb2.ListJobsRequest(pipeline="spaceship"))
    assert raised.value.field == "pipeline"


async def test_library_search(h: Harness) -> None:
    a = await h.finish((await h.create("a red dragon", pipeline="probe_short", tags=["boss", "fire"])).id)
    b = await h.finish((await h.create("a blue slime", pipeline="probe_short", tags=["minion"])).id)
    found = await h.api.list_assets(h.key, orchestrator_pb2.ListAssetsRequest(query="dragon"))
    assert [x.id for x in found.assets] == [a.asset_id]
    found = await h.api.list_assets(h.key, orchestrator_pb2.ListAssetsRequest(tags=["minion"]))
    assert [x.id for x in found.assets] == [b.asset_id]
    found = await h.api.list_assets(h.key, orchestrator_pb2.ListAssetsRequest())
    assert {x.id for x in found.assets} == {a.asset_id, b.asset_id}


async def test_new_version_of_an_existing_asset(h: Harness) -> None:
    first = await h.finish((await h.create("a sword", pipeline="probe_short")).id)
    second = await h.finish(
        (await h.create("a sharper sword", pipeline="probe_short", asset_id=first.asset_id)).id
    )
    assert second.asset_id == first.asset_id and second.asset_version == 2
    asset = await h.api.get_asset(h.key, first.asset_id)
    assert [v.version for v in asset.versions] == [2, 1]
    assert all("/v2/" in f.blob_key for f in asset.versions[0].files)
