"""SDXL UNet and VAE decoder exported to ONNX agree with torch (assetcore/ml/onnx_export.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("onnxruntime", reason="the ml extra is not installed")

from assetcore.ml.torchvision_compat import ensure_torchvision_importable

ensure_torchvision_importable()  # before diffusers: tiny_unet/tiny_vae import it bare

from assetcore.ml import onnx_export as ox  # noqa: E402
from assetcore.ml.tiny_sdxl import build_base, tiny_unet, tiny_vae  # noqa: E402
from assetcore.models.manifest import describe_folder, write_manifest  # noqa: E402
from assetcore.models.store import ModelStore  # noqa: E402

pytestmark = pytest.mark.ml


@pytest.fixture(scope="module")
def unet_export(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path]:
    unet = tiny_unet().eval()
    path = ox.export_unet(
        unet, tmp_path_factory.mktemp("onnx") / "unet.onnx", ox.unet_example_inputs(unet, latent_size=16)
    )
    return unet, path


def test_unet_export_matches_torch_at_other_shapes(unet_export: tuple[Any, Path]) -> None:
    unet, path = unet_export
    # Exported at batch 2, 16x16 latents, 77 tokens: checked at batch 1, 8x8, 9 tokens.
    inputs = ox.unet_example_inputs(unet, batch=1, latent_size=8, tokens=9, seed=3)
    check = ox.check_export(path, ox.unet_for_export(unet), inputs, component="unet", threads=1)
    assert check.passed, check.as_dict()
    assert check.shapes["sample"] == [1, 4, 8, 8]
    assert check.reference_max_abs > 0.1  # the comparison is of real outputs, not zeros


def test_the_check_fails_against_other_weights(unet_export: tuple[Any, Path]) -> None:
    unet, path = unet_export
    other = ox.unet_for_export(tiny_unet(seed=7).eval())
    check = ox.check_export(path, other, ox.unet_example_inputs(unet, batch=1), component="unet", threads=1)
    assert not check.passed and check.relative > 100 * ox.TOLERANCE.rtol


def test_onnx_unet_runs_a_denoising_loop_like_torch(unet_export: tuple[Any, Path]) -> None:
    import torch
    from diffusers import EulerDiscreteScheduler

    from assetcore.ml.tiny_sdxl import SCHEDULER_CONFIG

    unet, path = unet_export
    onnx_unet = ox.OnnxUNet(path, threads=1)
    cond = ox.unet_example_inputs(unet, batch=2, latent_size=8, tokens=5, seed=4)
    added = {"text_embeds": cond["text_embeds"], "time_ids": cond["time_ids"]}

    def denoise(model: Any) -> torch.Tensor:
        scheduler = EulerDiscreteScheduler.from_config(SCHEDULER_CONFIG)
        scheduler.set_timesteps(3)
        latents = cond["sample"] * scheduler.init_noise_sigma
        for t in scheduler.timesteps:
            sample = scheduler.scale_model_input(latents, t)
            with torch.no_grad():
                noise = model(
                    sample, t, cond["encoder_hidden_states"], added_cond_kwargs=added, return_dict=False
                )[0]
            latents = scheduler.step(noise, t, latents, return_dict=False)[0]
        return latents

    via_onnx = denoise(onnx_unet)
    assert torch.equal(via_onnx, denoise(onnx_unet))  # deterministic on CPU
    via_torch = denoise(unet)
    limit = ox.TOLERANCE.limit(float(via_torch.abs().max()))
    assert float((via_onnx - via_torch).abs().max()) <= limit


def test_onnx_unet_refuses_a_file_that_is_not_a_unet_export(tmp_path: Path) -> None:
    vae = tiny_vae().eval()
    path = ox.export_vae_decoder(vae, tmp_path / "vae.onnx", ox.vae_example_inputs(vae))
    with pytest.raises(ValueError, match="not an SDXL UNet export"):
        ox.OnnxUNet(path)


def test_export_sdxl_from_a_stored_pipeline_checks_both_parts(tmp_path: Path) -> None:
    folder = tmp_path / "store" / "sdxl-base"
    folder.mkdir(parents=True)
    build_base(folder)
    write_manifest(
        folder, describe_folder(folder, name="sdxl-base", version="t", licence="MIT", source="test")
    )
    stored = ModelStore(tmp_path / "store").verified("sdxl-base")

    checks = ox.export_sdxl(stored.folder, tmp_path / "onnx", latent_size=16, threads=1)

    assert [c.component for c in checks] == ["unet", "vae_decoder"]
    assert all(c.passed for c in checks), [c.as_dict() for c in checks]
    vae_check = checks[1]
    assert vae_check.shapes["latents"] == [1, 4, 8, 8]
    assert (tmp_path / "onnx" / "unet" / "model.onnx").stat().st_size > 0
    assert (tmp_path / "onnx" / "vae_decoder" / "model.onnx").stat().st_size > 0
