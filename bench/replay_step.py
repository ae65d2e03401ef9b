"""Replays one step of a finished job alone, for bench_pipeline: prints its time and peak RSS.

python bench/replay_step.py DATA_DIR JOB_ID STEP [STEP=BACKEND ...]
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
import time
from pathlib import Path

from google.protobuf.json_format import MessageToDict

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assetcore.adapters import open_blob_store
from assetcore.config import Settings
from assetcore.db.database import Database
from assetcore.proto.v1 import job_pb2
from assetcore.steps.runner import prepare_request
from assetcore.worker.backend import InputFile
from assetcore.worker.registry import host_steps
from services.orchestrator import store
from services.orchestrator.dag import job_dag, step_task


async def replay(data_dir: Path, job_id: str, step_name: str, backends: list[str]) -> dict[str, float]:
    settings = Settings(data_dir=data_dir)
    for item in backends:
        step, _, backend = item.partition("=")
        settings.backends[step] = backend
    db = Database(settings.resolved_database_url())

    def load(conn):  # type: ignore[no-untyped-def]
        job = store.job_from(conn.execute(store.JOB, {"job_id": job_id}).one())
        return job, store.steps_of(conn, [job_id]), store.artifacts_of(conn, [job_id])

    job, step_rows, art_rows = await db.read(load)
    await db.dispose()
    by_name = {s.name: s for s in step_rows}
    job_input = job_pb2.JobInput.FromString(job.input)
    dag = job_dag(job, job_input, step_rows)
    task = step_task(job, by_name[step_name], job_input, dag, by_name, art_rows, time.time())
    [hosted] = host_steps([step_name], settings)
    started = time.perf_counter()
    hosted.load()
    load_s = time.perf_counter() - started
    blobs = open_blob_store(settings)
    wanted = set(hosted.wanted_inputs([a.name for a in task.inputs]))
    inputs = {
        a.name: InputFile(a.name, a.media_type, await blobs.get(a.blob_key), a.sha256)
        for a in task.inputs
        if a.name in wanted
    }
    request = prepare_request(
        hosted.definition,
        hosted.backend_name,
        job=task.job_input,
        params=MessageToDict(task.params),
        seed=task.seed,
        inputs=inputs,
    )
    started = time.perf_counter()
    hosted.run(request, lambda *args, **kwargs: None)
    run_s = time.perf_counter() - started
    return {
        "run_s": round(run_s, 3),
        "load_s": round(load_s, 3),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


if __name__ == "__main__":
    data_dir, job_id, step = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
    print(json.dumps(asyncio.run(replay(data_dir, job_id, step, sys.argv[4:]))))
