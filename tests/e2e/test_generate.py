"""`assetcore generate` on the three acceptance prompts: real assets through the CPU backends.

Each run goes through the CLI as a user would (a fresh data directory, the embedded mesh)
and the files it writes are checked against the quality gates: the Khronos validator, a
Blender re-import, watertight meshes before rigging, face counts, skin weights, clips.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import trimesh

from assetcore.blender import bpy_available, shared_blender
from assetcore.geometry.gltf import read_glb
from tests.support.blender_inspection import glb_summary
from tests.support.gltf_validator import assert_valid_glb

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

PC_FACES = 15_000


@dataclass(frozen=True)
class Expected:
    prompt: str
    rig: str | None  # humanoid | quadruped | None for a static prop
    min_clips: int


PROMPTS = {
    "knight": Expected("a knight in red armor with a round shield", "humanoid", 6),
    "wolf": Expected("a grey wolf", "quadruped", 3),
    "chest": Expected("a wooden treasure chest", None, 0),
}


@dataclass
class Generated:
    out: Path
    data_dir: Path
    report: dict[str, Any]

    def file(self, suffix: str) -> Path:
        [found] = [
            p for p in self.out.iterdir() if p.name.endswith(suffix) and not p.name.endswith("_" + suffix)
        ]
        return found

    def main_glb(self) -> Path:
        return next(p for p in self.out.glob("*.glb") if "_lod" not in p.name)

    def output(self, step: str, name: str) -> bytes:
        [meta] = [
            o for s in self.report["steps"] if s["name"] == step for o in s["outputs"] if o["name"] == name
        ]
        return (self.data_dir / "blobs" / meta["blob_key"]).read_bytes()


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Generated]:
    runs = {}
    for key, expected in PROMPTS.items():
        root = tmp_path_factory.mktemp(key)
        command = [
            sys.executable,
            "-m",
            "assetcore.cli",
            "generate",
            expected.prompt,
            "-o",
            "out",
            "--data-dir",
            "data",
        ]
        result = subprocess.run(
            command, cwd=root, capture_output=True, text=True, timeout=300, check=False, env={**os.environ}
        )
        assert result.returncode == 0, f"{expected.prompt}:\n{result.stdout}\n{result.stderr}"
        report = json.loads((root / "out" / "report.json").read_text())
        runs[key] = Generated(root / "out", root / "data", report)
    return runs


@pytest.mark.parametrize("key", PROMPTS)
def test_generate_writes_the_glb_lods_previews_and_report(generated: dict[str, Generated], key: str) -> None:
    run = generated[key]
    assert run.report["state"] == "JOB_STATE_SUCCEEDED"
    expected_pipeline = "prop" if PROMPTS[key].rig is None else "character"
    assert run.report["pipeline"] == expected_pipeline
    for suffix in ("_lod1.glb", "_lod2.glb", "_manifest.json", "_concept.png", "_preview.png"):
        assert any(p.name.endswith(suffix) for p in run.out.iterdir()), suffix
    steps = [s["name"] for s in run.report["steps"]]
    assert sorted(p.stem for p in (run.out / "previews").glob("*.png")) == sorted(steps)
    assert all(s["state"] == "STEP_STATE_SUCCEEDED" and s["seconds"] > 0 for s in run.report["steps"])


@pytest.mark.parametrize("key", PROMPTS)
def test_every_glb_passes_the_khronos_validator(generated: dict[str, Generated], key: str) -> None:
    for path in generated[key].out.glob("*.glb"):
        assert_valid_glb(path.read_bytes())


@pytest.mark.parametrize("key", PROMPTS)
def test_meshes_are_watertight_before_rigging_and_on_budget(
    generated: dict[str, Generated], key: str
) -> None:
    run = generated[key]
    lod0 = read_glb(run.output("retopo", "mesh")).mesh
    surface = trimesh.Trimesh(lod0.positions, lod0.faces, process=False)
    surface.merge_vertices()  # UV seams split vertices in the file; the surface is judged welded
    assert surface.is_watertight
    assert abs(lod0.face_count - PC_FACES) <= 0.1 * PC_FACES
    for lod, share in (("lod1", 0.5), ("lod2", 0.25)):
        faces = read_glb(run.output("retopo", lod)).mesh.face_count
        assert abs(faces - share * PC_FACES) <= 0.1 * share * PC_FACES, lod
    assert lod0.uvs is not None and lod0.texture_png is not None


@pytest.mark.parametrize("key", [k for k, e in PROMPTS.items() if e.rig])
def test_skin_weights_and_clips(generated: dict[str, Generated], key: str) -> None:
    model = read_glb(generated[key].main_glb().read_bytes())
    assert model.skeleton is not None and model.skin is not None
    weights = model.skin.weights
    assert weights.shape == (model.mesh.vertex_count, 4)
    assert np.allclose(weights.sum(axis=1), 1.0, atol=1e-3) and (weights >= 0).all()
    assert len(model.clips) >= PROMPTS[key].min_clips
    for clip in model.clips:
        assert np.isfinite(clip.rotations).all() and np.isfinite(clip.root_translations).all()
        turned = np.abs(clip.rotations - clip.rotations[:1]).max()
        assert turned > 1e-3, f"clip {clip.name} does not move"


def test_static_prop_has_no_rig(generated: dict[str, Generated]) -> None:
    model = read_glb(generated["chest"].main_glb().read_bytes())
    assert model.skeleton is None and model.skin is None and not model.clips
    assert "rig" not in [s["name"] for s in generated["chest"].report["steps"]]


@pytest.mark.blender
@pytest.mark.skipif(not bpy_available(), reason="bpy (Blender as a module) is not installed")
@pytest.mark.parametrize("key", PROMPTS)
def test_blender_reimports_with_one_armature_and_its_actions(
    generated: dict[str, Generated], key: str
) -> None:
    summary = shared_blender().call(glb_summary, generated[key].main_glb().read_bytes())
    expected = PROMPTS[key]
    if expected.rig is None:
        assert summary["armatures"] == [] and summary["actions"] == []
    else:
        assert len(summary["armatures"]) == 1
        assert len(summary["actions"]) >= expected.min_clips
    assert summary["faces"] > 0
