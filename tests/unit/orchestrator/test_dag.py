"""The DAG's pure rules: readiness, step tasks, attempt liveness, backoff and reseeding."""

from __future__ import annotations

import dataclasses
import json

import pytest

from assetcore.config import RetryPolicy
from services.orchestrator import dag
from services.orchestrator.rows import Attachment, AttemptRow, StepRow, values
from services.orchestrator.states import (
    AWAITING_REVIEW,
    CANCELLED,
    FAILED,
    PENDING,
    QUEUED,
    RUNNING,
    SUCCEEDED,
    SUPERSEDED,
)
from tests.unit.orchestrator.support import CATALOG, artifact, job_input, job_row, step_rows


def states(rows: list[StepRow], *names: str) -> list[StepRow]:
    for row, state in zip(rows, names, strict=False):
        row.state = state
    return rows


def test_a_new_jobs_first_step_is_ready_and_only_it() -> None:
    rows = step_rows(job_row("character"))
    assert [s.name for s in dag.ready(rows)] == ["tti"]
    assert all(s.state == PENDING and s.generation == 0 and s.attempt == 0 for s in rows)
    assert rows[1].parents == ("tti",)


def test_a_step_is_ready_when_all_its_parents_succeeded() -> None:
    rows = states(step_rows(job_row("character")), SUCCEEDED, SUCCEEDED, RUNNING)
    assert dag.ready(rows) == []
    rows[2].state = SUCCEEDED
    assert [s.name for s in dag.ready(rows)] == ["retopo"]
    rows[3].state = QUEUED
    assert dag.ready(rows) == [], "only pending steps are queued"


@pytest.mark.parametrize("parent", [FAILED, CANCELLED, AWAITING_REVIEW, QUEUED])
def test_a_step_waits_while_a_parent_has_not_succeeded(parent: str) -> None:
    rows = states(step_rows(job_row("concept")), parent)
    assert dag.ready(rows) == []


def test_all_succeeded() -> None:
    rows = states(step_rows(job_row("concept")), SUCCEEDED, SUCCEEDED)
    assert dag.all_succeeded(rows)
    rows[1].state = AWAITING_REVIEW
    assert not dag.all_succeeded(rows)


def test_state_after_review() -> None:
    rows = states(step_rows(job_row("character")), SUCCEEDED, AWAITING_REVIEW)
    assert dag.state_after_review(AWAITING_REVIEW, rows) is None, "a step still waits"
    rows[1].state = SUCCEEDED
    assert dag.state_after_review(AWAITING_REVIEW, rows) == QUEUED
    rows[2].state = RUNNING
    assert dag.state_after_review(AWAITING_REVIEW, rows) == RUNNING
    assert dag.state_after_review(RUNNING, rows) is None, "only a job awaiting review changes"


def test_a_step_task_carries_the_nearest_ancestors_outputs_then_the_attachments() -> None:
    bvh = Attachment("bvh", "application/x-bvh", "cd" * 32, 5, "t/x/cas/bvh", "")
    mesh_in = Attachment("mesh", "model/gltf-binary", "ef" * 32, 5, "t/x/cas/attached-mesh", "")
    job = job_row("character", attachments=json.dumps([values(bvh), values(mesh_in)]))
    rows = states(step_rows(job), SUCCEEDED, SUCCEEDED, SUCCEEDED, SUCCEEDED)
    tti, refine, image3d, retopo, rig = rows[:5]
    arts = [
        artifact(tti, "image", b"concept"),
        artifact(refine, "image", b"refined"),
        artifact(image3d, "mesh", b"raw mesh"),
        artifact(retopo, "mesh", b"clean mesh"),
        artifact(dataclasses.replace(retopo, generation=1), "mesh", b"a stale generation"),
    ]
    job_in = job_input("character")
    job_in.step_options["rig"].update({"bones": 20})
    task = dag.step_task(
        job, rig, job_in, CATALOG.pipelines["character"], {s.name: s for s in rows}, arts, 100.0
    )
    inputs = {a.name: a.blob_key for a in task.inputs}
    assert inputs == {
        "mesh": arts[3].blob_key,  # retopo's current generation: the nearest ancestor wins
        "image": arts[1].blob_key,
        "bvh": "t/x/cas/bvh",  # attachments come last and never shadow an output
    }
    assert (task.job_id, task.step_id, task.step_name, task.generation) == (job.id, rig.id, "rig", 0)
    assert task.seed == rig.seed and task.priority == job.priority
    assert task.params["bones"] == 20
    assert task.enqueued_at.seconds == 100


def attempt(state: str = RUNNING, generation: int = 0) -> AttemptRow:
    return AttemptRow("att_x", "stp_x", generation, 1, "worker", 1, state, 0.0, None, None, None)


def test_attempt_liveness() -> None:
    [step, _] = states(step_rows(job_row("concept")), RUNNING)
    assert dag.attempt_is_live(RUNNING, step, attempt())
    assert not dag.attempt_is_live(CANCELLED, step, attempt()), "the job ended"
    assert not dag.attempt_is_live(RUNNING, step, attempt(SUPERSEDED)), "a redelivery replaced it"
    assert not dag.attempt_is_live(RUNNING, step, attempt(generation=1)), "another generation"
    step.state = QUEUED
    assert not dag.attempt_is_live(RUNNING, step, attempt())


def test_a_superseded_attempt_may_still_complete_its_generation() -> None:
    [step, _] = states(step_rows(job_row("concept")), RUNNING)
    assert dag.attempt_may_complete(RUNNING, step, attempt(SUPERSEDED))
    assert not dag.attempt_may_complete(RUNNING, step, attempt(FAILED))
    assert not dag.attempt_may_complete(RUNNING, step, attempt(SUPERSEDED, generation=1))
    assert not dag.attempt_may_complete(FAILED, step, attempt())
    step.state = SUCCEEDED
    assert not dag.attempt_may_complete(RUNNING, step, attempt()), "one result per generation"


def test_backoff_grows_exponentially_with_equal_jitter_up_to_the_ceiling() -> None:
    policy = RetryPolicy(max_attempts=5, base_delay_s=1.0, max_delay_s=8.0)
    for attempt_number, ceiling in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (9, 8.0)]:
        delays = [dag.backoff(policy, attempt_number) for _ in range(200)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert max(delays) - min(delays) > 0, "jittered"


def test_reseeding_is_deterministic_and_in_range() -> None:
    assert dag.reseed(7, 1) == dag.reseed(7, 1)
    seeds = {dag.reseed(7, generation) for generation in range(1, 50)}
    assert len(seeds) == 49 and 7 not in seeds
    assert all(0 <= s < 2**31 - 1 for s in seeds)
