"""The ML backends end to end through the orchestrator, on CPU, on tiny random-weight models.

tti=sdxl (base + refiner) -> refine=sdxl-img2img+esrgan -> multiview=zero123pp -> image3d=hunyuan3d
or triposr -> retopo -> export: a validator-clean GLB. The shapes are meaningless with random
weights; the files, types, sizes and events are production's. A character job on the same
backends completes or fails at a named step with a typed error, and never hangs.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from assetcore.adapters import open_blob_store
from assetcore.config import Settings
from assetcore.errors import InvalidArgument
from assetcore.multiview import decode_multiview_png
from assetcore.proto.v1 import job_pb2, orchestrator_pb2
from tests.support.gltf_validator import assert_valid_glb
from tests.support.harness import Harness, embedded, kinds
from tests.support.tiny_models import TinyModels

pytestmark = [pytest.mark.ml, pytest.mark.slow, pytest.mark.timeout(900)]
ROOT = Path(__file__).resolve().parents[2]
MODELS = ("sdxl-base", "sdxl-refiner", "matte", "esrgan-x4", "zero123pp", "hunyuan3d-dit", "triposr")
# Small sizes: the tiny models make noise at any size; these keep each step under a few seconds.
TINY_OPTIONS: dict[str, dict[str, Any]] = {
    "tti": {"size": 256, "resolution": 64, "steps": 4, "candidates": 2},
    "refine": {"strength": 0.5, "steps": 4},
    "multiview": {"tile": 64, "steps": 2},
    "retopo": {"texture_size": 256},
}
IMAGE3D_OPTIONS = {
    "hunyuan3d": {"octree_resolution": 48, "inference_steps": 2, "num_chunks": 4096},
    "triposr": {"marching_cubes_resolution": 48},
}


def ml_settings(data_dir: Path, model_dir: Path, image3d: str) -> Settings:
    return Settings(
        data_dir=data_dir,
        model_dir=model_dir,
        backends={
            "tti": "sdxl",
            "refine": "sdxl-img2img+esrgan",
            "multiview": "zero123pp",
            "image3d": image3d,
        },
        ml={"device": "cpu", "threads": 1},
        worker={"visibility_timeout_s": 60.0, "progress_interval_s": 0.05},
        signing_secret="test-signing-secret",
        internal_token="test-internal-token",
    )


async def read_blob(settings: Settings, key: str) -> bytes:
    blobs = open_blob_store(settings)
    try:
        return await blobs.get(key)
    finally:
        await blobs.close()


def options_for(image3d: str) -> dict[str, dict[str, Any]]:
    return {**TINY_OPTIONS, "image3d": IMAGE3D_OPTIONS[image3d]}


def output(job: job_pb2.Job, step: str, name: str) -> job_pb2.Artifact:
    found = next(s for s in job.steps if s.name == step)
    return next(a for a in found.outputs if a.name == name)


@pytest.mark.parametrize("image3d", ["hunyuan3d", "triposr"])
async def test_a_prop_through_every_ml_backend(tiny_models: TinyModels, tmp_path: Path, image3d: str) -> None:
    settings = ml_settings(tmp_path / "data", tiny_models.require(*MODELS), image3d)
    async with embedded(settings) as h:
        created = await h.create(
            "a giant spider",
            pipeline="prop_multiview",
            upscale=True,
            seed=7,
            step_options=options_for(image3d),
        )
        events = await h.events(created.id, timeout_s=600, until_review=False)
        job = await h.api.get_job(h.key, created.id)
    assert job.state == job_pb2.JOB_STATE_SUCCEEDED, job.error.message
    steps = {s.name: s for s in job.steps}
    assert [s.name for s in job.steps] == [
        "tti",
        "refine",
        "multiview",
        image3d and "image3d",
        "retopo",
        "export",
    ]
    assert steps["tti"].backend == "sdxl" and steps["image3d"].backend == image3d
    assert steps["tti"].backend_version.startswith("1+")  # the weights' fingerprint is in the version
    # Progress through the denoising loops, with latent previews.
    for step in ("tti", "refine", "multiview"):
        assert {"progress", "preview"} <= set(kinds(events, step)), step
    # Files: two candidate concepts, an upscaled refine, six views, a mesh and a clean GLB.
    concept = Image.open(io.BytesIO(await read_blob(settings, output(job, "tti", "image").blob_key)))
    assert concept.mode == "RGBA" and concept.size == (256, 256)
    assert output(job, "tti", "candidate_2").sha256 != output(job, "tti", "candidate_1").sha256
    refined = Image.open(io.BytesIO(await read_blob(settings, output(job, "refine", "image").blob_key)))
    assert refined.size == (512, 512)
    views = decode_multiview_png(await read_blob(settings, output(job, "multiview", "views").blob_key))
    assert len(views.views) == 6 and views.tile == 64
    glb = await read_blob(settings, output(job, "export", "glb").blob_key)
    assert_valid_glb(glb)


async def test_a_character_on_ml_backends_ends_cleanly(tiny_models: TinyModels, tmp_path: Path) -> None:
    """Random geometry need not carry a rig: the job completes, or fails at a named step with a
    typed error; it never hangs, and the workers keep serving."""
    settings = ml_settings(tmp_path / "data", tiny_models.require(*MODELS), "triposr")
    async with embedded(settings) as h:
        first = await finished(h, "a knight", "character_multiview", 11)
        assert first.state in (job_pb2.JOB_STATE_SUCCEEDED, job_pb2.JOB_STATE_FAILED)
        if first.state == job_pb2.JOB_STATE_FAILED:
            failed = next(s for s in first.steps if s.state == job_pb2.STEP_STATE_FAILED)
            assert failed.error.code in {"INVALID_INPUT", "EMPTY_MESH", "NON_MANIFOLD", "EMPTY_MATTE"}
            assert failed.error.message and first.error.code == failed.error.code
        prop = await finished(h, "a wooden barrel", "prop_multiview", 12)
        assert prop.state == job_pb2.JOB_STATE_SUCCEEDED, prop.error.message


async def finished(h: Harness, prompt: str, pipeline: str, seed: int) -> job_pb2.Job:
    created = await h.create(prompt, pipeline=pipeline, seed=seed, step_options=options_for("triposr"))
    return await h.finish(created.id, timeout_s=600)


@pytest.mark.parametrize(
    ("image3d", "options"),
    [
        ("hunyuan3d", []),
        # TripoSR's published 256^3 marching-cubes grid is a minute of CPU: the README says so.
        ("triposr", ["--option", "image3d.marching_cubes_resolution=96"]),
    ],
)
def test_generate_a_giant_spider_on_the_tiny_models(
    tiny_models: TinyModels, tmp_path: Path, image3d: str, options: list[str]
) -> None:
    """The README's commands, with ASSETCORE_MODEL_DIR at the tiny models."""
    env = {
        **os.environ,
        "ASSETCORE_MODEL_DIR": str(tiny_models.require(*MODELS)),
        "ASSETCORE_ML__THREADS": "1",
        "OMP_NUM_THREADS": "1",
    }
    out = tmp_path / "out"
    command = [
        sys.executable, "-m", "assetcore.cli", "generate", "a giant spider", "--type", "prop",
        "--backend", "tti=sdxl", "--backend", f"image3d={image3d}", *options,
        "--data-dir", str(tmp_path / "data"), "-o", str(out),
    ]  # fmt: skip
    result = subprocess.run(
        command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    report = json.loads((out / "report.json").read_text())
    backends = {s["name"]: s["backend"] for s in report["steps"]}
    assert backends["tti"] == "sdxl" and backends["image3d"] == image3d
    glb = next(p for p in out.glob("*.glb") if "_lod" not in p.name)
    assert_valid_glb(glb.read_bytes())


async def test_a_reviewer_chooses_another_candidate(tiny_models: TinyModels, tmp_path: Path) -> None:
    """tti=sdxl keeps every candidate; at the concept gate a person keeps candidate 2, and refine
    works from it."""
    settings = ml_settings(tmp_path / "data", tiny_models.require(*MODELS), "triposr")
    async with embedded(settings) as h:
        job = await h.create(
            "a wooden barrel",
            pipeline="concept",
            review_gates=["concept"],
            seed=3,
            step_options={"tti": TINY_OPTIONS["tti"], "refine": TINY_OPTIONS["refine"]},
        )
        await h.events(job.id, timeout_s=300)
        waiting = await h.api.get_job(h.key, job.id)
        second = output(waiting, "tti", "candidate_2")
        assert output(waiting, "tti", "image").sha256 == output(waiting, "tti", "candidate_1").sha256
        review = orchestrator_pb2.ReviewStepRequest(
            job_id=job.id, step="tti", decision=orchestrator_pb2.REVIEW_DECISION_APPROVE
        )
        with pytest.raises(InvalidArgument, match="choose among: candidate_1, candidate_2") as wrong:
            await h.api.review_step(h.key, copy_with(review, choice="candidate_9"))
        assert wrong.value.field == "choice"
        rejecting = copy_with(review, choice="candidate_2", decision=orchestrator_pb2.REVIEW_DECISION_REJECT)
        with pytest.raises(InvalidArgument, match="APPROVE only"):
            await h.api.review_step(h.key, rejecting)
        await h.api.review_step(h.key, copy_with(review, choice="candidate_2"))
        done = await h.finish(job.id, timeout_s=300)
    assert done.state == job_pb2.JOB_STATE_SUCCEEDED, done.error.message
    chosen = output(done, "tti", "image")
    assert (chosen.sha256, chosen.blob_key) == (second.sha256, second.blob_key)
    refined = Image.open(io.BytesIO(await read_blob(settings, output(done, "refine", "image").blob_key)))
    assert refined.size == (256, 256)


def copy_with(
    request: orchestrator_pb2.ReviewStepRequest, **fields: Any
) -> orchestrator_pb2.ReviewStepRequest:
    changed = orchestrator_pb2.ReviewStepRequest()
    changed.CopyFrom(request)
    for name, value in fields.items():
        setattr(changed, name, value)
    return changed
