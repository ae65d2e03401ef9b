"""The rig step: LOD0 mesh -> skeleton fitted to its shape + skin weights ("rigged"), skinned LODs.

Joint names, and how Unity Humanoid and Godot's SkeletonProfileHumanoid map them, are in
assetcore.geometry.skeleton; the fitting in services.rig.fit_humanoid / fit_quadruped.
"""

from __future__ import annotations

from assetcore.blender import BPY
from assetcore.steps.contract import BackendSpec, Resources, StepDefinition
from services.rig.options import RigOptions

SKINNED_OUTPUTS = ("rigged", "lod1", "lod2")

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
    gate="services.rig.gates:check_skins",
    reads=("constraints.rig_type",),
    resources=Resources(cpu=2048, memory_mib=4096, min_tasks=0, max_tasks=10, backlog_per_task=4),
    done_message="rig ready",
)
