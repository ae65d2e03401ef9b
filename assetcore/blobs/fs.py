"""Blobs in a local directory (the local profile's S3)."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import threading
from pathlib import Path

from assetcore.blobs.base import BlobNotFound, BlobStoreError

# Small files are read and written on the event loop: a page-cache write of a few hundred KB
# takes less time than handing it to a thread and back. Larger ones go to a thread.
INLINE_BYTES = 256 * 1024


class FileBlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    def path_for(self, key: str) -> Path:
        """The file of a key; refuses keys that would escape the root."""
        if not key or key.startswith("/") or "\\" in key or any(p in ("", ".", "..") for p in key.split("/")):
            raise BlobStoreError(f"invalid blob key {key!r}")
        return self.root / key

    def _write(self, key: str, data: bytes) -> None:
        path = self.path_for(key)
        # A name no other writer uses: this process and thread write one file at a time.
        tmp = path.with_name(f".tmp-{path.name}-{os.getpid()}-{threading.get_ident()}")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        except FileNotFoundError:  # a new directory: made on the first write only
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            os.replace(tmp, path)  # atomic: readers never see a partial file
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def _read(self, key: str) -> bytes:
        try:
            return self.path_for(key).read_bytes()
        except FileNotFoundError:
            raise BlobNotFound(key) from None

    def _copy(self, src: str, dst: str) -> None:
        source = self.path_for(src)
        if not source.exists():
            raise BlobNotFound(src)
        target = self.path_for(dst)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        os.close(fd)
        try:
            shutil.copyfile(source, tmp)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    async def put(self, key: str, data: bytes, media_type: str) -> None:
        if len(data) <= INLINE_BYTES:
            self._write(key, data)
        else:
            await asyncio.to_thread(self._write, key, data)

    async def get(self, key: str) -> bytes:
        path = self.path_for(key)
        try:
            small = path.stat().st_size <= INLINE_BYTES
        except FileNotFoundError:
            raise BlobNotFound(key) from None
        return self._read(key) if small else await asyncio.to_thread(self._read, key)

    async def exists(self, key: str) -> bool:
        return self.path_for(key).is_file()  # one stat: cheaper than a hop to a thread

    async def copy(self, src: str, dst: str) -> None:
        await asyncio.to_thread(self._copy, src, dst)

    async def delete(self, key: str) -> None:
        self.path_for(key).unlink(missing_ok=True)

    async def close(self) -> None:
        return None
