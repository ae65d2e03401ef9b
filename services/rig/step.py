"""The rig step: LOD0 mesh -> skeleton fitted to its shape + skin weights ("rigged"), skinned LODs.

Joint names, and how Unity Humanoid and Godot's SkeletonProfileHumanoid map them, are in
assetcore.geometry.skeleton; the fitting in services.rig.fit_humanoid / fit_quadruped.
"""

from __future__ import annotations

import numpy as np

from assetcore.blender import BPY
from assetcore.geometry.gltf import read_glb
from assetcore.geometry.model import Model
from assetcore.steps.contract import BackendSpec, Resources, StepDefinition
from assetcore.worker.backend import ErrorCode, StepError, StepOutput, StepRequest
from services.rig.options import RigOptions
from services.rig.weights import MAX_INFLUENCES

SKINNED_OUTPUTS = ("rigged", "lod1", "lod2")
WEIGHT_SUM_TOLERANCE = 1e-4


def check_skins(output: StepOutput, request: StepRequest) -> None:
    for output_file in output.files:
        if output_file.name in SKINNED_OUTPUTS:
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


STEP = StepDefinition(
    name="rig",
    description="Skeleton fitted to the mesh's shape, skin weights, skinned LODs",
    consumes=("mesh", "lod1", "lod2"),
    produces=SKINNED_OUTPUTS,
    backends={
        "cpu": BackendSpec("services.rig.backends.cpu:CpuRigBackend", pool="cpu"),
        "blender": BackendSpec(
            "services.rig.backends.blender:BlenderRigBackend", pool="cpu", requires=(BPY,)
        ),
    },
    default_backend="cpu",
    options=RigOptions,
    required_inputs=("mesh",),
    gate=check_skins,
    reads=("constraints.rig_type",),
    resources=Resources(cpu=2048, memory_mib=4096, min_tasks=0, max_tasks=10, backlog_per_task=4),
    done_message="rig ready",
)
