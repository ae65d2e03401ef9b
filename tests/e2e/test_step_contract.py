"""A new step is a module, its backends and a pipeline entry: nothing else changes.

The throwaway `texture` step (tests/support/texture_step.py) is loaded as a plugin by a
`generate` run from the CLI, sits between retopo and rig in its own pipeline, and the job
goes through every real CPU backend to a validator-clean GLB.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from assetcore.geometry.gltf import read_glb
from tests.support.gltf_validator import assert_valid_glb

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]
ROOT = Path(__file__).resolve().parents[2]


def test_a_plugin_step_runs_between_retopo_and_rig(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "ASSETCORE_PLUGINS": json.dumps(["tests.support.texture_step"]),
        "OMP_NUM_THREADS": "1",
    }
    out = tmp_path / "out"
    command = [
        sys.executable, "-m", "assetcore.cli", "generate", "a knight", "--pipeline", "textured_character",
        "--poly-budget", "2000", "--option", "tti.size=512", "--option", "image3d.resolution=96",
        "--option", "retopo.texture_size=256", "--option", "texture.ticks=3",
        "--data-dir", str(tmp_path / "data"), "-o", str(out),
    ]  # fmt: skip
    result = subprocess.run(
        command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=540, check=False
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    report = json.loads((out / "report.json").read_text())
    steps = [s["name"] for s in report["steps"]]
    assert steps == ["tti", "refine", "image3d", "retopo", "texture", "rig", "anim", "export"]
    texture = next(s for s in report["steps"] if s["name"] == "texture")
    assert texture["backend"] == "noop" and texture["state"] == "STEP_STATE_SUCCEEDED"
    glb = next(p for p in out.glob("*.glb") if "_lod" not in p.name)
    model = read_glb(glb.read_bytes())
    assert model.skeleton is not None and model.clips
    assert_valid_glb(glb.read_bytes())
