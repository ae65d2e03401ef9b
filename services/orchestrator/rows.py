"""Typed rows of the orchestrator's tables, with attribute access.

Each class names the columns it reads, in order; `columns(RowType, table)` is the select
list that builds it positionally (`RowType(*row)`: the cheapest way from a database row to
an object). Job and step rows are mutable: a `JobTx` changes them and records the changes.
A test checks that every class covers every column of its table.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from functools import lru_cache
from operator import attrgetter
from typing import Any, Protocol

from sqlalchemy import Column, Table


class FileLike(Protocol):
    """What an artifact message is made from: an artifact row or an input attachment."""

    @property
    def name(self) -> str: ...
    @property
    def media_type(self) -> str: ...
    @property
    def sha256(self) -> str: ...
    @property
    def size_bytes(self) -> int: ...
    @property
    def blob_key(self) -> str: ...
    @property
    def preview_key(self) -> str | None: ...


@dataclass(slots=True)
class JobRow:
    id: str
    tenant_id: str
    project_id: str
    pipeline: str
    state: str
    input: bytes  # JobInput
    idempotency_key: str | None
    priority: int
    event_seq: int
    created_at: float
    updated_at: float
    started_at: float | None
    finished_at: float | None
    error_code: str | None
    error_message: str | None
    cost_usd: float
    asset_id: str | None
    asset_version: int | None
    attachments: str | None  # JSON list of Attachment fields
    trace_parent: str | None = None

    def attachment_list(self) -> list[Attachment]:
        return [Attachment(**a) for a in json.loads(self.attachments)] if self.attachments else []


@dataclass(slots=True)
class StepRow:
    id: str
    job_id: str
    tenant_id: str
    name: str
    ordinal: int
    state: str
    depends_on: str  # JSON list of step names
    generation: int
    attempt: int
    max_attempts: int
    seed: int
    pool: str | None
    review_gate: bool
    review_notes: str | None
    backend: str | None
    backend_version: str | None
    queued_at: float | None
    started_at: float | None
    finished_at: float | None
    duration_s: float | None
    cost_usd: float
    progress: float
    progress_message: str | None
    progress_at: float | None
    cancel_requested: bool
    cache_hit: bool
    notes: str | None  # JSON list
    preview_key: str | None
    preview_sha256: str | None
    preview_size_bytes: int | None
    error_code: str | None
    error_message: str | None

    @property
    def parents(self) -> tuple[str, ...]:
        return _parents(self.depends_on)


@dataclass(frozen=True, slots=True)
class AttemptRow:
    id: str
    step_id: str
    generation: int
    number: int
    worker_id: str
    delivery_count: int
    state: str
    started_at: float
    finished_at: float | None
    error_code: str | None
    error_message: str | None


@dataclass(frozen=True, slots=True)
class ArtifactRow:
    id: int
    tenant_id: str
    job_id: str
    step_id: str
    generation: int
    name: str
    media_type: str
    sha256: str
    size_bytes: int
    blob_key: str
    preview_key: str | None
    created_at: float


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file given with the job input (a BVH), stored once; steps get it as an input artifact."""

    name: str
    media_type: str
    sha256: str
    size_bytes: int
    blob_key: str
    preview_key: str | None = None


@dataclass(frozen=True, slots=True)
class TransitionRow:
    id: int
    job_id: str
    step_name: str | None
    from_state: str
    to_state: str
    at: float


@dataclass(frozen=True, slots=True)
class AssetRow:
    id: str
    tenant_id: str
    project_id: str
    name: str
    asset_type: str
    rig_type: str
    prompt: str
    tags: str  # JSON list
    search_text: str
    latest_version: int
    created_at: float
    updated_at: float


@dataclass(frozen=True, slots=True)
class AssetVersionRow:
    asset_id: str
    version: int
    job_id: str
    files: bytes  # library_pb2.AssetVersion (files only)
    cost_usd: float
    created_at: float


def field_names(row_type: type) -> tuple[str, ...]:
    return tuple(f.name for f in fields(row_type))


def columns(row_type: type, table: Table) -> tuple[Column[Any], ...]:
    """The table's columns in the order of the row type's fields (KeyError for a missing one)."""
    return tuple(table.c[name] for name in field_names(row_type))


@lru_cache(maxsize=1024)
def _parents(depends_on: str) -> tuple[str, ...]:
    """A step's parents from its JSON column: the few distinct values are parsed once (hot path)."""
    return tuple(json.loads(depends_on))


_GETTERS: dict[type, tuple[tuple[str, ...], Callable[[Any], tuple[Any, ...]]]] = {}


def values(row: Any) -> dict[str, Any]:
    """The row's fields as column values (for INSERT)."""
    found = _GETTERS.get(type(row))
    if found is None:
        names = field_names(type(row))
        found = _GETTERS[type(row)] = (names, attrgetter(*names))
    names, getter = found
    return dict(zip(names, getter(row), strict=True))


def current(art_rows: Sequence[ArtifactRow], step: StepRow) -> list[ArtifactRow]:
    """The artifacts of the step's current generation."""
    return [a for a in art_rows if a.step_id == step.id and a.generation == step.generation]
