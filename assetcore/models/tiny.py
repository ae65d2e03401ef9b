"""Tiny random-weight models of every ML backend's architectures, in the store's layout.

No weights can be downloaded where the tests run, so each backend's loading and inference
code is exercised on tiny models of the same architecture: each `ModelUse` names a builder
("package.module:function", called with an empty folder) that writes the files exactly as the
published weights lay them out. Used by scripts/make_tiny_models.py and the tests.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from pathlib import Path

from assetcore.models.manifest import ModelManifest, describe_folder, write_manifest
from assetcore.steps.catalog import Catalog
from assetcore.steps.contract import ModelUse, resolve

TINY_VERSION = "tiny-random"
TINY_LICENCE = "MIT (random weights)"
TINY_SOURCE = "random weights written by scripts/make_tiny_models.py"


def model_uses(catalog: Catalog) -> dict[str, ModelUse]:
    """Every model any declared backend loads, by store name."""
    uses: dict[str, ModelUse] = {}
    for step in catalog.steps.values():
        for backend in step.backends.values():
            for use in backend.models:
                uses.setdefault(use.name, use)
    return uses


def build_tiny_store(root: Path, catalog: Catalog, names: Iterable[str] | None = None) -> list[ModelManifest]:
    """Write the tiny models (all, or `names`) under `root`, each with its manifest.

    Each model is built in a scratch folder and renamed into place, so an interrupted build
    never leaves a folder that looks complete.
    """
    uses = model_uses(catalog)
    wanted = sorted(uses) if names is None else list(names)
    unknown = [n for n in wanted if n not in uses]
    if unknown:
        raise KeyError(f"no backend uses model(s) {', '.join(unknown)} (known: {', '.join(sorted(uses))})")
    root.mkdir(parents=True, exist_ok=True)
    manifests = []
    for name in wanted:
        scratch = root / f".{name}.building"
        shutil.rmtree(scratch, ignore_errors=True)
        scratch.mkdir()
        resolve(uses[name].tiny)(scratch)
        manifest = describe_folder(
            scratch, name=name, version=TINY_VERSION, licence=TINY_LICENCE, source=TINY_SOURCE
        )
        write_manifest(scratch, manifest)
        shutil.rmtree(root / name, ignore_errors=True)
        scratch.rename(root / name)
        manifests.append(manifest)
    return manifests
