"""A synthetic probe of the control plane: noop steps shaped like the character pipeline.

Opt in with ASSETCORE_PLUGINS='["assetcore.steps.probe"]'. The `probe` pipeline runs seven
noop steps with the character pipeline's dependencies and outputs (interactive first, an input
file travelling to `motion`, deliverables with library names), each reading its one main
input; `probe_prop` and `probe_short` mirror the prop and concept pipelines, so a deployment
running only the probe steps resolves every asset type. Each step goes through the real
queue, worker, step function and gate, and costs no compute: benchmarks of the control
plane, its tests, and smoke checks of a deployment.
Its steps' noop options (sleep_s, ticks, fail_code, ...) shape the work.
"""

from __future__ import annotations

from collections.abc import Mapping

from assetcore.proto.v1 import job_pb2
from assetcore.steps.contract import NOOP, StepDefinition
from assetcore.steps.pipeline import Pipeline, chain
from assetcore.worker.backend import ErrorCode, StepError, StepOutput, StepRequest


def outputs_present(output: StepOutput, request: StepRequest) -> None:
    """The probe's gate: every declared output came back, none empty."""
    files = {f.name: f for f in output.files}
    for name in request.produces:
        if name not in files or not files[name].data:
            raise StepError(ErrorCode.INTERNAL, f"{request.step}: output {name!r} is missing or empty")


def _probe(
    name: str,
    consumes: tuple[str, ...],
    produces: tuple[str, ...],
    *,
    interactive: bool = False,
    reads: tuple[str, ...] = (),
    library_files: Mapping[str, str] | None = None,
) -> StepDefinition:
    return StepDefinition(
        name=name,
        description=f"probe step {name} (noop)",
        consumes=consumes,
        produces=produces,
        backends={},
        default_backend=NOOP,
        required_inputs=consumes[:1] if consumes else (),
        gate=outputs_present,
        interactive=interactive,
        reads=reads,
        library_files=library_files or {},
    )


STEPS = (
    _probe("sketch", (), ("image",), interactive=True),
    _probe("touchup", ("image",), ("image",), interactive=True),
    _probe("shape", ("image",), ("mesh",)),
    _probe("topo", ("mesh",), ("mesh", "lod1", "lod2")),
    _probe("bones", ("mesh",), ("rigged", "lod1", "lod2"), reads=("constraints.rig_type",)),
    _probe("motion", ("rigged", "bvh"), ("animated",), reads=("animation",)),
    _probe(
        "pack",
        ("animated",),
        ("glb", "lod1_glb", "lod2_glb", "manifest"),
        reads=("export",),
        library_files={"glb": ".glb", "lod1_glb": "_lod1.glb", "lod2_glb": "_lod2.glb"},
    ),
)

PIPELINES = (
    Pipeline(
        "probe",
        "Control-plane probe: seven noop steps shaped like the character pipeline",
        job_pb2.ASSET_TYPE_CHARACTER,
        chain("sketch", "touchup", "shape", "topo", "bones", "motion", "pack"),
    ),
    Pipeline(
        "probe_prop",
        "Control-plane probe: five noop steps shaped like the prop pipeline",
        job_pb2.ASSET_TYPE_PROP,
        chain("sketch", "touchup", "shape", "topo", "pack"),
    ),
    Pipeline(
        "probe_short",
        "Control-plane probe: two interactive noop steps",
        job_pb2.ASSET_TYPE_CONCEPT,
        chain("sketch", "touchup"),
    ),
)
