"""The step cache: a finished step's result, keyed by everything that determines it.

Key = SHA-256 over the step kind, backend name and version, seed, params, the job input
(less fields that cannot change outputs: name, tags, priority, review gates, asset id) and
the content hashes of the consumed inputs. Outputs are content-addressed, so the manifest
(a StepResult) is written after them: a manifest always points at blobs that exist.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable

from google.protobuf.json_format import MessageToDict

from assetcore.blobs.base import BlobNotFound, BlobStore, cache_key_path
from assetcore.proto.v1 import job_pb2, step_pb2
from assetcore.worker.backend import BackendInfo


def cache_key(task: step_pb2.StepTask, backend: BackendInfo, inputs: Iterable[job_pb2.Artifact]) -> str:
    job = job_pb2.JobInput()
    job.CopyFrom(task.job_input)
    for field in ("name", "tags", "priority", "review_gates", "asset_id", "step_options"):
        job.ClearField(field)
    header = json.dumps(
        {
            "step": task.step_name,
            "backend": backend.name,
            "version": backend.version,
            "seed": task.seed,
            "params": MessageToDict(task.params),
            "inputs": sorted((a.name, a.sha256) for a in inputs),
        },
        sort_keys=True,
    )
    digest = hashlib.sha256(header.encode())
    digest.update(job.SerializeToString(deterministic=True))
    return digest.hexdigest()


async def load(blobs: BlobStore, tenant_id: str, step: str, key: str) -> step_pb2.StepResult | None:
    """The cached result, if present and all its blobs still exist."""
    try:
        result = step_pb2.StepResult.FromString(await blobs.get(cache_key_path(tenant_id, step, key)))
    except BlobNotFound:
        return None
    keys = [a.blob_key for a in result.outputs] + (
        [result.preview.blob_key] if result.preview.blob_key else []
    )
    for blob_key in keys:
        if not await blobs.exists(blob_key):
            return None
    return result


async def store(blobs: BlobStore, tenant_id: str, step: str, key: str, result: step_pb2.StepResult) -> None:
    await blobs.put(
        cache_key_path(tenant_id, step, key), result.SerializeToString(), "application/octet-stream"
    )
