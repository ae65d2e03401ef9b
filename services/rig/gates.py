"""The rig step's quality gate (runs where the step runs; services/rig/step.py names it)."""

from __future__ import annotations

import numpy as np

from assetcore.geometry.gltf import read_glb
from assetcore.geometry.model import Model
from assetcore.worker.backend import ErrorCode, StepError, StepOutput, StepRequest
from services.rig.weights import MAX_INFLUENCES

WEIGHT_SUM_TOLERANCE = 1e-4


def check_skins(output: StepOutput, request: StepRequest) -> None:
    for output_file in output.files:
        if output_file.name in request.produces:
            check_skin(read_glb(output_file.data), output_file.name)


def check_skin(model: Model, name: str) -> None:
    """Quality gate: every vertex weighted, at most 4 influences, weights sum to 1, no NaN.
    A model without a skeleton (a static rig) passes."""
    if model.skeleton is None:
        return
    skin = model.skin
    if skin is None:
        raise StepError(ErrorCode.INTERNAL, f"rig: {name} has a skeleton but no skin")
    weights = skin.weights.astype(np.float64)
    vertices = model.mesh.vertex_count
    if weights.shape != (vertices, MAX_INFLUENCES) or skin.joints.shape != (vertices, MAX_INFLUENCES):
        raise StepError(ErrorCode.INTERNAL, f"rig: {name} skin arrays do not match its {vertices} vertices")
    if not np.isfinite(weights).all() or (weights < 0).any():
        raise StepError(ErrorCode.INTERNAL, f"rig: {name} has NaN or negative skin weights")
    if np.abs(weights.sum(axis=1) - 1.0).max() > WEIGHT_SUM_TOLERANCE:
        raise StepError(ErrorCode.INTERNAL, f"rig: {name} has vertices whose weights do not sum to 1")
    if int(skin.joints.max(initial=0)) >= model.skeleton.joint_count:
        raise StepError(ErrorCode.INTERNAL, f"rig: {name} skin refers to joints the skeleton lacks")
