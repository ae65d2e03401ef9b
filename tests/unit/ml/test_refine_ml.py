"""The refine step's model backends (sdxl-img2img, esrgan, both) on tiny random-weight models,
loaded as production loads them, driven through the step function (input checks and gates)."""

from __future__ import annotations

import io
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from assetcore.config import MlSettings
from assetcore.ml.runtime import placement
from assetcore.models.store import ModelError, ModelStore
from assetcore.proto.v1 import job_pb2
from assetcore.worker.backend import (
    BackendContext,
    InputFile,
    StepBackend,
    StepCancelled,
    StepOutput,
    StepRequest,
)
from services.refine.esrgan import EsrganUpscaler, build_tiny_esrgan, load_esrgan
from services.refine.options import RefineOptions
from services.refine.step import STEP
from tests.support.image_steps import rgba_of
from tests.support.steps import no_progress, run_step_function, step_request
from tests.support.tiny_models import TinyModels

pytestmark = pytest.mark.ml

ML_BACKENDS = ("sdxl-img2img", "esrgan", "sdxl-img2img+esrgan")
MODELS = ("sdxl-base", "esrgan-x4", "matte")
SIDE = 64
IMG2IMG: dict[str, object] = {"steps": 4, "strength": 0.5}
CPU = MlSettings(device="cpu", threads=1)


def concept_png(*, alpha: bool = True) -> bytes:
    """A red disc on a green backdrop, transparent around it when `alpha`."""
    image = Image.new("RGBA" if alpha else "RGB", (SIDE, SIDE), (0, 200, 0, 0) if alpha else (0, 200, 0))
    ImageDraw.Draw(image).ellipse((18, 14, 46, 50), fill=(220, 20, 20, 255))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def request(
    backend: str,
    *,
    upscale: bool = False,
    params: dict[str, object] | None = None,
    image: bytes | None = None,
) -> StepRequest:
    job = job_pb2.JobInput(prompt=job_pb2.Prompt(concept="a red ball", style="stylized"), upscale=upscale)
    data = image if image is not None else concept_png()
    inputs = {"image": InputFile("image", "image/png", data, "0" * 64)}
    if params is None:
        params = IMG2IMG if "sdxl" in backend else {}
    return step_request("refine", job, params, 11, inputs, backend=backend)


@pytest.fixture(scope="module")
def store(tiny_models: TinyModels) -> ModelStore:
    return ModelStore(tiny_models.require(*MODELS))


@pytest.fixture(scope="module")
def backends(store: ModelStore) -> Iterator[dict[str, StepBackend]]:
    loaded = {}
    for name in ML_BACKENDS:
        backend = STEP.backend(name).create(BackendContext(store, CPU))
        backend.load()
        loaded[name] = backend
    yield loaded


@pytest.mark.parametrize("name", ML_BACKENDS)
@pytest.mark.parametrize("upscale", [False, True])
def test_fixed_seed_gives_identical_bytes_at_the_promised_size(
    backends: dict[str, StepBackend], name: str, upscale: bool
) -> None:
    first = run_step_function(backends[name], request(name, upscale=upscale))
    second = run_step_function(backends[name], request(name, upscale=upscale))
    assert first.files[0].data == second.files[0].data
    rgba = rgba_of(first.files[0].data)
    side = 2 * SIDE if upscale else SIDE
    assert rgba.shape == (side, side, 4)
    assert any("upscaled x2" in note for note in first.notes) == upscale


def test_the_esrgan_model_runs_only_for_an_upscale(backends: dict[str, StepBackend]) -> None:
    cpu = STEP.backend("cpu").create()
    plain = run_step_function(backends["esrgan"], request("esrgan"))
    assert plain.files[0].data == run_step_function(cpu, request("cpu")).files[0].data
    upscaled = run_step_function(backends["esrgan"], request("esrgan", upscale=True))
    resampled = run_step_function(cpu, request("cpu", upscale=True))
    assert any("ESRGAN" in note for note in upscaled.notes)
    assert (
        rgba_of(upscaled.files[0].data)[..., :3].tobytes()
        != rgba_of(resampled.files[0].data)[..., :3].tobytes()
    )
    # The alpha is resampled, not the model's: the same matte as the resampling upscale.
    assert np.array_equal(rgba_of(upscaled.files[0].data)[..., 3], rgba_of(resampled.files[0].data)[..., 3])


def test_img2img_follows_seed_and_strength(backends: dict[str, StepBackend]) -> None:
    backend = backends["sdxl-img2img"]
    base = run_step_function(backend, request("sdxl-img2img")).files[0].data
    other_seed = request("sdxl-img2img")
    other_seed = step_request(
        "refine", other_seed.job, IMG2IMG, 12, other_seed.inputs, backend="sdxl-img2img"
    )
    assert run_step_function(backend, other_seed).files[0].data != base
    stronger = request("sdxl-img2img", params={"steps": 4, "strength": 1.0})
    assert run_step_function(backend, stronger).files[0].data != base


def test_img2img_reports_progress_with_previews(backends: dict[str, StepBackend]) -> None:
    seen: list[tuple[float, str, bool]] = []

    def progress(fraction: float, message: str = "", preview_png: bytes | None = None) -> None:
        seen.append((fraction, message, preview_png is not None))

    run_step_function(backends["sdxl-img2img"], request("sdxl-img2img"), progress)
    fractions = [fraction for fraction, _, _ in seen]
    assert fractions == sorted(fractions) and fractions[0] > 0.0 and fractions[-1] <= 1.0
    steps = [message for _, message, _ in seen if message.startswith("img2img: step")]
    assert steps == ["img2img: step 1/2", "img2img: step 2/2"]  # 4 steps at strength 0.5
    assert seen[0][2]  # the first denoising step brings a latent preview


def test_cancellation_stops_within_one_denoising_step(backends: dict[str, StepBackend]) -> None:
    messages: list[str] = []

    def progress(fraction: float, message: str = "", preview_png: bytes | None = None) -> None:
        messages.append(message)
        if len(messages) > 1:  # cancelled while the first step ran: refused at the next report
            raise StepCancelled()

    with pytest.raises(StepCancelled):
        run_step_function(
            backends["sdxl-img2img"], request("sdxl-img2img", params={"steps": 8, "strength": 1.0}), progress
        )
    assert messages == ["img2img: step 1/8", "img2img: step 2/8"]


def test_without_alpha_the_matting_model_separates_the_subject(backends: dict[str, StepBackend]) -> None:
    output = run_step_function(backends["esrgan"], request("esrgan", image=concept_png(alpha=False)))
    assert any("matting model" in note for note in output.notes)


def test_without_a_matting_model_the_border_estimate_is_used(tiny_models: TinyModels, tmp_path: Path) -> None:
    root = tiny_models.require("esrgan-x4")
    shutil.copytree(root / "esrgan-x4", tmp_path / "esrgan-x4")
    backend = STEP.backend("esrgan").create(BackendContext(ModelStore(tmp_path), CPU))
    assert "matte" not in backend.describe().version
    output = run_step_function(backend, request("esrgan", image=concept_png(alpha=False)))
    assert any("border colour" in note for note in output.notes)


def test_version_names_the_weights(backends: dict[str, StepBackend], store: ModelStore) -> None:
    version = backends["sdxl-img2img+esrgan"].describe().version
    for name in MODELS:
        assert f"{name}.{store.manifest(name).fingerprint()}" in version
    assert "esrgan-x4" not in backends["sdxl-img2img"].describe().version


@pytest.mark.parametrize(
    ("backend", "model", "file"),
    [
        ("esrgan", "esrgan-x4", "model.safetensors"),
        ("sdxl-img2img", "sdxl-base", "unet/diffusion_pytorch_model.safetensors"),
        ("sdxl-img2img+esrgan", "matte", "model.onnx"),
    ],
)
def test_truncated_model_file_refuses_to_load(
    store: ModelStore, tmp_path: Path, backend: str, model: str, file: str
) -> None:
    assert store.root is not None
    for name in MODELS:
        shutil.copytree(store.root / name, tmp_path / name)
    path = tmp_path / model / file
    path.write_bytes(path.read_bytes()[:-64])
    created = STEP.backend(backend).create(BackendContext(ModelStore(tmp_path), CPU))
    with pytest.raises(ModelError, match=re.escape(str(path))):
        created.load()


def test_tiny_esrgan_is_deterministic_and_recognised(tmp_path: Path, store: ModelStore) -> None:
    build_tiny_esrgan(tmp_path)
    assert store.root is not None
    assert (tmp_path / "model.safetensors").read_bytes() == (
        store.root / "esrgan-x4/model.safetensors"
    ).read_bytes()
    upscaler = load_esrgan(store.verified("esrgan-x4"), placement(CPU))
    assert upscaler.label.endswith("(ESRGAN)")


def test_tiles_assemble_the_whole_image() -> None:
    """With a model whose output depends on each pixel alone, tiling must be invisible."""
    import torch

    nearest = torch.nn.Upsample(scale_factor=4, mode="nearest")
    rng = np.random.default_rng(5)
    rgb = rng.integers(0, 256, (37, 29, 3), dtype=np.uint8)
    alpha = np.zeros((37, 29), dtype=np.float32)
    alpha[8:30, 6:22] = 1.0
    options = RefineOptions()
    whole = EsrganUpscaler(nearest, 4, placement(CPU))(rgb, alpha, (0, 0, 0), options)
    tiled = EsrganUpscaler(nearest, 4, placement(CPU), tile=8)(rgb, alpha, (0, 0, 0), options)
    assert whole[0].shape == (74, 58, 3)
    assert np.array_equal(whole[0], tiled[0]) and np.array_equal(whole[1], tiled[1])


def test_refine_gates_reject_nothing_a_backend_makes(backends: dict[str, StepBackend]) -> None:
    """Every model backend's output through the step's gate, from a concept with no alpha."""
    for name, backend in backends.items():
        output: StepOutput = run_step_function(
            backend, request(name, image=concept_png(alpha=False)), no_progress
        )
        assert rgba_of(output.files[0].data)[..., 3].any()
