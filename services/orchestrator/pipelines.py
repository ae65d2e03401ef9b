"""Pipeline templates: the DAG of steps each kind of job expands into."""

from __future__ import annotations

from dataclasses import dataclass

from assetcore.proto.v1 import job_pb2


@dataclass(frozen=True)
class StepSpec:
    name: str
    depends_on: tuple[str, ...]


@dataclass(frozen=True)
class Pipeline:
    name: str
    description: str
    asset_type: job_pb2.AssetType.ValueType
    steps: tuple[StepSpec, ...]  # topological order

    @property
    def step_names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.steps)

    def children(self, step: str) -> tuple[str, ...]:
        return tuple(s.name for s in self.steps if step in s.depends_on)

    def ancestors(self, step: str) -> list[str]:
        """Ancestors nearest first (breadth-first): whose outputs win when names collide."""
        by_name = {s.name: s for s in self.steps}
        order: list[str] = []
        frontier = list(by_name[step].depends_on)
        while frontier:
            current = frontier.pop(0)
            if current not in order:
                order.append(current)
                frontier.extend(by_name[current].depends_on)
        return order


def chain(*names: str) -> tuple[StepSpec, ...]:
    return tuple(StepSpec(name, (names[i - 1],) if i else ()) for i, name in enumerate(names))


PIPELINES: dict[str, Pipeline] = {
    p.name: p
    for p in (
        Pipeline(
            "character",
            "Rigged, animated character: concept image to engine-ready GLB/FBX",
            job_pb2.ASSET_TYPE_CHARACTER,
            chain("tti", "refine", "image3d", "retopo", "rig", "anim", "export"),
        ),
        Pipeline(
            "prop",
            "Static prop: concept image to a textured low-poly mesh with LODs",
            job_pb2.ASSET_TYPE_PROP,
            chain("tti", "refine", "image3d", "retopo", "export"),
        ),
        Pipeline(
            "concept",
            "Concept image only",
            job_pb2.ASSET_TYPE_CONCEPT,
            chain("tti", "refine"),
        ),
    )
}

PIPELINE_FOR_ASSET_TYPE = {p.asset_type: p.name for p in PIPELINES.values()}

# Review-gate names besides step names: the stage a reviewer thinks of.
GATE_ALIASES = {
    "image": "tti",
    "concept": "tti",
    "mesh": "image3d",
    "topology": "retopo",
    "animation": "anim",
}


def resolve_gate(pipeline: Pipeline, gate: str) -> str | None:
    step = GATE_ALIASES.get(gate, gate)
    return step if step in pipeline.step_names else None
