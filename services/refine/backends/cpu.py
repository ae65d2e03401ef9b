"""The default refine backend: matte cleanup, colour bleed fix, framing and the optional x2 upscale."""

from __future__ import annotations

from assetcore.geometry.preview import render_image_preview
from assetcore.imaging.image_io import decode_image, encode_png
from assetcore.imaging.matte import border_colour, clean_matte, edge_alpha, estimate_matte
from assetcore.worker.backend import BackendInfo, OutputFile, Progress, StepOutput, StepRequest
from services.refine.colour import bleed_colours
from services.refine.framing import frame_subject
from services.refine.options import RefineOptions
from services.refine.resample import resize_matted


class CpuBackend:
    def describe(self) -> BackendInfo:
        return BackendInfo("cpu", "1", ("matte-cleanup", "upscale-x2"))

    def load(self) -> None:
        """Nothing to load: numpy, scipy and Pillow only."""

    def run(self, request: StepRequest, progress: Progress) -> StepOutput:
        options = request.options_as(RefineOptions)
        source = decode_image(request.inputs["image"].data)
        notes: list[str] = []
        backdrop = border_colour(source.rgb)
        if source.alpha is None:
            notes.append("no alpha matte: the subject was separated from the border colour")
            mask = estimate_matte(source.rgb)
        else:
            mask = source.alpha >= 0.5
        progress(0.2, "cleaning the matte")
        matte = clean_matte(mask, min_component=options.min_component, max_hole=options.max_hole)
        if matte.specks_removed or matte.holes_filled:
            notes.append(f"matte: removed {matte.specks_removed} specks, filled {matte.holes_filled} holes")
        alpha = edge_alpha(matte.mask, source.alpha)
        rgb = bleed_colours(source.rgb, alpha, backdrop)

        progress(0.5, "framing the subject")
        side = max(alpha.shape)
        framed = frame_subject(rgb, alpha, backdrop, side=side, margin=options.margin)
        if framed.scale != 1.0:
            notes.append(f"subject scaled by {framed.scale:.3f} to fit the margin")
        rgb, alpha = framed.rgb, framed.alpha
        if request.job.upscale:
            progress(0.7, "upscaling x2")
            rgb, alpha = resize_matted(rgb, alpha, (2 * side, 2 * side), backdrop, sharpen=options.sharpen)
            notes.append(f"upscaled x2 to {2 * side} px")

        png = encode_png(rgb, alpha, source.text)
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
