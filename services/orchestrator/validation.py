"""Job input validation and resolution: every check names the field it failed on.

`resolve_input` returns a copy of the input with every default made explicit (pipeline,
asset and rig type inferred from the prompt, seed, platform, formats, fps, name), so the
stored job says exactly what was built, and steps never guess.
"""

from __future__ import annotations

import hashlib
import re

from assetcore.errors import InvalidArgument
from assetcore.ids import is_valid_id
from assetcore.prompting import analyse_prompt
from assetcore.proto.v1 import job_pb2
from services.orchestrator.pipelines import PIPELINE_FOR_ASSET_TYPE, PIPELINES, Pipeline, resolve_gate

MAX_PROMPT_BYTES = 4096
MAX_SEED = 2**31 - 1
POLY_BUDGET_RANGE = (100, 1_000_000)
FPS_RANGE = (1, 120)
EXPORT_FORMATS = ("glb", "fbx")
ENGINES = ("", "unity", "unreal", "godot")
MAX_BVH_BYTES = 8 * 1024 * 1024
MAX_STEP_OPTIONS_BYTES = 16 * 1024
MAX_TAGS = 32
TAG_RE = re.compile(r"^[a-z0-9][a-z0-9 _\-]{0,63}$")
# The clip vocabulary of the anim step, per rig type (the orchestrator never imports services).
CLIPS = {
    job_pb2.RIG_TYPE_HUMANOID: ("idle", "walk", "run", "jump", "attack", "wave"),
    job_pb2.RIG_TYPE_QUADRUPED: ("idle", "walk", "run"),
}


def _check_enum(value: int, enum: object, field: str) -> None:
    if value not in enum.values():  # type: ignore[attr-defined]
        raise InvalidArgument(f"unknown value {value}", field=field)


def _prompt_text(prompt: job_pb2.Prompt) -> str:
    return " ".join(p for p in (prompt.concept, prompt.style, prompt.details) if p).strip()


def _check_prompt(job: job_pb2.JobInput) -> None:
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


def check_safety(job: job_pb2.JobInput, blocked_terms: list[str]) -> None:
    """Safety policy: refuse prompts naming a blocked term (whole-word, case-insensitive)."""
    text = f"{_prompt_text(job.prompt)} {job.name}".lower()
    for term in blocked_terms:
        if re.search(rf"\b{re.escape(term.lower())}\b", text):
            raise InvalidArgument(
                "the prompt violates the content policy", field="input.prompt.concept", code="PROMPT_REJECTED"
            )


def _pipeline(job: job_pb2.JobInput) -> Pipeline:
    if job.pipeline:
        if job.pipeline not in PIPELINES:
            known = ", ".join(sorted(PIPELINES))
            raise InvalidArgument(
                f"unknown pipeline {job.pipeline!r} (known: {known})", field="input.pipeline"
            )
        return PIPELINES[job.pipeline]
    if job.asset_type != job_pb2.ASSET_TYPE_UNSPECIFIED:
        return PIPELINES[PIPELINE_FOR_ASSET_TYPE[job.asset_type]]
    category = analyse_prompt(_prompt_text(job.prompt)).category
    return PIPELINES["prop" if category == "prop" else "character"]


def _rig_type(job: job_pb2.JobInput, pipeline: Pipeline) -> job_pb2.RigType.ValueType:
    requested = job.constraints.rig_type
    if "rig" not in pipeline.step_names:
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
    category = analyse_prompt(_prompt_text(job.prompt)).category
    return job_pb2.RIG_TYPE_QUADRUPED if category == "quadruped" else job_pb2.RIG_TYPE_HUMANOID


def _default_seed(job: job_pb2.JobInput) -> int:
    """Same prompt, same seed: an unseeded prompt always yields the same asset (and cache hits)."""
    digest = hashlib.sha256(_prompt_text(job.prompt).encode() + b"\0" + job.negative_prompt.encode()).digest()
    return int.from_bytes(digest[:4], "big") & MAX_SEED


def _check_animation(job: job_pb2.JobInput, pipeline: Pipeline, rig_type: int) -> None:
    anim = job.animation
    if "anim" not in pipeline.step_names:
        if anim.clips or anim.bvh:
            raise InvalidArgument(f"the {pipeline.name} pipeline has no anim step", field="input.animation")
        return
    known = CLIPS[rig_type]
    seen = set()
    for i, clip in enumerate(anim.clips):
        if clip not in known:
            raise InvalidArgument(
                f"unknown clip {clip!r} for this rig (known: {', '.join(known)})",
                field=f"input.animation.clips[{i}]",
            )
        if clip in seen:
            raise InvalidArgument(f"clip {clip!r} listed twice", field=f"input.animation.clips[{i}]")
        seen.add(clip)
    if anim.fps and not FPS_RANGE[0] <= anim.fps <= FPS_RANGE[1]:
        raise InvalidArgument(f"must be within {FPS_RANGE[0]}..{FPS_RANGE[1]}", field="input.animation.fps")
    if len(anim.bvh) > MAX_BVH_BYTES:
        raise InvalidArgument(f"larger than {MAX_BVH_BYTES} bytes", field="input.animation.bvh")
    if anim.bvh:
        head = anim.bvh[:4096].lstrip().upper()
        if not head.startswith(b"HIERARCHY") or b"MOTION" not in anim.bvh.upper():
            raise InvalidArgument("not a BVH file (HIERARCHY ... MOTION)", field="input.animation.bvh")
        if rig_type != job_pb2.RIG_TYPE_HUMANOID:
            raise InvalidArgument("BVH motion retargets onto humanoid rigs only", field="input.animation.bvh")


def _check_export(job: job_pb2.JobInput, pipeline: Pipeline) -> list[str]:
    formats = [f.lower() for f in job.export.formats]
    for i, fmt in enumerate(formats):
        if fmt not in EXPORT_FORMATS:
            raise InvalidArgument(
                f"unknown export format {job.export.formats[i]!r} (known: {', '.join(EXPORT_FORMATS)})",
                field=f"input.export.formats[{i}]",
            )
    if job.export.engine.lower() not in ENGINES:
        raise InvalidArgument(
            f"unknown engine {job.export.engine!r} (known: unity, unreal, godot)", field="input.export.engine"
        )
    if "export" not in pipeline.step_names and (formats or job.export.engine or job.export.draco):
        raise InvalidArgument(f"the {pipeline.name} pipeline exports no model", field="input.export")
    deduped = list(dict.fromkeys(formats))
    return deduped or (["glb"] if "export" in pipeline.step_names else [])


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
        raise InvalidArgument(f"malformed asset id {job.asset_id!r}", field="input.asset_id")
    return list(dict.fromkeys(tags))


def _check_step_options(job: job_pb2.JobInput, pipeline: Pipeline) -> None:
    for step in job.step_options:
        if step not in pipeline.step_names:
            raise InvalidArgument(
                f"the {pipeline.name} pipeline has no step {step!r}", field="input.step_options"
            )
    size = sum(len(v.SerializeToString()) for v in job.step_options.values())
    if size > MAX_STEP_OPTIONS_BYTES:
        raise InvalidArgument(f"larger than {MAX_STEP_OPTIONS_BYTES} bytes", field="input.step_options")


def resolve_input(job: job_pb2.JobInput) -> tuple[job_pb2.JobInput, Pipeline, list[str]]:
    """Validate and fill defaults. Returns (resolved input, pipeline, gated step names)."""
    _check_prompt(job)
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
    pipeline = _pipeline(job)
    rig_type = _rig_type(job, pipeline)
    _check_animation(job, pipeline, rig_type)
    formats = _check_export(job, pipeline)
    tags = _check_library(job)
    _check_step_options(job, pipeline)
    gates = []
    for i, gate in enumerate(job.review_gates):
        step = resolve_gate(pipeline, gate)
        if step is None:
            raise InvalidArgument(
                f"no step {gate!r} in the {pipeline.name} pipeline (steps: {', '.join(pipeline.step_names)})",
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
    if "anim" in pipeline.step_names:
        resolved.animation.fps = resolved.animation.fps or 30
        if not resolved.animation.clips:
            resolved.animation.clips.extend(CLIPS[rig_type])
    del resolved.export.formats[:]
    resolved.export.formats.extend(formats)
    resolved.export.engine = job.export.engine.lower()
    del resolved.tags[:]
    resolved.tags.extend(tags)
    del resolved.review_gates[:]
    resolved.review_gates.extend(dict.fromkeys(gates))
    resolved.name = job.name.strip() or job.prompt.concept.strip()[:80]
    return resolved, pipeline, list(dict.fromkeys(gates))
