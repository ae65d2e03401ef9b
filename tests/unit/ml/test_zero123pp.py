"""The multiview step's zero123pp backend on a tiny random-weight Zero123++ v1.2, loaded as in production."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError

from assetcore.concept_image import encode_concept_png
from assetcore.config import MlSettings
from assetcore.models.manifest import describe_folder, write_manifest
from assetcore.models.store import ModelError, ModelStore
from assetcore.multiview import (
    AZIMUTHS_DEG,
    ELEVATIONS_DEG,
    Multiview,
    View,
    decode_multiview_png,
    encode_multiview_png,
)
from assetcore.proto.v1 import job_pb2
from assetcore.steps.runner import prepare_request, run_step
from assetcore.worker.backend import (
    BackendContext,
    ErrorCode,
    InputFile,
    OutputFile,
    StepBackend,
    StepCancelled,
    StepError,
    StepOutput,
    StepRequest,
)
from services.multiview.gates import check_views
from services.multiview.step import STEP
from services.multiview.tiny import build_zero123pp
from services.multiview.views import grey_backdrop_matte
from tests.support.tiny_models import TinyModels

pytestmark = pytest.mark.ml

MODEL = "zero123pp"
FAST = {"tile": 64, "steps": 2}


def _backend(root: Path) -> StepBackend:
    return STEP.backend(MODEL).create(BackendContext(ModelStore(root), MlSettings(device="cpu", threads=1)))


@pytest.fixture(scope="module")
def backend(tiny_models: TinyModels) -> StepBackend:
    made = _backend(tiny_models.require(MODEL, "matte"))
    made.load()
    return made


@pytest.fixture
def own_store(tiny_models: TinyModels, tmp_path: Path) -> Path:
    """A store holding only a copy of the tiny zero123pp (no matte model), free to alter."""
    shutil.copytree(tiny_models.require(MODEL) / MODEL, tmp_path / MODEL)
    return tmp_path


def _concept(colour: tuple[int, int, int], box: tuple[int, int, int, int] = (20, 30, 76, 66)) -> bytes:
    rgba = np.zeros((96, 96, 4), np.uint8)
    top, left, bottom, right = box
    rgba[top:bottom, left:right] = (*colour, 255)
    return encode_concept_png(
        rgba, {"view": "front", "category": "prop", "subject": "box", "symmetric": True}
    )


def _request(png: bytes, *, seed: int = 7, **params: Any) -> StepRequest:
    image = InputFile("image", "image/png", png, "0" * 64)
    return prepare_request(
        STEP, MODEL, job=job_pb2.JobInput(), params={**FAST, **params}, seed=seed, inputs={"image": image}
    )


class _Recorder:
    def __init__(self, cancel_at: str | None = None) -> None:
        self.messages: list[str] = []
        self.previews = 0
        self._cancel_at = cancel_at

    def __call__(self, fraction: float, message: str = "", preview_png: bytes | None = None) -> None:
        self.messages.append(message)
        self.previews += preview_png is not None
        if self._cancel_at is not None and self._cancel_at in message:
            raise StepCancelled("job cancelled")


def _views(output: StepOutput) -> bytes:
    (views,) = output.files
    assert views.name == "views" and views.media_type == "image/png"
    return views.data


def test_tiny_builder_is_byte_identical_and_small(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    build_zero123pp(first)
    build_zero123pp(second)
    files = sorted(p.relative_to(first).as_posix() for p in first.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(second).as_posix() for p in second.rglob("*") if p.is_file())
    assert all((first / f).read_bytes() == (second / f).read_bytes() for f in files)
    assert sum((first / f).stat().st_size for f in files) < 20 << 20
    index = json.loads((first / "model_index.json").read_text())
    assert index["unet"] == ["diffusers", "UNet2DConditionModel"] and len(index["ramping_coefficients"]) == 77
    assert {"vision_encoder/model.safetensors", "tokenizer/vocab.json", "tokenizer/merges.txt"} <= set(files)


def test_six_views_with_their_cameras_through_the_step(backend: StepBackend) -> None:
    progress = _Recorder()
    output = run_step(STEP, backend, _request(_concept((200, 40, 40))), progress)
    multiview = decode_multiview_png(_views(output))
    assert multiview.tile == 64 and multiview.fov_deg == 30.0
    assert [v.azimuth_deg for v in multiview.views] == list(AZIMUTHS_DEG)
    assert [v.elevation_deg for v in multiview.views] == list(ELEVATIONS_DEG)
    assert all(v.rgba.shape == (64, 64, 4) and (v.rgba[..., 3] >= 128).any() for v in multiview.views)
    assert "zero123++: step 2/2" in progress.messages and progress.previews >= 1
    assert "mattes: the matte model" in output.notes
    version = backend.describe().version
    assert version.startswith("1+") and "+matte-" in version


def test_a_seed_gives_the_same_bytes_and_another_seed_other_views(backend: StepBackend) -> None:
    concept = _concept((40, 160, 60))
    first = _views(backend.run(_request(concept, seed=11), _Recorder()))
    assert first == _views(backend.run(_request(concept, seed=11), _Recorder()))
    assert first != _views(backend.run(_request(concept, seed=12), _Recorder()))


def test_the_concept_image_steers_the_views(backend: StepBackend) -> None:
    """Reference attention and the image embedding carry the condition: same seed, other image."""
    red = decode_multiview_png(_views(backend.run(_request(_concept((220, 30, 30))), _Recorder())))
    blue = decode_multiview_png(
        _views(backend.run(_request(_concept((30, 30, 220), (10, 10, 50, 90))), _Recorder()))
    )
    assert any(
        not np.array_equal(a.rgba[..., :3], b.rgba[..., :3])
        for a, b in zip(red.views, blue.views, strict=True)
    )


def test_reference_attention_wraps_every_self_attention_layer_and_sees_the_reference() -> None:
    import torch

    from services.multiview.zero123pp.reference import ReferenceUNet

    torch.manual_seed(0)
    from diffusers import UNet2DConditionModel  # after the package above makes it importable

    unet: Any = UNet2DConditionModel(
        sample_size=8,
        block_out_channels=(16, 32),
        down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
        layers_per_block=1,
        cross_attention_dim=8,
        attention_head_dim=2,
        norm_num_groups=8,
    )
    reference_unet = ReferenceUNet(unet.eval(), eager=False)
    wrapped = {n for n, p in unet.attn_processors.items() if type(p).__name__ == "_ReferenceAttention"}
    assert wrapped == {n for n in unet.attn_processors if n.endswith("attn1.processor")} and wrapped
    sample, embeddings, t = torch.randn(1, 4, 8, 8), torch.randn(1, 5, 8), torch.tensor(500)
    with torch.inference_mode():
        first = reference_unet(sample, torch.randn(1, 4, 6, 6), t, embeddings)
        again = reference_unet(sample, torch.randn(1, 4, 6, 6), t, embeddings)
    assert not torch.equal(first, again)  # same sample and prompt: only the reference differs
    assert not reference_unet._bank.stored  # every recorded layer was read


def test_unguided_sampling_runs(backend: StepBackend) -> None:
    output = backend.run(_request(_concept((90, 90, 200)), guidance_scale=1.0), _Recorder())
    check_views(output, _request(_concept((90, 90, 200))))


def test_cancellation_stops_within_one_denoising_step(backend: StepBackend) -> None:
    import torch

    unet: torch.nn.Module = backend._loaded.sampler.model.unet  # type: ignore[attr-defined]
    passes: list[int] = []
    hook = unet.register_forward_hook(lambda *_: passes.append(1))
    try:
        with pytest.raises(StepCancelled):
            backend.run(_request(_concept((200, 40, 40)), steps=6), _Recorder(cancel_at="step 1/6"))
    finally:
        hook.remove()
    assert len(passes) == 2  # one step: the reference pass and the views' pass


def test_a_file_with_the_wrong_hash_refuses_to_load(own_store: Path) -> None:
    weights = own_store / MODEL / "unet" / "diffusion_pytorch_model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(ModelError, match="sha256") as refused:
        _backend(own_store).load()
    assert str(weights) in str(refused.value)


def test_a_folder_that_is_not_zero123pp_v12_refuses_to_load(own_store: Path) -> None:
    folder = own_store / MODEL
    index = json.loads((folder / "model_index.json").read_text())
    del index["ramping_coefficients"]  # v1.1's folder has none
    (folder / "model_index.json").write_text(json.dumps(index))
    write_manifest(folder, describe_folder(folder, name=MODEL, version="t", licence="MIT", source="test"))
    with pytest.raises(ModelError, match=r"model_index\.json has no list of numbers 'ramping_coefficients'"):
        _backend(own_store).load()


def test_without_a_matte_model_the_views_are_matted_against_grey(own_store: Path) -> None:
    plain = _backend(own_store)
    assert "+matte-" not in plain.describe().version
    output = run_step(STEP, plain, _request(_concept((200, 40, 40))), _Recorder())
    assert "mattes: estimated against the grey backdrop" in output.notes


def test_previews_follow_the_rescaled_latents() -> None:
    """The fitted VAE preview, re-expressed for v1.2: decode (l / 0.75 + 0.22), then undo the 0.625."""
    import torch

    from assetcore.ml.previews import LatentPreviewer
    from services.multiview.zero123pp.sampler import (
        IMAGE_SCALE,
        LATENT_SCALE,
        LATENT_SHIFT,
        _rescaled_previewer,
    )

    fitted = LatentPreviewer(np.random.default_rng(0).normal(0.0, 0.1, (5, 3)).astype(np.float32))
    latents = torch.randn(1, 4, 3, 2, generator=torch.Generator().manual_seed(0))
    plain = latents[0].permute(1, 2, 0).numpy() / LATENT_SCALE + LATENT_SHIFT
    colour = (plain @ fitted.weights[:-1] + fitted.weights[-1]) / IMAGE_SCALE
    expected = np.clip((colour + 1.0) * 127.5, 0, 255).astype(np.uint8)
    assert np.abs(_rescaled_previewer(fitted).rgb(latents).astype(int) - expected).max() <= 1


def test_the_grey_backdrop_matte_keeps_a_subject_touching_the_edge() -> None:
    tile = np.full((64, 64, 3), 127, np.uint8)
    tile[:, 40:] = (20, 200, 20)  # the subject runs off the tile's right edge
    tile[10:20, 5:15] = (200, 20, 20)
    mask = grey_backdrop_matte(tile)
    expected = np.zeros((64, 64), bool)
    expected[:, 40:] = True
    expected[10:20, 5:15] = True
    assert np.array_equal(mask, expected)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"tile": 100}, "tile"),
        ({"tile": 0}, "tile"),
        ({"steps": 0}, "steps"),
        ({"guidance_scale": 0.5}, "guidance"),
    ],
)
def test_options_are_validated(params: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError, match=field):
        STEP.options_model(MODEL).model_validate(params)


def test_published_defaults() -> None:
    options = STEP.options_model(MODEL).model_validate({})
    assert (options.tile, options.steps, options.guidance_scale) == (320, 28, 4.0)  # type: ignore[attr-defined]


@pytest.fixture
def gate_request() -> Iterator[StepRequest]:
    yield _request(_concept((200, 40, 40)))


def test_the_gate_refuses_a_stand_in(gate_request: StepRequest) -> None:
    with pytest.raises(StepError, match="views: not a PNG") as refused:
        check_views(StepOutput([OutputFile("views", "text/plain", b"noop:1:a box")]), gate_request)
    assert refused.value.code == ErrorCode.INTERNAL


def test_the_gate_refuses_a_view_without_subject(gate_request: StepRequest) -> None:
    opaque = np.full((16, 16, 4), 255, np.uint8)
    views = [View(a, e, opaque) for a, e in zip(AZIMUTHS_DEG, ELEVATIONS_DEG, strict=True)]
    views[3] = View(AZIMUTHS_DEG[3], ELEVATIONS_DEG[3], np.zeros((16, 16, 4), np.uint8))
    png = encode_multiview_png(Multiview(tuple(views)))
    with pytest.raises(StepError, match="azimuth 210 has no subject"):
        check_views(StepOutput([OutputFile("views", "image/png", png)]), gate_request)
    same_azimuth = [View(30.0, e, opaque) for e in ELEVATIONS_DEG]
    png = encode_multiview_png(Multiview(tuple(same_azimuth)))
    with pytest.raises(StepError, match="not distinct"):
        check_views(StepOutput([OutputFile("views", "image/png", png)]), gate_request)
