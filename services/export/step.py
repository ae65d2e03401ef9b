"""The export step: the most processed model of the job as engine-ready files.

Consumes "animated" > "rigged" > "mesh" (the first present wins) and "lod1"/"lod2"; produces
"glb" (always: the library's canonical file), "lod1_glb"/"lod2_glb" (for the LODs present),
"fbx" (when export.formats asks for it) and "manifest" (JSON). Engine presets, axes, units
and naming: services.export.presets; step params: services.export.options.
"""

from __future__ import annotations

from assetcore.blender import BPY
from assetcore.steps.contract import BackendSpec, Feature, Resources, StepDefinition
from services.export.options import BlenderGlbOptions, ExportOptions, fill_defaults, needs

STEP = StepDefinition(
    name="export",
    description="Engine-ready GLB/FBX files with engine presets, LODs, Draco and KTX2",
    consumes=("animated", "rigged", "mesh", "lod1", "lod2"),
    produces=("glb", "lod1_glb", "lod2_glb", "fbx", "manifest"),
    backends={
        "gltf": BackendSpec(
            "services.export.backends.gltf:GltfExportBackend",
            pool="cpu",
            features=(Feature("glb"), Feature("draco"), Feature("ktx2"), Feature("fbx", requires=(BPY,))),
        ),
        "blender": BackendSpec(
            "services.export.backends.blender:BlenderExportBackend",
            pool="cpu",
            requires=(BPY,),
            features=(Feature("glb"), Feature("draco"), Feature("fbx", requires=(BPY,))),
            options=BlenderGlbOptions,
        ),
    },
    default_backend="gltf",
    options=ExportOptions,
    precheck="services.export.gates:check_source",
    gate="services.export.gates:check_export",
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
