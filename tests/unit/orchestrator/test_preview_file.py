"""The asset version's preview file carries the size and digest the worker stored it with
(issue 9: it had sizeBytes 0 and sha256 "" in asset.versions.files and JobFinishedEvent.files)."""

from __future__ import annotations

import hashlib
from functools import partial

from sqlalchemy import select

from assetcore.db.schema import asset_versions
from assetcore.proto.v1 import events_pb2, job_pb2, library_pb2
from services.orchestrator import store
from tests.unit.orchestrator.support import job_row, output
from tests.unit.orchestrator.test_worker_flow import Mesh, completion, mesh, run_to_the_last_step

__all__ = ["mesh"]  # the fixture, shared with test_worker_flow


async def test_the_preview_file_has_its_size_and_sha256(mesh: Mesh) -> None:
    job = job_row("concept")
    refine = await run_to_the_last_step(mesh, job)
    preview = output("image", b"preview")
    request = completion(refine, b"refined", preview.blob_key)
    request.preview.CopyFrom(
        job_pb2.Artifact(
            name="preview",
            media_type="image/png",
            blob_key=preview.blob_key,
            sha256=hashlib.sha256(b"preview").hexdigest(),
            size_bytes=len(b"preview"),
        )
    )
    assert (await mesh.api.complete_step(request)).accepted

    stored = await mesh.db.read(lambda conn: conn.execute(select(asset_versions.c.files)).scalar_one())
    files = {f.name: f for f in library_pb2.AssetVersion.FromString(stored).files}
    events, _ = await mesh.db.read(partial(store.events_after, job_id=job.id, after=0))
    finished = events_pb2.JobEvent.FromString(events[-1][1]).finished
    finished_files = {f.name: f for f in finished.artifacts}
    for listing in (files, finished_files):
        assert listing["preview"].size_bytes == len(b"preview")
        assert listing["preview"].sha256 == hashlib.sha256(b"preview").hexdigest()
