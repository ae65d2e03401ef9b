"""`assetcore generate`: one job on the embedded mesh, with live progress, files and a report."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

from google.protobuf.json_format import MessageToDict
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from assetcore.adapters import open_blob_store
from assetcore.config import Settings
from assetcore.embedded import embedded_mesh
from assetcore.job_warnings import job_warnings
from assetcore.proto.v1 import events_pb2, job_pb2
from assetcore.rpc.client import OrchestratorApi
from assetcore.steps.catalog import NoPipeline, catalog_for


class StepBars:
    """One progress bar per step, driven by the job's events."""

    def __init__(self, progress: Progress, job: job_pb2.Job) -> None:
        self._progress = progress
        self._tasks: dict[str, TaskID] = {
            s.name: progress.add_task(f"{s.name:<8} pending", total=100) for s in job.steps
        }

    def _set(self, step: str, text: str, completed: float | None = None) -> None:
        if step in self._tasks:
            self._progress.update(self._tasks[step], description=f"{step:<8} {text}", completed=completed)

    def apply(self, event: events_pb2.JobEvent) -> None:
        kind = event.WhichOneof("kind")
        step = event.step_name
        if kind == "queued":
            self._set(step, f"queued (#{event.queued.position + 1}, ~{event.queued.eta_seconds:.0f}s)", 0)
        elif kind == "started":
            self._set(step, f"running (attempt {event.started.attempt})", 0)
        elif kind == "progress":
            self._set(step, event.progress.message or "running", event.progress.fraction * 100)
        elif kind == "step_completed":
            done = event.step_completed
            note = "cached" if done.cache_hit else f"{done.duration_seconds:.2f}s"
            self._set(step, f"done ({note})", 100)
        elif kind == "retrying":
            self._set(step, f"retrying: {event.retrying.error.code}")
        elif kind == "review_needed":
            self._set(step, "awaiting review", 100)
        elif kind == "failed" and step:
            self._set(step, f"[red]failed: {event.failed.error.code}[/red]")


async def run_generate(
    settings: Settings, job_input: job_pb2.JobInput, out_dir: Path, console: Console
) -> int:
    started = time.monotonic()
    async with embedded_mesh(settings, _pipeline_steps(settings, job_input)) as mesh:
        api = OrchestratorApi(mesh.orchestrator_address)
        try:
            created = await api.create_job(mesh.api_key, job_input)
            job = created.job
            console.print(f"job [bold]{job.id}[/bold]: {job.pipeline} pipeline, seed {job.input.seed}")
            with Progress(
                TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(), console=console
            ) as progress:
                bars = StepBars(progress, job)
                async for event in api.watch_job(mesh.api_key, job.id):
                    bars.apply(event)
                    if event.WhichOneof("kind") == "review_needed":
                        console.print(f"step {event.step_name} awaits review: approve it through the API")
            job = await api.get_job(mesh.api_key, job.id)
            asset = (
                await api.get_asset(mesh.api_key, job.asset_id)
                if job.asset_id and job.asset_version
                else None
            )
        finally:
            await api.close()
    files = await _write_files(settings, job, asset, out_dir)
    report = _report(job, files, time.monotonic() - started)
    (out_dir / "report.json").write_text(json.dumps(report, indent=2))
    _summary(console, job, files, out_dir)
    return 0 if job.state == job_pb2.JOB_STATE_SUCCEEDED else 1


def _pipeline_steps(settings: Settings, job: job_pb2.JobInput) -> tuple[str, ...] | None:
    """The steps of the job's pipeline; None (every step) when it names none the deployment has:
    the orchestrator then refuses the job with the typed error."""
    try:
        return catalog_for(settings).pipeline_of(job).step_names
    except NoPipeline:
        return None


async def _write_files(settings: Settings, job: job_pb2.Job, asset: Any, out_dir: Path) -> list[Path]:
    """The asset version's library files, plus every step's preview under previews/."""
    wanted: list[tuple[str, Path]] = []
    if asset is not None:
        version = next(v for v in asset.versions if v.version == job.asset_version)
        wanted += [(f.blob_key, out_dir / f.blob_key.rsplit("/", 1)[-1]) for f in version.files]
    previews = out_dir / "previews"
    wanted += [(s.preview.blob_key, previews / f"{s.name}.png") for s in job.steps if s.preview.blob_key]
    blobs = open_blob_store(settings)
    try:
        for key, target in wanted:
            await asyncio.to_thread(_write, target, await blobs.get(key))
    finally:
        await blobs.close()
    return [target for _, target in wanted]


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _report(job: job_pb2.Job, files: list[Path], wall_s: float) -> dict[str, Any]:
    return {
        "job_id": job.id,
        "state": job_pb2.JobState.Name(job.state),
        "pipeline": job.pipeline,
        "asset_id": job.asset_id,
        "asset_version": job.asset_version,
        "wall_seconds": round(wall_s, 3),
        "cost_usd": job.cost_usd,
        "error": MessageToDict(job.error) if job.HasField("error") else None,
        "warnings": job_warnings(job),
        "input": MessageToDict(job.input, preserving_proto_field_name=True),
        "steps": [
            {
                "name": s.name,
                "state": job_pb2.StepState.Name(s.state),
                "backend": s.backend,
                "backend_version": s.backend_version,
                "attempts": s.attempt,
                "seconds": round(s.duration_seconds, 3),
                "cost_usd": s.cost_usd,
                "pool": s.pool,
                "cache_hit": s.cache_hit,
                "notes": list(s.notes),
                "outputs": [
                    {"name": o.name, "sha256": o.sha256, "bytes": o.size_bytes, "blob_key": o.blob_key}
                    for o in s.outputs
                ],
            }
            for s in job.steps
        ],
        "files": [str(p) for p in files],
    }


def _summary(console: Console, job: job_pb2.Job, files: list[Path], out_dir: Path) -> None:
    table = Table(
        title=f"job {job.id}: {job_pb2.JobState.Name(job.state).removeprefix('JOB_STATE_').lower()}"
    )
    for column in ("step", "backend", "seconds", "cost (USD)", "notes"):
        table.add_column(column)
    for s in job.steps:
        seconds = "cached" if s.cache_hit else f"{s.duration_seconds:.2f}"
        table.add_row(
            s.name,
            f"{s.backend} {s.backend_version}".strip(),
            seconds,
            f"{s.cost_usd:.6f}",
            "; ".join(s.notes)[:80],
        )
    console.print(table)
    console.print(f"estimated cost: ${job.cost_usd:.6f}")
    if job.HasField("error"):
        console.print(f"[red]{job.error.code}: {job.error.message}[/red]")
    for warning in job_warnings(job):
        console.print(f"[bold yellow]warning: {escape(warning)}[/bold yellow]", highlight=False)
    for path in files:
        console.print(f"  {path}")
    console.print(f"report: {out_dir / 'report.json'}")
