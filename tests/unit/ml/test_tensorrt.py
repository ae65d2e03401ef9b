"""The TensorRT UNet path (assetcore/ml/tensorrt.py): runs only with CUDA and torch_tensorrt."""

from __future__ import annotations

import pytest

pytest.importorskip("torch", reason="the ml extra is not installed")

from assetcore.ml.tensorrt import compile_unet_tensorrt, tensorrt_unavailable

pytestmark = pytest.mark.ml


def test_without_tensorrt_the_compile_refuses_with_the_reason() -> None:
    import torch

    reason = tensorrt_unavailable()
    if reason is None:
        pytest.skip("TensorRT is available here: the refusal cannot be observed")
    assert "CUDA" in reason or "torch_tensorrt" in reason
    with pytest.raises(RuntimeError, match="TensorRT is unavailable: " + reason.split(" (")[0]):
        compile_unet_tensorrt(torch.nn.Linear(2, 2), dtype=torch.float16)


def test_tensorrt_unet_matches_eager_in_fp16() -> None:
    reason = tensorrt_unavailable()
    if reason is not None:
        pytest.skip(f"TensorRT path not run: {reason}")
    import torch

    from assetcore.ml.onnx_export import unet_example_inputs
    from assetcore.ml.tiny_sdxl import tiny_unet
    from assetcore.ml.torchvision_compat import ensure_torchvision_importable

    ensure_torchvision_importable()
    unet = tiny_unet().eval().to("cuda", torch.float16)
    inputs = {k: v.to("cuda", torch.float16) for k, v in unet_example_inputs(unet, latent_size=16).items()}
    added = {"text_embeds": inputs["text_embeds"], "time_ids": inputs["time_ids"]}
    args = (inputs["sample"], inputs["timestep"], inputs["encoder_hidden_states"])
    with torch.no_grad():
        eager = unet(*args, added_cond_kwargs=added, return_dict=False)[0]
        compiled = compile_unet_tensorrt(unet, dtype=torch.float16)
        fast = compiled(*args, added_cond_kwargs=added, return_dict=False)[0]
        assert compiled.config is unet.config  # the pipeline still reads the UNet's attributes
    # fp16 kernels in another order: unit roundoff 1e-3, a few ulps through the depth.
    assert float((fast - eager).abs().max()) <= 2e-2 * float(eager.abs().max()) + 1e-3
