"""FileBlobStore.delete: removes one blob, is idempotent, refuses keys outside the root."""

from __future__ import annotations

from pathlib import Path

import pytest

from assetcore.blobs.base import BlobStoreError
from assetcore.blobs.fs import FileBlobStore


async def test_delete_removes_one_blob_and_is_idempotent(tmp_path: Path) -> None:
    store = FileBlobStore(tmp_path / "blobs")
    await store.put("t/acme/cas/ab/a.png", b"a", "image/png")
    await store.put("t/acme/cas/ab/b.png", b"b", "image/png")
    await store.delete("t/acme/cas/ab/a.png")
    await store.delete("t/acme/cas/ab/a.png")
    assert not await store.exists("t/acme/cas/ab/a.png")
    assert await store.get("t/acme/cas/ab/b.png") == b"b"
    with pytest.raises(BlobStoreError):
        await store.delete("t/../outside.png")
