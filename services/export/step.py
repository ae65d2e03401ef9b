"""The export step: the most processed model of the job as engine-ready files.

Consumes "animated" > "rigged" > "mesh" (the first present wins) and "lod1"/"lod2"; produces
"glb" (always: the library's canonical file), "lod1_glb"/"lod2_glb" (for the LODs present),
"fbx" (when export.formats asks for it) and "manifest" (JSON). Engine presets, axes, units
and naming: services.export.presets; step params: services.export.options.
"""

from __future__ import annotations

import json

import numpy as np

from assetcore.blender import BPY
from assetcore.geometry.gltf import read_glb
from assetcore.steps.contract import BackendSpec, Feature, Resources, StepDefinition
from assetcore.worker.backend import ErrorCode, StepError, StepOutput, StepRequest
from services.export.exporter import LODS, source_artifact
from services.export.options import ExportOptions, export_plan, fill_defaults, needs

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


STEP = StepDefinition(
    name="export",
    description="Engine-ready GLB/FBX files with engine presets, LODs and Draco",
    consumes=("animated", "rigged", "mesh", "lod1", "lod2"),
    produces=("glb", "lod1_glb", "lod2_glb", "fbx", "manifest"),
    backends={
        "gltf": BackendSpec(
            "services.export.backends.gltf:GltfExportBackend",
            pool="cpu",
            features=(Feature("glb"), Feature("draco"), Feature("fbx", requires=(BPY,))),
        ),
        "blender": BackendSpec(
            "services.export.backends.blender:BlenderExportBackend",
            pool="cpu",
            requires=(BPY,),
            features=(Feature("glb"), Feature("draco"), Feature("fbx", requires=(BPY,))),
        ),
    },
    default_backend="gltf",
    options=ExportOptions,
    precheck=check_source,
    gate=check_export,
    needs=needs,
    job_defaults=fill_defaults,
    library_files={
        "glb": ".glb",
        "fbx": ".fbx",
        "lod1_glb": "_lod1.glb",
        "lod2_glb": "_lod2.glb",
        "manifest": "_manifest.json",
    },
    reads=("export",),
    resources=Resources(cpu=1024, memory_mib=2048, min_tasks=0, max_tasks=10, backlog_per_task=10),
    done_message="files ready",
)
