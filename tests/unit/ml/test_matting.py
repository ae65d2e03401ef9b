"""The subject matting model (assetcore/ml/matting.py): store loading, pre/post-processing, tiny builder."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from assetcore.ml.matting import MODEL_FILE, MODEL_NAME, build_tiny_matte, load_matter
from assetcore.models.manifest import describe_folder, write_manifest
from assetcore.models.store import ModelError, ModelStore
from tests.support.tiny_models import TinyModels

pytestmark = pytest.mark.ml


def _store_with(tmp_path: Path, build: object) -> ModelStore:
    folder = tmp_path / MODEL_NAME
    folder.mkdir(parents=True)
    build(folder)  # type: ignore[operator]
    write_manifest(
        folder, describe_folder(folder, name=MODEL_NAME, version="t", licence="MIT", source="test")
    )
    return ModelStore(tmp_path)


def _red_channel(folder: Path) -> None:
    """A model whose saliency is the normalised red channel: makes the processing checkable."""
    import torch

    class Red(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x[:, :1]

    torch.onnx.export(Red(), (torch.zeros(1, 3, 48, 48),), str(folder / MODEL_FILE), dynamo=False)


def test_tiny_builder_is_small_and_byte_identical(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    build_tiny_matte(first)
    build_tiny_matte(second)
    data = (first / MODEL_FILE).read_bytes()
    assert data == (second / MODEL_FILE).read_bytes()
    assert 0 < len(data) < 1 << 20
    assert sorted(p.name for p in first.iterdir()) == [MODEL_FILE]


def test_no_matte_model_in_the_store(tmp_path: Path) -> None:
    assert load_matter(ModelStore(tmp_path)) is None
    assert load_matter(ModelStore(None)) is None


def test_tiny_model_loads_through_the_store(tiny_models: TinyModels) -> None:
    store = ModelStore(tiny_models.require(MODEL_NAME))
    matter = load_matter(store)
    assert matter is not None
    assert matter.side == 32
    assert matter.fingerprint == store.verified(MODEL_NAME).fingerprint
    rgb = np.random.default_rng(3).integers(0, 256, (40, 56, 3), dtype=np.uint8)
    alpha = matter.alpha(rgb)
    assert alpha.shape == (40, 56) and alpha.dtype == np.float32
    assert 0.0 <= alpha.min() < 0.2 and 0.8 < alpha.max() <= 1.0  # stretched to the full range
    assert np.array_equal(alpha, matter.alpha(rgb))


def test_alpha_follows_the_image_layout(tmp_path: Path) -> None:
    matter = load_matter(_store_with(tmp_path, _red_channel))
    assert matter is not None and matter.side == 48
    rgb = np.zeros((64, 96, 3), dtype=np.uint8)
    rgb[:, :32] = (250, 0, 0)  # red on the left third only
    alpha = matter.alpha(rgb)
    assert alpha.shape == (64, 96)
    assert alpha[:, :28].min() > 0.95 and alpha[:, 36:].max() < 0.05


def test_flat_saliency_is_no_subject(tmp_path: Path) -> None:
    matter = load_matter(_store_with(tmp_path, _red_channel))
    assert matter is not None
    alpha = matter.alpha(np.full((20, 30, 3), 90, dtype=np.uint8))
    assert alpha.shape == (20, 30) and not alpha.any()


def test_truncated_model_refuses_to_load_naming_the_file(tiny_models: TinyModels, tmp_path: Path) -> None:
    shutil.copytree(tiny_models.require(MODEL_NAME) / MODEL_NAME, tmp_path / MODEL_NAME)
    path = tmp_path / MODEL_NAME / MODEL_FILE
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(ModelError, match=MODEL_FILE):
        load_matter(ModelStore(tmp_path))
