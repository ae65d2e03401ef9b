"""What a step declares, once, in its own module: `StepDefinition`.

Everything else derives from the declarations (see catalog.py): the step list, pipeline
checks, review-gate aliases, option validation at CreateJob, the options' JSON Schema, the
CLI's choices, deploy's topology and cost pools, the library's file names and the checks of
what a deployment offers. Backends are named by import path and imported only where they
are hosted, so reading the declarations (the orchestrator, deploy, the CLI) stays cheap.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import Any, Literal, Protocol, TypeVar

from assetcore.models.store import ModelStore
from assetcore.proto.v1 import job_pb2
from assetcore.steps.options import NoOptions, StepOptions
from assetcore.worker.backend import BackendContext, StepBackend, StepOutput, StepRequest
from assetcore.worker.noop import NoopBackend, NoopOptions

T = TypeVar("T")
Pool = Literal["gpu", "cpu"]
# Checks the backend's output (raise StepError); runs for every backend, noop included.
Gate = Callable[[StepOutput, StepRequest], None]
# Checks the request before the backend runs (inputs that make the work impossible).
Precheck = Callable[[StepRequest], None]
# The features a job asks of the step: feature name -> the input field that asks for it.
Needs = Callable[[job_pb2.JobInput, StepOptions], Mapping[str, str]]
# Writes the defaults of the job fields the step reads into the resolved job (CreateJob), so
# the stored job says exactly what was built.
JobDefaults = Callable[[job_pb2.JobInput], None]


def resolve(ref: str | Callable[..., T]) -> Callable[..., T]:
    """A callable named by "package.module:attribute" (imported on first use), or itself."""
    if not isinstance(ref, str):
        return ref
    return _imported(ref)


@lru_cache(maxsize=512)
def _imported(ref: str) -> Callable[..., Any]:
    module, _, attr = ref.partition(":")
    found: Callable[..., Any] = getattr(importlib.import_module(module), attr)
    return found


class Requirement(Protocol):
    @property
    def label(self) -> str:
        """What a person calls it: "Blender (bpy)"."""

    def missing(self) -> str | None:
        """Why the requirement does not hold where this runs, or None when it holds."""


@dataclass(frozen=True)
class PythonModule:
    """An importable Python module, e.g. bpy for the Blender backends."""

    module: str
    label: str  # what a person calls it: "Blender (bpy)"

    def missing(self) -> str | None:
        if importlib.util.find_spec(self.module) is None:
            return f"{self.label} is not installed (Python module {self.module!r})"
        return None


@dataclass(frozen=True)
class Feature:
    """Something a backend can deliver, possibly only where its requirements hold."""

    name: str
    requires: tuple[Requirement, ...] = ()

    def missing(self) -> list[str]:
        return [reason for r in self.requires if (reason := r.missing()) is not None]


@dataclass(frozen=True)
class ModelUse:
    """A model a backend loads from the store (assetcore/models/store.py)."""

    name: str  # the store's folder name: "sdxl-base"
    # "package.module:function" writing a tiny random-weight model of the same architecture
    # into a folder, in the layout production reads (scripts/make_tiny_models.py calls it).
    tiny: str
    optional: bool = False  # used when the store has it (e.g. a refiner), skipped otherwise


@dataclass(frozen=True)
class BackendSpec:
    # "package.module:Class", imported when hosted; called with a BackendContext when the
    # backend uses models, with no argument otherwise.
    factory: str | Callable[..., StepBackend]
    pool: Pool = "cpu"  # the capacity it runs on in production: prices its time
    requires: tuple[Requirement, ...] = ()  # needed to run at all
    features: tuple[Feature, ...] = ()
    options: type[StepOptions] | None = None  # backend-only options, besides the step's own
    models: tuple[ModelUse, ...] = ()  # weights it loads from the model store

    def create(self, context: BackendContext | None = None) -> StepBackend:
        factory = resolve(self.factory)
        made: StepBackend = factory(context or BackendContext(ModelStore(None))) if self.models else factory()
        return made

    def missing_models(self, context: BackendContext) -> list[str]:
        """Why required models cannot load from the context's store (manifests only)."""
        return [
            reason
            for use in self.models
            if not use.optional and (reason := context.store.missing(use.name)) is not None
        ]

    def available_features(self) -> tuple[str, ...]:
        """The features whose requirements hold in this process."""
        return tuple(f.name for f in self.features if not f.missing())


@dataclass(frozen=True)
class Resources:
    """Deploy sizing. backlog_per_task is the scaling target: messages waiting per running task
    that still meets the step's latency goal (goal seconds / seconds per message)."""

    cpu: int = 1024  # Fargate CPU units when the step runs on CPU (1024 = 1 vCPU)
    memory_mib: int = 2048
    min_tasks: int = 0
    max_tasks: int = 10
    backlog_per_task: float = 4.0


@dataclass(frozen=True)
class StepDefinition:
    name: str
    description: str
    consumes: tuple[str, ...]  # artifact names read from ancestors' outputs (or job attachments)
    produces: tuple[str, ...]  # artifact names it may output; anything else is a bug
    backends: Mapping[str, BackendSpec]
    default_backend: str
    options: type[StepOptions] = NoOptions
    required_inputs: tuple[str, ...] = ()  # consumed inputs without which it cannot run
    # Checks run where the step runs, named by import path ("services.x.gates:check") like the
    # backends: reading the declarations never imports what they need (numpy, meshes, ...).
    precheck: str | Precheck | None = None
    gate: str | Gate | None = None
    needs: Needs | None = None
    job_defaults: JobDefaults | None = None
    reads: tuple[str, ...] = ()  # JobInput fields it reads besides the prompt: "animation", "export"
    interactive: bool = False  # taken before batch work; keeps a warm task in production
    # Deployed only where configured (Settings.steps names it or Settings.backends picks its
    # backend): for steps with no backend that runs without models, e.g. multiview.
    opt_in: bool = False
    gate_aliases: tuple[str, ...] = ()  # review-gate names besides the step's: "concept", "mesh"
    # The output a reviewer may replace with one of the step's other outputs named
    # "candidate_<k>" (ReviewStep's choice): tti's "image". None: no choices.
    candidates_for: str | None = None
    library_files: Mapping[str, str] = field(default_factory=dict)  # artifact -> library suffix
    resources: Resources = Resources()
    done_message: str = "done"

    def backend(self, name: str) -> BackendSpec:
        """The named backend; `noop` is every step's (runtime tests and benchmarks)."""
        if name == NOOP:
            return NOOP_BACKEND
        spec = self.backends.get(name)
        if spec is None:
            raise UnknownBackend(
                f"step {self.name} has no backend {name!r} (known: {', '.join(self.backend_names())})"
            )
        return spec

    def backend_names(self) -> list[str]:
        return sorted({*self.backends, NOOP})

    def options_model(self, backend: str) -> type[StepOptions]:
        extra = self.backend(backend).options
        if extra is None:
            return self.options
        return self._combined_models[backend]

    @cached_property
    def _combined_models(self) -> dict[str, type[StepOptions]]:
        combined: dict[str, type[StepOptions]] = {}
        for name in self.backend_names():
            extra = self.backend(name).options
            if extra is not None:
                title = f"{self.name.capitalize()}{name.capitalize()}Options"
                combined[name] = type(title, (self.options, extra), {"__module__": __name__})
        return combined

    def default_pool(self) -> Pool:
        return self.backends[self.default_backend].pool


class UnknownBackend(LookupError):
    pass


NOOP = "noop"
NOOP_BACKEND = BackendSpec(factory=NoopBackend, pool="cpu", options=NoopOptions)
