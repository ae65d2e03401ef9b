"""The tti step's "sdxl" backend: SDXL base (plus refiner when the store has one) -> concept images.

Each candidate k (1..N) is drawn from seed request.seed + k - 1, so candidate 1 is the same
image whatever N is; all are kept ("candidate_k") and the first with a subject is "image".
With a refiner the denoising is split: the base runs the noisiest `refiner_split` share and
hands its latents to the refiner (SDXL's ensemble-of-experts mode), which finishes them.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from assetcore.concept_image import concept_metadata, encode_concept_png
from assetcore.geometry.preview import render_image_preview
from assetcore.imaging.image_io import RGB8
from assetcore.ml.denoise import DenoiseProgress
from assetcore.ml.matting import SubjectMatter, load_matter
from assetcore.ml.previews import LatentPreviewer
from assetcore.ml.runtime import TorchPlacement, placement
from assetcore.ml.sdxl import load_sdxl, make_scheduler, use_loras
from assetcore.ml.torchvision_compat import ensure_torchvision_importable
from assetcore.models.store import ModelError, StoredModel
from assetcore.prompting import analyse_prompt
from assetcore.worker.backend import (
    BackendContext,
    BackendInfo,
    ErrorCode,
    OutputFile,
    Progress,
    StepError,
    StepOutput,
    StepRequest,
)
from services.tti.options import TtiOptions
from services.tti.prompt_text import prompt_text
from services.tti.sdxl_options import SdxlOptions
from services.tti.sdxl_prompt import TtiPrompt, build_prompt
from services.tti.subject import Subject, matted_subject

BASE, REFINER, MATTE = "sdxl-base", "sdxl-refiner", "matte"
_DRAW_SHARE = 0.95  # progress share of the denoising; the rest is matting and encoding


@dataclass(frozen=True)
class _Models:
    placement: TorchPlacement
    base: Any  # StableDiffusionXLPipeline
    refiner: Any | None  # StableDiffusionXLImg2ImgPipeline
    matter: SubjectMatter | None
    previewer: LatentPreviewer
    # The models' own schedulers, by pipeline attribute: each job starts from these.
    schedulers: dict[str, Any]

    @property
    def native_side(self) -> int:
        """The base model's trained resolution (the UNet's sample size in pixels): SDXL's 1024."""
        return int(self.base.default_sample_size * self.base.vae_scale_factor)


@dataclass(frozen=True)
class _Draw:
    """One job's settings shared by its candidates."""

    prompt: TtiPrompt
    options: SdxlOptions
    refine: bool


class SdxlBackend:
    def __init__(self, context: BackendContext) -> None:
        self._context = context
        self._models: _Models | None = None

    def describe(self) -> BackendInfo:
        store = self._context.store
        weights = [f"{n}.{fp}" for n in (BASE, REFINER, MATTE) if (fp := store.fingerprint(n)) is not None]
        return BackendInfo("sdxl", "+".join(["1", *weights]), ("humanoid", "quadruped", "prop", "candidates"))

    def load(self) -> None:
        ensure_torchvision_importable()
        from diffusers import StableDiffusionXLImg2ImgPipeline, StableDiffusionXLPipeline

        store = self._context.store
        where = placement(self._context.ml)
        base: Any = load_sdxl(StableDiffusionXLPipeline, store.verified(BASE), where)
        refiner: Any = None
        if store.missing(REFINER) is None:
            refiner = load_sdxl(StableDiffusionXLImg2ImgPipeline, store.verified(REFINER), where)
        own = {"base": base.scheduler} | ({"refiner": refiner.scheduler} if refiner is not None else {})
        self._models = _Models(where, base, refiner, load_matter(store), _fit_previewer(base.vae), own)

    def run(self, request: StepRequest, progress: Progress) -> StepOutput:
        models = self._loaded()
        size = request.options_as(TtiOptions).size
        options = request.options_as(SdxlOptions)
        analysis = analyse_prompt(prompt_text(request.job))
        draw = _Draw(
            build_prompt(request.job, analysis, options.negative_prompt),
            options,
            refine=models.refiner is not None and options.refiner,
        )
        notes = [f"subject: {analysis.subject} ({analysis.category}, {draw.prompt.view} view)"]
        notes += self._apply_loras(models, options)
        self._set_schedulers(models, options.scheduler)

        matter = models.matter.alpha if models.matter is not None else None
        subjects: dict[int, Subject] = {}
        for k in range(1, options.candidates + 1):
            span = ((k - 1) / options.candidates * _DRAW_SHARE, k / options.candidates * _DRAW_SHARE)
            rgb = self._draw(models, draw, request.seed + k - 1, k, progress, span)
            try:
                subjects[k] = matted_subject(_resized(rgb, size), matter)
            except StepError as exc:
                if exc.code != ErrorCode.EMPTY_MATTE:
                    raise
                notes.append(f"candidate {k}: {exc.message}")
        if not subjects:
            raise StepError(
                ErrorCode.EMPTY_MATTE, f"tti: none of the {options.candidates} images has a subject"
            )

        progress(_DRAW_SHARE, "encoding the concept images")
        metadata = concept_metadata(
            view=draw.prompt.view,
            category=analysis.category,
            subject=analysis.subject,
            symmetric=False,  # a drawn matte is never exactly mirror-symmetric
        )
        pngs = {k: encode_concept_png(s.rgba, metadata) for k, s in subjects.items()}
        chosen = min(pngs)
        notes += [
            f"candidate {k}: subject reframed away from the border" for k, s in subjects.items() if s.reframed
        ]
        files = [OutputFile("image", "image/png", pngs[chosen])]
        files += [OutputFile(f"candidate_{k}", "image/png", png) for k, png in pngs.items()]
        return StepOutput(
            files=files,
            preview_png=render_image_preview(pngs[chosen]),
            notes=notes,
            metrics={
                "size": float(size),
                "subject_px": float(subjects[chosen].subject_px),
                "candidates": float(len(pngs)),
                "chosen": float(chosen),
            },
        )

    def _loaded(self) -> _Models:
        if self._models is None:
            raise RuntimeError("SdxlBackend.run before load()")
        return self._models

    def _apply_loras(self, models: _Models, options: SdxlOptions) -> list[str]:
        """Activate the job's LoRAs on the base; their fingerprints go to the notes (lineage)."""
        chosen: list[tuple[StoredModel, float]] = []
        for lora in options.loras:
            try:
                chosen.append((self._context.store.verified(lora.name), lora.scale))
            except ModelError as exc:
                raise StepError(ErrorCode.INVALID_PARAMS, f"tti: LoRA {lora.name!r}: {exc}") from None
        try:
            use_loras(models.base, chosen)
        except (ValueError, RuntimeError, KeyError) as exc:
            names = ", ".join(lora.name for lora in options.loras)
            raise StepError(ErrorCode.INVALID_PARAMS, f"tti: LoRA {names} does not fit SDXL: {exc}") from None
        return [f"LoRA {m.manifest.name} ({m.fingerprint}) at scale {scale:g}" for m, scale in chosen]

    def _set_schedulers(self, models: _Models, name: str | None) -> None:
        """A fresh scheduler per job (no state carried over), of the chosen kind or the model's own."""
        for attribute, own in models.schedulers.items():
            fresh = make_scheduler(name, own.config) if name else type(own).from_config(own.config)
            getattr(models, attribute).scheduler = fresh

    def _draw(
        self, models: _Models, draw: _Draw, seed: int, k: int, progress: Progress, span: tuple[float, float]
    ) -> RGB8:
        options = draw.options
        common: dict[str, Any] = {
            "prompt": draw.prompt.positive,
            "negative_prompt": draw.prompt.negative or None,
            "num_inference_steps": options.steps,
            "guidance_scale": options.guidance,
            "generator": models.placement.generator(seed),
            "callback_on_step_end_tensor_inputs": ["latents"],
        }
        label = f"candidate {k}/{options.candidates}"
        start, end = span
        if not draw.refine or models.refiner is None:
            tracker = DenoiseProgress(
                progress, label=label, steps=options.steps, span=span, previewer=models.previewer
            )
            side = options.resolution or models.native_side
            images = models.base(
                height=side, width=side, output_type="np", callback_on_step_end=tracker, **common
            )
            return _uint8(images.images[0])
        split = options.refiner_split
        base_steps = max(1, round(options.steps * split))
        middle = start + (end - start) * split
        base_tracker = DenoiseProgress(
            progress,
            label=f"{label} base",
            steps=base_steps,
            span=(start, middle),
            previewer=models.previewer,
        )
        latents = models.base(
            height=options.resolution or models.native_side,
            width=options.resolution or models.native_side,
            denoising_end=split,
            output_type="latent",
            callback_on_step_end=base_tracker,
            **common,
        ).images
        refiner_tracker = DenoiseProgress(
            progress,
            label=f"{label} refiner",
            steps=max(1, options.steps - base_steps),
            span=(middle, end),
            previewer=models.previewer,
        )
        images = models.refiner(
            image=latents,
            denoising_start=split,
            output_type="np",
            callback_on_step_end=refiner_tracker,
            **common,
        )
        return _uint8(images.images[0])


def _fit_previewer(vae: Any) -> LatentPreviewer:
    """Fit on a float32 copy when the VAE runs in half precision: SDXL's VAE overflows in fp16
    (its config's force_upcast), and the fit decodes directly."""
    import torch

    if next(vae.parameters()).dtype == torch.float32:
        return LatentPreviewer.fit(vae)
    return LatentPreviewer.fit(copy.deepcopy(vae).to(torch.float32))


def _uint8(image: Any) -> RGB8:
    """diffusers' "np" output (H, W, 3) floats in 0..1 as 8-bit RGB."""
    rgb: RGB8 = np.round(np.clip(np.asarray(image, dtype=np.float32), 0.0, 1.0) * 255.0).astype(np.uint8)
    return rgb


def _resized(rgb: RGB8, size: int) -> RGB8:
    if rgb.shape[0] == size and rgb.shape[1] == size:
        return rgb
    resized: RGB8 = np.asarray(
        Image.fromarray(rgb, mode="RGB").resize((size, size), Image.Resampling.LANCZOS)
    )
    return resized
