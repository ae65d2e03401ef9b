"""The export step's checks: an input to export from, and the files it wrote (run where the step
runs; services/export/step.py names them)."""

from __future__ import annotations

import json

import numpy as np

from assetcore.geometry.gltf import read_glb
from assetcore.worker.backend import ErrorCode, StepError, StepOutput, StepRequest
from services.export.exporter import LODS, source_artifact
from services.export.options import export_plan

WEIGHT_SUM_TOLERANCE = 1e-3


def check_source(request: StepRequest) -> None:
    source_artifact(request)


def check_export(output: StepOutput, request: StepRequest) -> None:
    expected = {"glb", "manifest", *(LODS[name] for name in LODS if name in request.inputs)}
    if export_plan(request).fbx:
        expected.add("fbx")
    _check_output(output, expected)


def _check_output(output: StepOutput, expected: set[str]) -> None:
    """Quality gates: every expected file, a GLB that reads back sound, a parseable manifest."""
    files = {file.name: file for file in output.files}
    missing = sorted(expected - set(files))
    if missing:
        raise _gate(f"missing output file(s) {missing}")
    for name in sorted(expected - {"fbx", "manifest"}):
        model = read_glb(files[name].data)
        if model.mesh.face_count == 0:
            raise _gate(f"{name} has no faces")
        if (
            model.skin is not None
            and np.abs(model.skin.weights.sum(axis=1) - 1.0).max() > WEIGHT_SUM_TOLERANCE
        ):
            raise _gate(f"{name} has skin weights that do not sum to 1")
        for clip in model.clips:
            if not np.isfinite(clip.rotations).all() or not np.isfinite(clip.root_translations).all():
                raise _gate(f"{name} clip {clip.name!r} has non-finite values")
    if "fbx" in expected and not files["fbx"].data:
        raise _gate("fbx is empty")
    try:
        json.loads(files["manifest"].data)
    except ValueError as exc:
        raise _gate(f"manifest is not JSON ({exc})") from None


def _gate(message: str) -> StepError:
    return StepError(ErrorCode.INTERNAL, f"export quality gate: {message}")
