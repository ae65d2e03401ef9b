"""The model store: a directory of model folders, each with its manifest.

    <model_dir>/<name>/manifest.json   name, version, licence, source, files (sha256, size)
    <model_dir>/<name>/...             the files the manifest lists (diffusers folders, checkpoints)

`ASSETCORE_MODEL_DIR` names the directory (the GPU AMI's /data/models); `assetcore models pull`
fills it from an S3 prefix of the same layout (pull.py). A backend loads its models once at
startup through `ModelStore.verified`: a missing, truncated or altered file refuses to load,
naming the file and what was expected.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from assetcore.models.manifest import MANIFEST, ModelManifest, file_sha256


class ModelError(Exception):
    """A model that is missing from the store or whose files do not match its manifest."""


@dataclass(frozen=True)
class StoredModel:
    """A model whose files were checked against its manifest."""

    manifest: ModelManifest
    folder: Path

    @property
    def fingerprint(self) -> str:
        return self.manifest.fingerprint()

    def file(self, relative: str) -> Path:
        return self.folder / relative


@dataclass(frozen=True)
class ModelStore:
    root: Path | None  # None: no store configured (CPU backends need none)

    def folder(self, name: str) -> Path:
        if self.root is None:
            raise ModelError(f"model {name!r}: no model store is configured (set ASSETCORE_MODEL_DIR)")
        return self.root / name

    def names(self) -> list[str]:
        if self.root is None or not self.root.is_dir():
            return []
        return sorted(p.parent.name for p in self.root.glob(f"*/{MANIFEST}"))

    def missing(self, name: str) -> str | None:
        """Why `name` cannot be loaded from here without reading its files, or None."""
        try:
            self.manifest(name)
        except ModelError as exc:
            return str(exc)
        return None

    def fingerprint(self, name: str) -> str | None:
        """The model's fingerprint as its manifest gives it (no hashing), or None when the store
        cannot load it: what a backend's version names before (and after) it loads."""
        try:
            return self.manifest(name).fingerprint()
        except ModelError:
            return None

    def manifest(self, name: str) -> ModelManifest:
        path = self.folder(name) / MANIFEST
        if not path.is_file():
            raise ModelError(f"model {name!r}: {path} does not exist (install it: docs/models.md)")
        try:
            manifest = ModelManifest.model_validate_json(path.read_bytes())
        except ValidationError as exc:
            raise ModelError(f"model {name!r}: {path} is not a valid manifest: {exc}") from None
        if manifest.name != name:
            raise ModelError(f"model {name!r}: {path} describes {manifest.name!r}")
        return manifest

    def verified(self, name: str, *, hashes: bool = True) -> StoredModel:
        """The model after checking every file's presence and size (and sha256 unless told not)."""
        manifest = self.manifest(name)
        folder = self.folder(name)
        for entry in manifest.files:
            path = folder / entry.path
            if not path.is_file():
                raise ModelError(f"model {name!r}: {path} is missing (expected {entry.size} bytes)")
            size = path.stat().st_size
            if size != entry.size:
                raise ModelError(
                    f"model {name!r}: {path} has {size} bytes, expected {entry.size} (truncated or replaced)"
                )
            if hashes and (actual := file_sha256(path)) != entry.sha256:
                raise ModelError(f"model {name!r}: {path} has sha256 {actual}, expected {entry.sha256}")
        return StoredModel(manifest, folder)
