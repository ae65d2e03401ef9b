"""The catalog: every declared step and pipeline, found by name, checked once.

Steps come from the `assetcore.steps` entry points (name -> StepDefinition) and pipelines
from `assetcore.pipelines` (name -> a Pipeline or a sequence of them); `Settings.plugins`
names more modules whose `STEPS` and `PIPELINES` join them (a step or pipeline kept outside
the installed package: a test's, a studio's). The platform never imports a service module by
name: the declarations say what exists.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import import_module
from importlib.metadata import entry_points
from typing import Any

from google.protobuf.json_format import MessageToDict
from pydantic import ValidationError

from assetcore.config import Settings
from assetcore.prompting import analyse_prompt
from assetcore.proto.v1 import job_pb2
from assetcore.steps.contract import StepDefinition
from assetcore.steps.options import OptionError, StepOptions, option_problems
from assetcore.steps.pipeline import Pipeline


class CatalogError(ValueError):
    """The declarations contradict each other (a pipeline names an unknown step, ...)."""


class UnknownStep(LookupError):
    pass


class NoPipeline(LookupError):
    """The job names no pipeline this deployment has, or none makes its asset type."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field  # the job input's field at fault


@dataclass(frozen=True)
class OptionProblem:
    field: str  # full path from the request: input.step_options.retopo.face_target
    message: str
    code: str | None = None  # the API error code, when not INVALID_ARGUMENT (OptionError.code)


class OptionsInvalid(ValueError):
    def __init__(self, problems: Sequence[OptionProblem]) -> None:
        first = problems[0]
        super().__init__(f"{first.field}: {first.message}")
        self.problems = list(problems)


def prompt_text(prompt: job_pb2.Prompt) -> str:
    """The prompt's words: concept, style and details."""
    return " ".join(p for p in (prompt.concept, prompt.style, prompt.details) if p).strip()


@dataclass(frozen=True)
class Catalog:
    steps: Mapping[str, StepDefinition]  # pipeline order: the first pipeline's steps first
    pipelines: Mapping[str, Pipeline]

    @property
    def step_names(self) -> tuple[str, ...]:
        return tuple(self.steps)

    def step(self, name: str) -> StepDefinition:
        found = self.steps.get(name)
        if found is None:
            raise UnknownStep(f"unknown step {name!r} (known: {', '.join(self.steps)})")
        return found

    def pipeline_for(self, asset_type: job_pb2.AssetType) -> Pipeline | None:
        """The first pipeline declared for the asset type."""
        return next((p for p in self.pipelines.values() if p.asset_type == asset_type), None)

    def pipeline_of(self, job: job_pb2.JobInput) -> Pipeline:
        """The pipeline the job names, else the first for its asset type (a prop or a character,
        from the prompt, when unspecified). Raises NoPipeline naming the field at fault."""
        if job.pipeline:
            if job.pipeline not in self.pipelines:
                known = ", ".join(sorted(self.pipelines))
                raise NoPipeline(f"unknown pipeline {job.pipeline!r} (known: {known})", "input.pipeline")
            return self.pipelines[job.pipeline]
        asset_type = job.asset_type
        if asset_type == job_pb2.ASSET_TYPE_UNSPECIFIED:
            category = analyse_prompt(prompt_text(job.prompt)).category
            asset_type = job_pb2.ASSET_TYPE_PROP if category == "prop" else job_pb2.ASSET_TYPE_CHARACTER
        pipeline = self.pipeline_for(asset_type)
        if pipeline is None:
            raise NoPipeline("no pipeline makes this asset type", "input.asset_type")
        return pipeline

    def resolve_gate(self, pipeline: Pipeline, gate: str) -> str | None:
        """A review-gate name (a step's name or one of its aliases) -> the step, if in the pipeline."""
        for name in pipeline.step_names:
            if gate == name or gate in self.steps[name].gate_aliases:
                return name
        return None

    def file_suffix(self, artifact: str) -> str | None:
        """The library's file-name suffix of an artifact, as its producing step declares it."""
        for step in self.steps.values():
            if artifact in step.library_files:
                return step.library_files[artifact]
        return None

    def only(self, names: Iterable[str]) -> Catalog:
        """The catalog of a deployment that runs only these steps (and the pipelines they make up)."""
        wanted = set(names)
        unknown = sorted(wanted - set(self.steps))
        if unknown:
            raise UnknownStep(f"unknown step(s) {unknown} (known: {', '.join(self.steps)})")
        return Catalog(
            steps={n: s for n, s in self.steps.items() if n in wanted},
            pipelines={n: p for n, p in self.pipelines.items() if set(p.step_names) <= wanted},
        )

    def backend_name(self, step: str, configured: Mapping[str, str]) -> str:
        return configured.get(step, self.step(step).default_backend)

    def parse_options(
        self, step: str, backend: str, job: job_pb2.JobInput, params: Mapping[str, Any] | None = None
    ) -> StepOptions:
        return parse_options(self.step(step), backend, job, params)


def parse_options(
    definition: StepDefinition, backend: str, job: job_pb2.JobInput, params: Mapping[str, Any] | None = None
) -> StepOptions:
    """The step's options for this job, as the backend's model (`params` default to the job's
    step_options[step]); OptionsInvalid names each bad field by its full path."""
    step = definition.name
    if params is None:
        params = MessageToDict(job.step_options[step]) if step in job.step_options else {}
    model = definition.options_model(backend)
    if not params and _reads_no_job(model):
        return _defaults(model)  # the common case on the hot path: nothing to check
    try:
        return model.resolve(job, params)
    except ValidationError as exc:
        prefix = f"input.step_options.{step}"
        raise OptionsInvalid(
            [OptionProblem(f"{prefix}.{path}" if path else prefix, m) for path, m in option_problems(exc)]
        ) from None
    except OptionError as exc:
        raise OptionsInvalid([OptionProblem(exc.field, exc.message, exc.code)]) from None


def _reads_no_job(model: type[StepOptions]) -> bool:
    return model.resolve.__func__ is StepOptions.resolve.__func__  # type: ignore[attr-defined]


@lru_cache(maxsize=256)
def _defaults(model: type[StepOptions]) -> StepOptions:
    """A model's options when none are given (models are frozen: one instance serves all)."""
    return model.model_validate({})


def _pipelines_of(value: object, source: str) -> list[Pipeline]:
    items = [value] if isinstance(value, Pipeline) else list(value)  # type: ignore[call-overload]
    for item in items:
        if not isinstance(item, Pipeline):
            raise CatalogError(f"{source}: {item!r} is not a Pipeline")
    return items


def _gather() -> tuple[list[StepDefinition], list[Pipeline]]:
    steps, pipelines = [], []
    for ep in entry_points(group="assetcore.steps"):
        definition = ep.load()
        if not isinstance(definition, StepDefinition):
            raise CatalogError(f"entry point assetcore.steps:{ep.name} is not a StepDefinition")
        if definition.name != ep.name:
            raise CatalogError(f"entry point assetcore.steps:{ep.name} declares step {definition.name!r}")
        steps.append(definition)
    for ep in entry_points(group="assetcore.pipelines"):
        pipelines.extend(_pipelines_of(ep.load(), f"entry point assetcore.pipelines:{ep.name}"))
    return steps, pipelines


def _plugin(module_name: str) -> tuple[list[StepDefinition], list[Pipeline]]:
    try:
        module = import_module(module_name)
    except ImportError as exc:
        raise CatalogError(f"plugin {module_name!r} cannot be imported: {exc}") from exc
    steps = list(getattr(module, "STEPS", ()))
    for step in steps:
        if not isinstance(step, StepDefinition):
            raise CatalogError(f"plugin {module_name}: STEPS holds {step!r}, not a StepDefinition")
    return steps, _pipelines_of(getattr(module, "PIPELINES", ()), f"plugin {module_name}")


def _check(steps: Mapping[str, StepDefinition], pipelines: Iterable[Pipeline]) -> None:
    for step in steps.values():
        if step.default_backend not in step.backend_names():
            raise CatalogError(f"step {step.name}: default backend {step.default_backend!r} is not declared")
        unknown = set(step.required_inputs) - set(step.consumes)
        if unknown:
            raise CatalogError(f"step {step.name}: required inputs {sorted(unknown)} are not consumed")
    for pipeline in pipelines:
        seen: set[str] = set()
        for spec in pipeline.steps:
            if spec.name not in steps:
                raise CatalogError(f"pipeline {pipeline.name}: unknown step {spec.name!r}")
            if spec.name in seen:
                raise CatalogError(f"pipeline {pipeline.name}: step {spec.name!r} appears twice")
            later = [d for d in spec.depends_on if d not in seen]
            if later:
                raise CatalogError(
                    f"pipeline {pipeline.name}: {spec.name} depends on {later}, which do not come before it"
                )
            seen.add(spec.name)


def build_catalog(steps: Iterable[StepDefinition], pipelines: Iterable[Pipeline]) -> Catalog:
    by_name: dict[str, StepDefinition] = {}
    for step in steps:
        if step.name in by_name and by_name[step.name] is not step:
            raise CatalogError(f"step {step.name!r} is declared twice")
        by_name[step.name] = step
    pipeline_map: dict[str, Pipeline] = {}
    for pipeline in pipelines:
        if pipeline.name in pipeline_map:
            raise CatalogError(f"pipeline {pipeline.name!r} is declared twice")
        pipeline_map[pipeline.name] = pipeline
    _check(by_name, pipeline_map.values())
    order = [name for p in pipeline_map.values() for name in p.step_names]
    order += sorted(by_name)
    ordered = {name: by_name[name] for name in dict.fromkeys(order)}
    return Catalog(steps=ordered, pipelines=pipeline_map)


@lru_cache(maxsize=8)
def load_catalog(plugins: tuple[str, ...] = ()) -> Catalog:
    """The installed declarations plus the plugins' (cached per plugin list)."""
    steps, pipelines = _gather()
    for module_name in plugins:
        more_steps, more_pipelines = _plugin(module_name)
        steps += more_steps
        pipelines += more_pipelines
    return build_catalog(steps, pipelines)


def catalog_for(settings: Settings) -> Catalog:
    """The catalog this deployment runs: the installed declarations and its plugins', less the
    steps it leaves out (Settings.steps; by default every step but the opt-in ones whose
    backend it does not configure) and the pipelines that need those."""
    catalog = load_catalog(tuple(settings.plugins))
    if settings.steps is not None:
        return catalog.only(settings.steps)
    left_out = [n for n, s in catalog.steps.items() if s.opt_in and n not in settings.backends]
    return catalog.only(n for n in catalog.steps if n not in left_out) if left_out else catalog
