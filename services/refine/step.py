"""The refine step: concept image -> clean, centred RGBA "image" (binary matte, 1 px edge); x2 on request."""

from __future__ import annotations

from assetcore.steps.contract import BackendSpec, ModelUse, Resources, StepDefinition
from services.refine.options import Img2ImgOptions, RefineOptions

SDXL_BASE = ModelUse("sdxl-base", tiny="assetcore.ml.tiny_sdxl:build_base")
ESRGAN_X4 = ModelUse("esrgan-x4", tiny="services.refine.esrgan:build_tiny_esrgan")
MATTE = ModelUse("matte", tiny="assetcore.ml.matting:build_tiny_matte", optional=True)

STEP = StepDefinition(
    name="refine",
    description="Matte cleanup, framing and optional x2 upscale of the concept image",
    consumes=("image",),
    produces=("image",),
    backends={
        "cpu": BackendSpec("services.refine.backends.cpu:CpuBackend", pool="cpu"),
        "sdxl-img2img": BackendSpec(
            "services.refine.backends.ml:img2img",
            pool="gpu",
            options=Img2ImgOptions,
            models=(SDXL_BASE, MATTE),
        ),
        "esrgan": BackendSpec("services.refine.backends.ml:esrgan", pool="gpu", models=(ESRGAN_X4, MATTE)),
        "sdxl-img2img+esrgan": BackendSpec(
            "services.refine.backends.ml:img2img_esrgan",
            pool="gpu",
            options=Img2ImgOptions,
            models=(SDXL_BASE, ESRGAN_X4, MATTE),
        ),
    },
    default_backend="cpu",
    options=RefineOptions,
    required_inputs=("image",),
    precheck="services.refine.gates:check_upscale",
    gate="services.refine.gates:check_refined_output",
    interactive=True,
    reads=("upscale",),
    resources=Resources(cpu=2048, memory_mib=4096, min_tasks=1, max_tasks=10, backlog_per_task=8),
    done_message="refined image ready",
)
