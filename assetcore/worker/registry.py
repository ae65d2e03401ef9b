"""Step services are found by name through the `assetcore.steps` entry points.

The platform never imports a service module directly (services depend on the platform,
not the other way); pyproject.toml registers each `services.<step>.step:STEP`.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.metadata import entry_points

from assetcore.config import Settings
from assetcore.worker.backend import (
    BackendInfo,
    Progress,
    StepBackend,
    StepDefinition,
    StepOutput,
    StepRequest,
)
from assetcore.worker.noop import NoopBackend

NOOP = "noop"


class UnknownStep(LookupError):
    pass


class UnknownBackend(LookupError):
    pass


@dataclass
class HostedStep:
    """A step definition with its configured backend, loaded or not."""

    definition: StepDefinition
    backend_name: str
    backend: StepBackend
    loaded: bool = False

    @property
    def name(self) -> str:
        return self.definition.name

    def info(self) -> BackendInfo:
        return self.backend.describe()

    def run(self, request: StepRequest, progress: Progress) -> StepOutput:
        """The step function around the backend; noop skips it (it checks real outputs)."""
        if self.backend_name == NOOP:
            return self.backend.run(request, progress)
        return self.definition.run(self.backend, request, progress)

    def wanted_inputs(self, available: list[str]) -> list[str]:
        """The input names to fetch: what the step consumes (noop takes everything to pass it on)."""
        if self.backend_name == NOOP:
            return available
        return [name for name in self.definition.consumes if name in available]

    def backend_names(self) -> list[str]:
        return sorted({*self.definition.backends, NOOP})


def step_definitions() -> dict[str, StepDefinition]:
    found = {}
    for ep in entry_points(group="assetcore.steps"):
        definition = ep.load()
        if not isinstance(definition, StepDefinition):
            raise TypeError(f"entry point {ep.name} is not a StepDefinition")
        found[ep.name] = definition
    return found


def host_step(definition: StepDefinition, settings: Settings) -> HostedStep:
    name = settings.backends.get(definition.name, definition.default_backend)
    if name == NOOP:
        return HostedStep(definition, NOOP, NoopBackend())
    factory = definition.backends.get(name)
    if factory is None:
        known = ", ".join(sorted({*definition.backends, NOOP}))
        raise UnknownBackend(f"step {definition.name} has no backend {name!r} (known: {known})")
    return HostedStep(definition, name, factory())


def host_steps(names: list[str], settings: Settings) -> list[HostedStep]:
    definitions = step_definitions()
    missing = [n for n in names if n not in definitions]
    if missing:
        raise UnknownStep(f"unknown step(s): {', '.join(missing)} (known: {', '.join(sorted(definitions))})")
    return [host_step(definitions[n], settings) for n in names]
