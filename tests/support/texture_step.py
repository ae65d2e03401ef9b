"""A throwaway step declared outside the installed package, and a pipeline that uses it.

Loaded as a plugin (Settings.plugins / ASSETCORE_PLUGINS) by the step-contract acceptance
test: nothing in the platform, the gateway, deploy or any other step knows of it.
"""

from __future__ import annotations

from assetcore.geometry.gltf import read_glb
from assetcore.proto.v1 import job_pb2
from assetcore.steps.contract import NOOP, StepDefinition
from assetcore.steps.pipeline import Pipeline, chain
from assetcore.worker.backend import ErrorCode, StepError, StepOutput, StepRequest

LODS = ("mesh", "lod1", "lod2")


def textured_lods(output: StepOutput, request: StepRequest) -> None:
    """Every LOD came back as a GLB with UVs and a base-colour texture."""
    files = {f.name: f for f in output.files}
    for name in LODS:
        if name not in files:
            raise StepError(ErrorCode.INTERNAL, f"texture: no {name!r} output")
        mesh = read_glb(files[name].data).mesh
        if mesh.uvs is None or mesh.texture_png is None:
            raise StepError(ErrorCode.INTERNAL, f"texture: {name} has no UVs or texture")


STEPS = (
    StepDefinition(
        name="texture",
        description="Texture pass between retopology and rigging (a test's throwaway step)",
        consumes=LODS,
        produces=LODS,
        backends={},
        default_backend=NOOP,
        required_inputs=LODS,
        gate=textured_lods,
        gate_aliases=("texturing",),
    ),
)

PIPELINES = (
    Pipeline(
        "textured_character",
        "Character with a texture pass after retopology",
        job_pb2.ASSET_TYPE_CHARACTER,
        chain("tti", "refine", "image3d", "retopo", "texture", "rig", "anim", "export"),
    ),
)
