"""Pipeline templates: the DAG of steps a kind of job expands into. Pipelines are data: the
standard ones are declared in services/orchestrator/pipelines.py, more come from plugins."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from assetcore.proto.v1 import job_pb2


@dataclass(frozen=True)
class StepSpec:
    name: str
    depends_on: tuple[str, ...]


@dataclass(frozen=True)
class Pipeline:
    name: str
    description: str
    asset_type: job_pb2.AssetType
    steps: tuple[StepSpec, ...]  # topological order

    @cached_property
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
    """Steps that each depend on the one before."""
    return tuple(StepSpec(name, (names[i - 1],) if i else ()) for i, name in enumerate(names))
