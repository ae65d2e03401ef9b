"""A worker whose model is missing, truncated or altered refuses to start, naming the file;
its health never turns SERVING. Shown on refine's esrgan backend (a small tiny model)."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from assetcore.mesh import free_port
from assetcore.models.store import ModelStore
from assetcore.worker.backend import ErrorCode, StepError
from assetcore.worker.service import running_workers
from tests.conftest import fast_settings
from tests.support.tiny_models import TinyModels

pytestmark = pytest.mark.ml
MODEL = "esrgan-x4"


def damaged_store(tiny_models: TinyModels, tmp_path: Path, damage: Callable[[Path], None]) -> Path:
    """A copy of the tiny esrgan model with its weights file damaged; returns that file."""
    source = ModelStore(tiny_models.require(MODEL)).verified(MODEL)
    shutil.copytree(source.folder, tmp_path / "models" / MODEL)
    weights = tmp_path / "models" / MODEL / source.manifest.files[0].path
    damage(weights)
    return weights


DAMAGES: dict[str, Callable[[Path], None]] = {
    "missing": lambda p: p.unlink(),
    "truncated": lambda p: p.write_bytes(p.read_bytes()[:100]),
    "wrong-hash": lambda p: p.write_bytes(bytes(b ^ 1 for b in p.read_bytes())),
}


@pytest.mark.parametrize("damage", sorted(DAMAGES))
async def test_a_damaged_model_fails_startup_naming_the_file(
    tiny_models: TinyModels, tmp_path: Path, damage: str
) -> None:
    weights = damaged_store(tiny_models, tmp_path, DAMAGES[damage])
    settings = fast_settings(
        tmp_path / "data", model_dir=tmp_path / "models", backends={"refine": "esrgan"}, steps=["refine"]
    )
    port = free_port()
    async with (
        running_workers(settings, ["refine"], "127.0.0.1:1", grpc_address=f"127.0.0.1:{port}") as workers,
        grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel,
    ):
        with pytest.raises(StepError) as failure:
            await asyncio.wait_for(workers.wait_registered(), 60)
        health = health_pb2_grpc.HealthStub(channel)
        status = (await health.Check(health_pb2.HealthCheckRequest(service=""), wait_for_ready=True)).status
    assert failure.value.code == ErrorCode.BACKEND_UNAVAILABLE
    assert str(weights) in failure.value.message
    assert "step refine, backend esrgan" in failure.value.message
    assert status == health_pb2.HealthCheckResponse.NOT_SERVING
    assert not workers.ready.is_set()


def test_serve_exits_with_the_reason(tiny_models: TinyModels, tmp_path: Path) -> None:
    weights = damaged_store(tiny_models, tmp_path, DAMAGES["wrong-hash"])
    env = {
        **os.environ,
        "ASSETCORE_DATA_DIR": str(tmp_path / "data"),
        "ASSETCORE_MODEL_DIR": str(tmp_path / "models"),
        "ASSETCORE_BACKENDS__REFINE": "esrgan",
        "ASSETCORE_ORCHESTRATOR_ADDRESS": "127.0.0.1:1",
        "ASSETCORE_STEP_PORT": str(free_port()),
    }
    result = subprocess.run(
        [sys.executable, "-m", "assetcore.cli", "serve", "refine"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1, result.stderr
    assert "startup failed: BACKEND_UNAVAILABLE" in result.stderr
    assert f"{weights} has sha256" in result.stderr
