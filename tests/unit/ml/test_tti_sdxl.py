"""The tti step's sdxl backend on tiny random-weight SDXL models, loaded as production loads them."""

from __future__ import annotations

import io
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from assetcore.concept_image import read_concept_metadata
from assetcore.config import MlSettings
from assetcore.models.manifest import describe_folder, write_manifest
from assetcore.models.store import ModelError, ModelStore
from assetcore.proto.v1 import job_pb2
from assetcore.worker.backend import (
    BackendContext,
    ErrorCode,
    StepBackend,
    StepCancelled,
    StepError,
    StepOutput,
)
from services.tti.step import STEP
from services.tti.subject import matted_subject
from tests.support.steps import no_progress, run_step_function, step_request
from tests.support.tiny_models import TinyModels

pytestmark = pytest.mark.ml

SIZE = 256  # TtiOptions' smallest size; the tiny models draw at 64 px
FAST = {"size": SIZE, "resolution": 64, "steps": 3}


def _backend(root: Path) -> StepBackend:
    backend = STEP.backend("sdxl").create(
        BackendContext(ModelStore(root), MlSettings(device="cpu", threads=1))
    )
    backend.load()
    return backend


def _store_of(tmp_path: Path, models: dict[str, Path]) -> Path:
    """A store holding copies of `models` (name -> folder): tests may alter or add to it."""
    for name, folder in models.items():
        shutil.copytree(folder, tmp_path / name)
    return tmp_path


def _run(
    backend: StepBackend, params: dict[str, Any], *, seed: int = 7, progress: Any = no_progress
) -> StepOutput:
    job = job_pb2.JobInput(prompt=job_pb2.Prompt(concept="a knight in red armor"), seed=seed)
    return run_step_function(
        backend, step_request("tti", job, {**FAST, **params}, seed, backend="sdxl"), progress
    )


def _files(output: StepOutput) -> dict[str, bytes]:
    return {f.name: f.data for f in output.files}


@pytest.fixture(scope="module")
def full(tiny_models: TinyModels) -> StepBackend:
    """Base, refiner and matting model."""
    return _backend(tiny_models.require("sdxl-base", "sdxl-refiner", "matte"))


@pytest.fixture(scope="module")
def base_only(tiny_models: TinyModels, tmp_path_factory: pytest.TempPathFactory) -> StepBackend:
    root = tiny_models.require("sdxl-base", "matte")
    return _backend(
        _store_of(tmp_path_factory.mktemp("base-only"), {n: root / n for n in ("sdxl-base", "matte")})
    )


def test_declaration() -> None:
    spec = STEP.backend("sdxl")
    assert spec.pool == "gpu"
    assert [(m.name, m.optional) for m in spec.models] == [
        ("sdxl-base", False),
        ("sdxl-refiner", True),
        ("matte", True),
    ]
    assert {"image", "candidate_1", "candidate_8"} <= set(STEP.produces)


def test_tiny_layout(tiny_models: TinyModels) -> None:
    root = tiny_models.require("sdxl-base", "sdxl-refiner")
    for name, parts in {
        "sdxl-base": {
            "unet",
            "vae",
            "text_encoder",
            "text_encoder_2",
            "tokenizer",
            "tokenizer_2",
            "scheduler",
        },
        "sdxl-refiner": {"unet", "vae", "text_encoder_2", "tokenizer_2", "scheduler"},
    }.items():
        folder = root / name
        assert {p.name for p in folder.iterdir() if p.is_dir()} == parts
        assert sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) < 20_000_000
    # the pair shares its latent space: the same VAE bytes
    vae = "vae/diffusion_pytorch_model.safetensors"
    assert (root / "sdxl-base" / vae).read_bytes() == (root / "sdxl-refiner" / vae).read_bytes()


def test_base_and_refiner_give_gated_concepts(full: StepBackend, base_only: StepBackend) -> None:
    refined, plain = _run(full, {}), _run(base_only, {})
    assert _files(refined)["image"] != _files(plain)["image"]
    for output in (refined, plain):
        files = _files(output)
        assert set(files) == {"image", "candidate_1"} and files["image"] == files["candidate_1"]
        with Image.open(io.BytesIO(files["image"])) as image:
            assert (image.mode, image.size) == ("RGBA", (SIZE, SIZE))
        assert read_concept_metadata(files["image"])["view"] == "front"
    assert "sdxl-refiner" in full.describe().version and "sdxl-refiner" not in base_only.describe().version


def test_same_seed_same_bytes_and_candidates(full: StepBackend) -> None:
    first, again = _files(_run(full, {"candidates": 3})), _files(_run(full, {"candidates": 3}))
    assert first == again
    assert set(first) == {"image", "candidate_1", "candidate_2", "candidate_3"}
    assert len({first["candidate_1"], first["candidate_2"], first["candidate_3"]}) == 3
    # candidate k is drawn from seed + k - 1 whatever the count: candidate 1 is the one-image job's
    assert first["candidate_1"] == _files(_run(full, {}))["image"]
    assert first["candidate_2"] == _files(_run(full, {}, seed=8))["image"]


def test_scheduler_and_negative_prompt_change_the_image(base_only: StepBackend) -> None:
    default = _files(_run(base_only, {}))["image"]
    images = [default]
    for params in ({"scheduler": "dpmpp_2m"}, {"scheduler": "euler_a"}, {"negative_prompt": "blue"}):
        images.append(_files(_run(base_only, params))["image"])
    assert len(set(images)) == len(images)
    assert _files(_run(base_only, {}))["image"] == default  # a job's scheduler does not outlive it


def test_unknown_scheduler_is_refused() -> None:
    job = job_pb2.JobInput(prompt=job_pb2.Prompt(concept="a chest"))
    with pytest.raises(Exception, match="unknown scheduler 'plms'"):
        step_request("tti", job, {"scheduler": "plms"}, backend="sdxl")


def test_progress_previews_and_cancellation_within_one_step(full: StepBackend) -> None:
    reports: list[tuple[float, str, bytes | None]] = []
    _run(full, {"steps": 4}, progress=lambda f, m="", p=None: reports.append((f, m, p)))
    steps = [r for r in reports if ": step " in r[1]]
    assert len(steps) == 4  # 3 base + 1 refiner step
    assert [f for f, _, _ in reports] == sorted(f for f, _, _ in reports)
    previews = [p for _, _, p in steps if p is not None]
    assert previews
    with Image.open(io.BytesIO(previews[0])) as preview:
        assert preview.format == "PNG"

    unet_calls = 0

    def count(*_: object) -> None:
        nonlocal unet_calls
        unet_calls += 1

    hook = full._models.base.unet.register_forward_hook(count)  # type: ignore[attr-defined]
    seen = 0

    def cancel_after_two(fraction: float, message: str = "", preview: bytes | None = None) -> None:
        nonlocal seen
        if ": step " in message:
            seen += 1
            if seen == 2:
                raise StepCancelled

    try:
        with pytest.raises(StepCancelled):
            _run(full, {"steps": 20}, progress=cancel_after_two)
    finally:
        hook.remove()
    assert unet_calls <= 3


def _lora_store(tiny_models: TinyModels, tmp_path: Path) -> Path:
    """The tiny store plus "lora-test": a peft LoRA of the tiny UNet, saved as diffusers saves one."""
    from diffusers import StableDiffusionXLPipeline
    from diffusers.utils.state_dict_utils import convert_state_dict_to_diffusers
    from peft import LoraConfig
    from peft.utils import get_peft_model_state_dict

    from assetcore.ml.tiny_sdxl import tiny_unet

    root = tiny_models.require("sdxl-base")
    store = _store_of(tmp_path, {"sdxl-base": root / "sdxl-base"})
    unet = tiny_unet(seed=11)
    unet.add_adapter(LoraConfig(r=4, lora_alpha=4, target_modules=["to_q", "to_k", "to_v", "to_out.0"]))
    for name, parameter in unet.named_parameters():
        if "lora_B" in name:  # peft starts B at zero: a LoRA that changes nothing
            parameter.data.normal_(0.0, 0.5)
    folder = store / "lora-test"
    layers = convert_state_dict_to_diffusers(get_peft_model_state_dict(unet))
    StableDiffusionXLPipeline.save_lora_weights(folder, unet_lora_layers=layers, safe_serialization=True)
    write_manifest(
        folder, describe_folder(folder, name="lora-test", version="t", licence="MIT", source="test")
    )
    return store


def test_lora_applies_per_job(tiny_models: TinyModels, tmp_path: Path) -> None:
    backend = _backend(_lora_store(tiny_models, tmp_path))
    plain = _files(_run(backend, {}))["image"]
    output = _run(backend, {"loras": [{"name": "lora-test", "scale": 1.0}]})
    assert _files(output)["image"] != plain
    assert any("LoRA lora-test" in note for note in output.notes)
    assert _files(_run(backend, {}))["image"] == plain  # the next job without it is unaffected
    with pytest.raises(StepError) as missing:
        _run(backend, {"loras": [{"name": "lora-absent"}]})
    assert missing.value.code == ErrorCode.INVALID_PARAMS and "lora-absent" in missing.value.message


def test_single_file_checkpoint_matches_the_folder(tiny_models: TinyModels, tmp_path: Path) -> None:
    from assetcore.ml.tiny_sdxl import build_base_single_file

    folder = tmp_path / "sdxl-base"
    folder.mkdir()
    build_base_single_file(folder)
    write_manifest(
        folder, describe_folder(folder, name="sdxl-base", version="t", licence="MIT", source="test")
    )
    assert not list(folder.glob("unet/*.safetensors"))  # the weights are the checkpoint's only
    from_file = _backend(tmp_path)
    from_folder = _backend(
        _store_of(tmp_path / "folder", {"sdxl-base": tiny_models.require("sdxl-base") / "sdxl-base"})
    )
    assert from_file.describe().version != from_folder.describe().version
    images = [_rgba(_files(_run(b, {}, progress=no_progress))["image"]) for b in (from_file, from_folder)]
    assert np.array_equal(images[0], images[1])


def test_wrong_hash_refuses_to_load_naming_the_file(tiny_models: TinyModels, tmp_path: Path) -> None:
    store = _store_of(tmp_path, {"sdxl-base": tiny_models.require("sdxl-base") / "sdxl-base"})
    weights = store / "sdxl-base" / "unet" / "diffusion_pytorch_model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(ModelError, match=r"unet/diffusion_pytorch_model\.safetensors has sha256"):
        _backend(store)


def test_without_a_matting_model_the_border_colour_separates_the_subject(
    tiny_models: TinyModels, tmp_path: Path
) -> None:
    backend = _backend(_store_of(tmp_path, {"sdxl-base": tiny_models.require("sdxl-base") / "sdxl-base"}))
    assert "matte" not in backend.describe().version
    output = _run(backend, {})  # the gate ran: a subject clear of the border
    assert _rgba(_files(output)["image"])[..., 3].any()


def test_a_plain_picture_has_no_subject() -> None:
    with pytest.raises(StepError) as empty:
        matted_subject(np.full((64, 64, 3), 200, np.uint8), None)
    assert empty.value.code == ErrorCode.EMPTY_MATTE


def _rgba(png: bytes) -> np.ndarray[Any, Any]:
    with Image.open(io.BytesIO(png)) as image:
        return np.asarray(image)
