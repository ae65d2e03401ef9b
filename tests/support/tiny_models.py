"""The tiny random-weight model store, built once per test session (assetcore/models/tiny.py).

    def test_x(tiny_models: TinyModels) -> None:
        root = tiny_models.require("sdxl-base")   # builds it on first use, then reuses it

Each model is built through its backend's declared builder, exactly as
scripts/make_tiny_models.py does, and loaded by the tests through the production loaders.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from assetcore.models.tiny import build_tiny_store
from assetcore.steps.catalog import load_catalog


class TinyModels:
    def __init__(self, root: Path) -> None:
        self.root = root
        self._built: set[str] = set()

    def require(self, *names: str) -> Path:
        """The store's root, with at least these models built."""
        missing = [n for n in names if n not in self._built]
        if missing:
            build_tiny_store(self.root, load_catalog(), missing)
            self._built.update(missing)
        return self.root


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TinyModels]:
    yield TinyModels(tmp_path_factory.mktemp("tiny-models"))
