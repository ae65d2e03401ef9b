"""Typed rows: each class reads every column of its table, and builds from a row positionally."""

from __future__ import annotations

import pytest
from sqlalchemy import Table

from assetcore.db.schema import artifacts, asset_versions, assets, job_transitions, jobs, step_attempts, steps
from services.orchestrator.rows import (
    ArtifactRow,
    AssetRow,
    AssetVersionRow,
    Attachment,
    AttemptRow,
    JobRow,
    StepRow,
    TransitionRow,
    field_names,
    values,
)
from tests.unit.orchestrator.support import job_row


@pytest.mark.parametrize(
    ("row_type", "table"),
    [
        (JobRow, jobs),
        (StepRow, steps),
        (AttemptRow, step_attempts),
        (ArtifactRow, artifacts),
        (TransitionRow, job_transitions),
        (AssetRow, assets),
        (AssetVersionRow, asset_versions),
    ],
)
def test_a_row_type_covers_its_table(row_type: type, table: Table) -> None:
    assert set(field_names(row_type)) == {c.name for c in table.c}, "add the new column to rows.py"


def test_attachments_round_trip_as_json() -> None:
    import json

    bvh = Attachment("bvh", "application/x-bvh", "ab" * 32, 10, "t/x/cas/ab", "")
    job = job_row(attachments=json.dumps([values(bvh)]))
    assert job.attachment_list() == [bvh]
    assert job_row().attachment_list() == []


def test_job_rows_are_mutable_and_reject_unknown_fields() -> None:
    job = job_row()
    job.state = "running"
    assert values(job)["state"] == "running"
    with pytest.raises(AttributeError):
        job.stat = "typo"  # type: ignore[attr-defined]
