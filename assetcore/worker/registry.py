"""The steps a worker node hosts: each step's declaration with its configured backend.

Declarations come from the catalog (assetcore.steps.catalog); configuration
(`Settings.backends`) picks each step's backend, the declared default otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass

from assetcore.config import Settings
from assetcore.models.store import ModelError, ModelStore
from assetcore.steps.catalog import UnknownStep, catalog_for
from assetcore.steps.contract import BackendSpec, StepDefinition
from assetcore.steps.runner import run_step
from assetcore.worker.backend import (
    BackendContext,
    BackendInfo,
    ErrorCode,
    Progress,
    StepBackend,
    StepError,
    StepOutput,
    StepRequest,
)


@dataclass
class HostedStep:
    """A step definition with its configured backend, loaded or not."""

    definition: StepDefinition
    backend_name: str
    spec: BackendSpec
    backend: StepBackend
    context: BackendContext
    pool: str  # where it runs: prices its time (the deployment's placement, else the backend's pool)
    loaded: bool = False

    @property
    def name(self) -> str:
        return self.definition.name

    def info(self) -> BackendInfo:
        return self.backend.describe()

    def load(self) -> None:
        """Check the backend's requirements and models, then load it (once per process; may take
        minutes). Refuses with BACKEND_UNAVAILABLE naming what is missing or which file is wrong."""
        missing = [reason for r in self.spec.requires if (reason := r.missing()) is not None]
        missing += self.spec.missing_models(self.context)
        if missing:
            raise self._unavailable("; ".join(missing))
        try:
            self.backend.load()
        except ModelError as exc:
            raise self._unavailable(str(exc)) from exc

    def _unavailable(self, reason: str) -> StepError:
        where = f"step {self.name}, backend {self.backend_name}"
        return StepError(ErrorCode.BACKEND_UNAVAILABLE, f"{where}: {reason}")

    def features(self) -> tuple[str, ...]:
        """What this backend can deliver here (e.g. FBX only where bpy is installed)."""
        return self.spec.available_features()

    def run(self, request: StepRequest, progress: Progress) -> StepOutput:
        return run_step(self.definition, self.backend, request, progress)

    def wanted_inputs(self, available: list[str]) -> list[str]:
        """The input names to fetch: what the step consumes."""
        return [name for name in self.definition.consumes if name in available]

    def backend_names(self) -> list[str]:
        return self.definition.backend_names()


def backend_context(settings: Settings) -> BackendContext:
    return BackendContext(ModelStore(settings.model_dir), settings.ml)


def host_step(definition: StepDefinition, settings: Settings) -> HostedStep:
    name = settings.backends.get(definition.name, definition.default_backend)
    spec = definition.backend(name)
    context = backend_context(settings)
    return HostedStep(
        definition, name, spec, spec.create(context), context, pool=settings.worker.pool or spec.pool
    )


def host_steps(names: list[str], settings: Settings) -> list[HostedStep]:
    catalog = catalog_for(settings)
    missing = [n for n in names if n not in catalog.steps]
    if missing:
        raise UnknownStep(f"unknown step(s): {', '.join(missing)} (known: {', '.join(catalog.step_names)})")
    return [host_step(catalog.steps[n], settings) for n in names]
