"""Which skeleton a job gets: the job's rig type, or the prompt's category when unspecified."""

from __future__ import annotations

from assetcore.geometry.skeleton import SkeletonKind
from assetcore.prompting import analyse_prompt
from assetcore.proto.v1 import job_pb2

_BY_RIG_TYPE: dict[int, SkeletonKind | None] = {
    job_pb2.RIG_TYPE_HUMANOID: "humanoid",
    job_pb2.RIG_TYPE_QUADRUPED: "quadruped",
    job_pb2.RIG_TYPE_STATIC: None,
}
_BY_CATEGORY: dict[str, SkeletonKind | None] = {
    "humanoid": "humanoid",
    "quadruped": "quadruped",
    "prop": None,
}


def resolve_rig_kind(job: job_pb2.JobInput, notes: list[str]) -> SkeletonKind | None:
    """ "humanoid", "quadruped", or None for a static mesh (no skeleton)."""
    rig_type = job.constraints.rig_type
    if rig_type in _BY_RIG_TYPE:
        return _BY_RIG_TYPE[rig_type]
    text = " ".join(part for part in (job.prompt.concept, job.prompt.details) if part)
    category = analyse_prompt(text).category
    kind = _BY_CATEGORY[category]
    notes.append(
        f"rig: no rig type given; the prompt reads as a {category}, so the rig is {kind or 'static'}"
    )
    return kind
