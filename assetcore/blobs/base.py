"""The BlobStore protocol and the key layout shared by every adapter.

Artifacts are content-addressed per tenant (`t/<tenant>/cas/<sha[:2]>/<sha><ext>`), so a
redelivered or re-run step writes the same key with the same bytes. Library copies of an
asset version live at `t/<tenant>/library/<project>/<asset>/v<n>/<file>`. Writes are atomic:
a reader sees all of a blob or none of it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Protocol

EXTENSIONS = {
    "image/png": ".png",
    "model/gltf-binary": ".glb",
    "application/octet-stream": ".bin",
    "application/json": ".json",
    "text/plain": ".txt",
    "model/vnd.fbx": ".fbx",
    "application/x-bvh": ".bvh",
}
MEDIA_TYPES = {ext: media for media, ext in EXTENSIONS.items()}


class BlobNotFound(KeyError):
    pass


class BlobStoreError(Exception):
    pass


@dataclass(frozen=True)
class StoredBlob:
    key: str
    sha256: str
    size_bytes: int
    media_type: str


def extension_for(media_type: str) -> str:
    return EXTENSIONS.get(media_type, ".bin")


def media_type_for(key: str) -> str:
    dot = key.rfind(".")
    return MEDIA_TYPES.get(key[dot:], "application/octet-stream") if dot >= 0 else "application/octet-stream"


def cas_key(tenant_id: str, sha256: str, media_type: str) -> str:
    return f"t/{tenant_id}/cas/{sha256[:2]}/{sha256}{extension_for(media_type)}"


def cache_key_path(tenant_id: str, step: str, cache_key: str) -> str:
    return f"t/{tenant_id}/cache/{step}/{cache_key}.pb"


def library_key(tenant_id: str, project_id: str, asset_id: str, version: int, filename: str) -> str:
    return f"t/{tenant_id}/library/{project_id}/{asset_id}/v{version}/{filename}"


class BlobStore(Protocol):
    async def put(self, key: str, data: bytes, media_type: str) -> None:
        """Write atomically; writing the same bytes to the same key again is a no-op in effect."""

    async def get(self, key: str) -> bytes:
        """Raises BlobNotFound."""

    async def exists(self, key: str) -> bool: ...

    async def copy(self, src: str, dst: str) -> None: ...

    async def delete(self, key: str) -> None:
        """Remove the blob; a missing key is not an error (deleting is idempotent)."""

    async def close(self) -> None: ...


async def put_content(store: BlobStore, tenant_id: str, data: bytes, media_type: str) -> StoredBlob:
    """Store bytes at their content address (skipping the write when already present)."""
    digest = hashlib.sha256(data).hexdigest()
    key = cas_key(tenant_id, digest, media_type)
    if not await store.exists(key):
        await store.put(key, data, media_type)
    return StoredBlob(key=key, sha256=digest, size_bytes=len(data), media_type=media_type)
