"""The refine stages every backend composes: find the subject, optionally redraw the image, clean and
frame the matte, upscale x2 when the job asks, encode.

Backends differ only in the parts they plug in: a `Retouch` (the img2img pass), an `Upscaler`
(resampling or a super-resolution model) and an `AlphaModel` (a matting model instead of the
border-colour estimate).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from assetcore.geometry.preview import render_image_preview
from assetcore.imaging.image_io import RGB8, Alpha, SourceImage, decode_image, encode_png
from assetcore.imaging.matte import CleanMatte, Mask, border_colour, clean_matte, edge_alpha, estimate_matte
from assetcore.worker.backend import ErrorCode, OutputFile, Progress, StepError, StepOutput, StepRequest
from services.refine.colour import bleed_colours
from services.refine.framing import frame_subject
from services.refine.options import RefineOptions
from services.refine.resample import resize_matted

Colour = tuple[int, int, int]
AlphaModel = Callable[[RGB8], Alpha]  # an image's subject alpha, 0..1 (assetcore.ml.matting)
_RETOUCH_SHARE = 0.6  # of the progress bar, when a retouch runs


class Retouch(Protocol):
    def __call__(
        self, rgb: RGB8, request: StepRequest, progress: Progress, span: tuple[float, float]
    ) -> RGB8:
        """The image redrawn at its size, reporting progress within `span`."""


class Upscaler(Protocol):
    label: str

    def __call__(
        self, rgb: RGB8, alpha: Alpha, backdrop: Colour, options: RefineOptions
    ) -> tuple[RGB8, Alpha]:
        """The bled, framed image at twice its side, its alpha re-edged."""


class ResampleUpscaler:
    label = "upscaled x2 (Lanczos)"

    def __call__(
        self, rgb: RGB8, alpha: Alpha, backdrop: Colour, options: RefineOptions
    ) -> tuple[RGB8, Alpha]:
        size = (2 * rgb.shape[1], 2 * rgb.shape[0])
        return resize_matted(rgb, alpha, size, backdrop, sharpen=options.sharpen)


@dataclass(frozen=True)
class Subject:
    rgb: RGB8
    mask: Mask
    soft: Alpha | None  # the alpha the edge pixels take; None: a smoothed mask


def refine_image(
    request: StepRequest,
    progress: Progress,
    *,
    upscaler: Upscaler,
    retouch: Retouch | None = None,
    matter: AlphaModel | None = None,
) -> StepOutput:
    options = request.options_as(RefineOptions)
    source = decode_image(request.inputs["image"].data)
    notes: list[str] = []
    backdrop = border_colour(source.rgb)
    subject = _source_subject(source, matter, notes)
    start = 0.0
    if retouch is None:
        progress(0.2, "cleaning the matte")
        matte = _cleaned(subject, options)
    else:
        start = _RETOUCH_SHARE
        rgb = retouch(_flattened(source, backdrop), request, progress, (0.0, start))
        backdrop = border_colour(rgb)
        progress(start + 0.2 * (1.0 - start), "matting the redrawn image")
        subject, matte = _rematted(rgb, subject, matter, options, notes)
    if matte.specks_removed or matte.holes_filled:
        notes.append(f"matte: removed {matte.specks_removed} specks, filled {matte.holes_filled} holes")
    alpha = edge_alpha(matte.mask, subject.soft)
    rgb = bleed_colours(subject.rgb, alpha, backdrop)

    progress(start + 0.5 * (1.0 - start), "framing the subject")
    side = max(alpha.shape)
    framed = frame_subject(rgb, alpha, backdrop, side=side, margin=options.margin)
    if framed.scale != 1.0:
        notes.append(f"subject scaled by {framed.scale:.3f} to fit the margin")
    rgb, alpha = framed.rgb, framed.alpha
    if request.job.upscale:
        progress(start + 0.7 * (1.0 - start), "upscaling x2")
        rgb, alpha = upscaler(rgb, alpha, backdrop, options)
        notes.append(f"{upscaler.label} to {alpha.shape[0]} px")
    return _output(rgb, alpha, source.text, notes, matte)


def _source_subject(source: SourceImage, matter: AlphaModel | None, notes: list[str]) -> Subject:
    if source.alpha is not None:
        return Subject(source.rgb, source.alpha >= 0.5, source.alpha)
    if matter is not None:
        notes.append("no alpha matte: the matting model separated the subject")
        return _matted(source.rgb, matter)
    notes.append("no alpha matte: the subject was separated from the border colour")
    return Subject(source.rgb, estimate_matte(source.rgb), None)


def _matted(rgb: RGB8, matter: AlphaModel) -> Subject:
    soft = matter(rgb)
    return Subject(rgb, soft >= 0.5, soft)


def _rematted(
    rgb: RGB8, before: Subject, matter: AlphaModel | None, options: RefineOptions, notes: list[str]
) -> tuple[Subject, CleanMatte]:
    """The redrawn image's own matte; the concept's when the redrawn one finds no subject."""
    subject = _matted(rgb, matter) if matter is not None else Subject(rgb, estimate_matte(rgb), None)
    try:
        return subject, _cleaned(subject, options)
    except StepError as exc:
        if exc.code != ErrorCode.EMPTY_MATTE:
            raise
    notes.append("the redrawn image's matte is empty: kept the concept's matte")
    subject = Subject(rgb, before.mask, before.soft)
    return subject, _cleaned(subject, options)


def _cleaned(subject: Subject, options: RefineOptions) -> CleanMatte:
    return clean_matte(subject.mask, min_component=options.min_component, max_hole=options.max_hole)


def _flattened(source: SourceImage, backdrop: Colour) -> RGB8:
    """The concept over a plain backdrop: what an image model expects to redraw."""
    if source.alpha is None:
        return source.rgb
    alpha = source.alpha[..., None]
    mixed = source.rgb * alpha + np.array(backdrop, dtype=np.float32) * (1.0 - alpha)
    flat: RGB8 = np.round(mixed).astype(np.uint8)
    return flat


def _output(rgb: RGB8, alpha: Alpha, text: dict[str, str], notes: list[str], matte: CleanMatte) -> StepOutput:
    png = encode_png(rgb, alpha, text)
    return StepOutput(
        files=[OutputFile("image", "image/png", png)],
        preview_png=render_image_preview(png),
        notes=notes,
        metrics={
            "size": float(alpha.shape[0]),
            "subject_px": float((alpha >= 0.5).sum()),
            "specks_removed": float(matte.specks_removed),
            "holes_filled": float(matte.holes_filled),
        },
    )
