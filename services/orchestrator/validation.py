"""Job input validation and resolution: every check names the field it failed on.

`resolve_input` returns a copy of the input with every default made explicit (pipeline,
asset and rig type inferred from the prompt, seed, platform, name, and what each step's
declaration fills in: formats, fps, clips), so the stored job says exactly what was built.
Each step's options are parsed here with the step's own model, and what the job asks of a
step (FBX from export) is checked against what the deployment offers, so a bad job is
refused before anything is queued.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass

from assetcore.errors import SAFETY_REJECTED, FailedPrecondition, InvalidArgument, excerpt
from assetcore.ids import is_valid_id
from assetcore.prompting import analyse_prompt
from assetcore.proto.v1 import job_pb2
from assetcore.safety.policy import PromptPolicy
from assetcore.steps.catalog import Catalog, NoPipeline, OptionsInvalid, prompt_text
from assetcore.steps.contract import StepDefinition
from assetcore.steps.pipeline import Pipeline

MAX_PROMPT_BYTES = 4096
MAX_SEED = 2**31 - 1
POLY_BUDGET_RANGE = (100, 1_000_000)
MAX_BVH_BYTES = 8 * 1024 * 1024
MAX_STEP_OPTIONS_BYTES = 16 * 1024
MAX_TAGS = 32
TAG_RE = re.compile(r"^[a-z0-9][a-z0-9 _\-]{0,63}$")
RIG_TYPE_FIELD = "constraints.rig_type"
FEATURE_UNAVAILABLE = "FEATURE_UNAVAILABLE"


@dataclass(frozen=True)
class Offer:
    """What the deployment's workers of a step offer: their backend(s) and features."""

    backends: tuple[str, ...]
    features: frozenset[str]


def _check_enum(value: int, enum: object, field: str) -> None:
    if value not in enum.values():  # type: ignore[attr-defined]
        raise InvalidArgument(f"unknown value {value}", field=field)


def check_prompt(job: job_pb2.JobInput) -> None:
    """The prompt's shape: present and within its size limits."""
    if not job.prompt.concept.strip():
        raise InvalidArgument("the prompt is empty", field="input.prompt.concept")
    sizes = {
        "input.prompt.concept": job.prompt.concept,
        "input.prompt.style": job.prompt.style,
        "input.prompt.details": job.prompt.details,
        "input.negative_prompt": job.negative_prompt,
    }
    for field, text in sizes.items():
        if len(text.encode()) > MAX_PROMPT_BYTES:
            raise InvalidArgument(f"longer than {MAX_PROMPT_BYTES} bytes", field=field)
    if sum(len(t.encode()) for t in sizes.values()) > MAX_PROMPT_BYTES:
        raise InvalidArgument(f"prompt parts together exceed {MAX_PROMPT_BYTES} bytes", field="input.prompt")


def check_safety(job: job_pb2.JobInput, policy: PromptPolicy) -> None:
    """The prompt policy over what the job will draw and be named: each field alone (the refusal
    names it), then all together (a rule spanning fields). The negative prompt is not checked:
    it names what must not be drawn. SAFETY_REJECTED names the category, not the words."""
    fields = {
        "input.prompt.concept": job.prompt.concept,
        "input.prompt.style": job.prompt.style,
        "input.prompt.details": job.prompt.details,
        "input.name": job.name,
    }
    for field, text in [*fields.items(), ("input.prompt", " ".join(fields.values()))]:
        if (found := policy.violation(text)) is not None:
            raise InvalidArgument(
                f"the prompt falls under the content policy's category {found.label!r} ({found.hint})",
                field=field,
                code=SAFETY_REJECTED,
            )


def _pipeline(job: job_pb2.JobInput, catalog: Catalog) -> Pipeline:
    try:
        return catalog.pipeline_of(job)
    except NoPipeline as exc:
        raise InvalidArgument(str(exc), field=exc.field) from None


def _reads(catalog: Catalog, pipeline: Pipeline, field: str) -> bool:
    return any(field in catalog.steps[name].reads for name in pipeline.step_names)


def _rig_type(job: job_pb2.JobInput, pipeline: Pipeline, catalog: Catalog) -> job_pb2.RigType:
    requested = job.constraints.rig_type
    if not _reads(catalog, pipeline, RIG_TYPE_FIELD):
        if requested not in (job_pb2.RIG_TYPE_UNSPECIFIED, job_pb2.RIG_TYPE_STATIC):
            raise InvalidArgument(
                f"the {pipeline.name} pipeline has no rig step", field="input.constraints.rig_type"
            )
        return job_pb2.RIG_TYPE_STATIC
    if requested == job_pb2.RIG_TYPE_STATIC:
        raise InvalidArgument(
            "a character needs a humanoid or quadruped rig; use the prop pipeline for static assets",
            field="input.constraints.rig_type",
        )
    if requested != job_pb2.RIG_TYPE_UNSPECIFIED:
        return requested
    category = analyse_prompt(prompt_text(job.prompt)).category
    return job_pb2.RIG_TYPE_QUADRUPED if category == "quadruped" else job_pb2.RIG_TYPE_HUMANOID


def _default_seed(job: job_pb2.JobInput) -> int:
    """Same prompt, same seed: an unseeded prompt always yields the same asset (and cache hits)."""
    digest = hashlib.sha256(prompt_text(job.prompt).encode() + b"\0" + job.negative_prompt.encode()).digest()
    return int.from_bytes(digest[:4], "big") & MAX_SEED


def _check_unread_fields(job: job_pb2.JobInput, pipeline: Pipeline, catalog: Catalog) -> None:
    """Fields only some steps read are refused when no step of the pipeline reads them."""
    anim, export = job.animation, job.export
    if (anim.clips or anim.bvh or anim.fps or anim.in_place) and not _reads(catalog, pipeline, "animation"):
        raise InvalidArgument(f"the {pipeline.name} pipeline makes no animation", field="input.animation")
    if (export.formats or export.engine or export.draco) and not _reads(catalog, pipeline, "export"):
        raise InvalidArgument(f"the {pipeline.name} pipeline exports no model", field="input.export")


def _check_bvh(job: job_pb2.JobInput, rig_type: int) -> None:
    bvh = job.animation.bvh
    if len(bvh) > MAX_BVH_BYTES:
        raise InvalidArgument(f"larger than {MAX_BVH_BYTES} bytes", field="input.animation.bvh")
    if bvh:
        head = bvh[:4096].lstrip().upper()
        if not head.startswith(b"HIERARCHY") or b"MOTION" not in bvh.upper():
            raise InvalidArgument("not a BVH file (HIERARCHY ... MOTION)", field="input.animation.bvh")
        if rig_type != job_pb2.RIG_TYPE_HUMANOID:
            raise InvalidArgument("BVH motion retargets onto humanoid rigs only", field="input.animation.bvh")


def _check_library(job: job_pb2.JobInput) -> list[str]:
    if len(job.name) > 200:
        raise InvalidArgument("longer than 200 characters", field="input.name")
    if len(job.tags) > MAX_TAGS:
        raise InvalidArgument(f"more than {MAX_TAGS} tags", field="input.tags")
    tags = []
    for i, tag in enumerate(job.tags):
        normal = tag.strip().lower()
        if not TAG_RE.match(normal):
            raise InvalidArgument(
                "tags are 1-64 characters of letters, digits, space, '-' and '_'", field=f"input.tags[{i}]"
            )
        tags.append(normal)
    if job.asset_id and not is_valid_id("ast", job.asset_id):
        raise InvalidArgument(f"malformed asset id {excerpt(job.asset_id)!r}", field="input.asset_id")
    return list(dict.fromkeys(tags))


def _check_step_options(job: job_pb2.JobInput, pipeline: Pipeline) -> None:
    for step in job.step_options:
        if step not in pipeline.step_names:
            steps = ", ".join(pipeline.step_names)
            raise InvalidArgument(
                f"the {pipeline.name} pipeline has no step {excerpt(step)!r} (steps: {steps})",
                field=f"input.step_options.{step[:60]}",
            )
    size = sum(len(v.SerializeToString()) for v in job.step_options.values())
    if size > MAX_STEP_OPTIONS_BYTES:
        raise InvalidArgument(f"larger than {MAX_STEP_OPTIONS_BYTES} bytes", field="input.step_options")


def check_steps(
    job: job_pb2.JobInput,
    pipeline: Pipeline,
    catalog: Catalog,
    backends: Mapping[str, str],
    offers: Mapping[str, Offer],
) -> None:
    """Each step's options parse with its configured backend's model, and what the job needs
    of each step is offered by the deployment's workers of that step."""
    for name in pipeline.step_names:
        backend = catalog.backend_name(name, backends)
        try:
            options = catalog.parse_options(name, backend, job)
        except OptionsInvalid as exc:
            problem = exc.problems[0]
            raise InvalidArgument(problem.message, field=problem.field, code=problem.code) from None
        definition = catalog.steps[name]
        if definition.needs is None:
            continue
        offer = offers.get(name)
        for feature, field in definition.needs(job, options).items():
            if offer is not None and feature not in offer.features:
                offered = ", ".join(sorted(offer.features)) or "nothing"
                workers = ", ".join(offer.backends)
                raise FailedPrecondition(
                    f"this deployment's {name} workers ({workers}) cannot make {feature}: they offer "
                    f"{offered}; {feature} {_requirements(definition, feature)}",
                    field=field,
                    code=FEATURE_UNAVAILABLE,
                )


def _requirements(definition: StepDefinition, feature: str) -> str:
    labels = sorted(
        {
            r.label
            for spec in definition.backends.values()
            for f in spec.features
            if f.name == feature
            for r in f.requires
        }
    )
    return f"needs {' and '.join(labels)}" if labels else "is declared by no backend of the step"


def resolve_input(
    job: job_pb2.JobInput,
    catalog: Catalog,
    backends: Mapping[str, str] | None = None,
    offers: Mapping[str, Offer] | None = None,
) -> tuple[job_pb2.JobInput, Pipeline, list[str]]:
    """Validate and fill defaults. Returns (resolved input, pipeline, gated step names).

    `backends`: the deployment's step -> backend (Settings.backends); `offers`: what its
    workers registered (steps without registrations are not checked for features)."""
    check_prompt(job)
    _check_enum(job.asset_type, job_pb2.AssetType, "input.asset_type")
    _check_enum(job.constraints.platform, job_pb2.Platform, "input.constraints.platform")
    _check_enum(job.constraints.rig_type, job_pb2.RigType, "input.constraints.rig_type")
    _check_enum(job.priority, job_pb2.Priority, "input.priority")
    if job.HasField("seed") and not 0 <= job.seed <= MAX_SEED:
        raise InvalidArgument(f"must be within 0..{MAX_SEED}", field="input.seed")
    budget = job.constraints.poly_budget
    if job.constraints.HasField("poly_budget") and not POLY_BUDGET_RANGE[0] <= budget <= POLY_BUDGET_RANGE[1]:
        low, high = POLY_BUDGET_RANGE
        raise InvalidArgument(f"must be within {low}..{high} faces", field="input.constraints.poly_budget")
    pipeline = _pipeline(job, catalog)
    rig_type = _rig_type(job, pipeline, catalog)
    _check_unread_fields(job, pipeline, catalog)
    _check_bvh(job, rig_type)
    tags = _check_library(job)
    _check_step_options(job, pipeline)
    gates = []
    for i, gate in enumerate(job.review_gates):
        step = catalog.resolve_gate(pipeline, gate)
        if step is None:
            raise InvalidArgument(
                f"no step {excerpt(gate)!r} in the {pipeline.name} pipeline"
                f" (steps: {', '.join(pipeline.step_names)})",
                field=f"input.review_gates[{i}]",
            )
        gates.append(step)

    resolved = job_pb2.JobInput()
    resolved.CopyFrom(job)
    resolved.pipeline = pipeline.name
    resolved.asset_type = pipeline.asset_type
    resolved.constraints.rig_type = rig_type
    if resolved.constraints.platform == job_pb2.PLATFORM_UNSPECIFIED:
        resolved.constraints.platform = job_pb2.PLATFORM_PC
    if resolved.priority == job_pb2.PRIORITY_UNSPECIFIED:
        resolved.priority = job_pb2.PRIORITY_NORMAL
    if not resolved.HasField("seed"):
        resolved.seed = _default_seed(job)
    del resolved.tags[:]
    resolved.tags.extend(tags)
    del resolved.review_gates[:]
    resolved.review_gates.extend(dict.fromkeys(gates))
    resolved.name = job.name.strip() or job.prompt.concept.strip()[:80]
    check_steps(resolved, pipeline, catalog, backends or {}, offers or {})
    for name in pipeline.step_names:
        fill = catalog.steps[name].job_defaults
        if fill is not None:
            fill(resolved)
    return resolved, pipeline, list(dict.fromkeys(gates))
