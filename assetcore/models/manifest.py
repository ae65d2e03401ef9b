"""A stored model's manifest (`manifest.json` in the model's folder): what it is and what its
files must hash to.

The fingerprint (a hash of the file list) goes into the backend version, so step cache keys
and lineage change whenever the weights do.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from pydantic import BaseModel, Field

MANIFEST = "manifest.json"
_CHUNK = 1 << 20


class ModelFile(BaseModel):
    path: str  # relative to the model's folder, "/"-separated
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    size: int = Field(ge=0)


class ModelManifest(BaseModel):
    name: str  # the store's name for it: "sdxl-base", "triposr", ...
    version: str  # the publisher's revision or release
    licence: str  # SPDX id or the licence's name, e.g. "MIT", "openrail++", "tencent-hunyuan-community"
    source: str  # where the weights come from (URL or "random weights (scripts/make_tiny_models.py)")
    files: list[ModelFile]

    def fingerprint(self) -> str:
        """Twelve hex digits naming exactly these files' contents."""
        digest = hashlib.sha256()
        for f in sorted(self.files, key=lambda f: f.path):
            digest.update(f"{f.path}\0{f.sha256}\0".encode())
        return digest.hexdigest()[:12]

    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def describe_folder(folder: Path, *, name: str, version: str, licence: str, source: str) -> ModelManifest:
    """The manifest of every file under `folder` (but the manifest itself), hashed now."""
    files = [
        ModelFile(path=p.relative_to(folder).as_posix(), sha256=file_sha256(p), size=p.stat().st_size)
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.relative_to(folder).as_posix() != MANIFEST
    ]
    return ModelManifest(name=name, version=version, licence=licence, source=source, files=files)


def write_manifest(folder: Path, manifest: ModelManifest) -> Path:
    path = folder / MANIFEST
    path.write_text(manifest.model_dump_json(indent=2) + "\n")
    return path
