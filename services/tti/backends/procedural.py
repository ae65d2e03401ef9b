"""The default tti backend: a procedural drawing from the prompt's vocabulary; CPU only, no weights."""

from __future__ import annotations

from assetcore.concept_image import concept_metadata, encode_concept_png
from assetcore.geometry.preview import render_image_preview
from assetcore.job_warnings import warning_note
from assetcore.multiview import encode_multiview_png
from assetcore.prompting import FALLBACK_HUMANOID, PromptAnalysis, analyse_prompt
from assetcore.worker.backend import BackendInfo, OutputFile, Progress, StepOutput, StepRequest
from services.tti.drawing.concept import render_concept
from services.tti.drawing.details import undrawn_details
from services.tti.drawing.palette import resolve_style
from services.tti.options import TtiOptions
from services.tti.prompt_text import prompt_text


class ProceduralBackend:
    def describe(self) -> BackendInfo:
        return BackendInfo("procedural", "2", ("humanoid", "quadruped", "prop", "front-view", "side-view"))

    def load(self) -> None:
        """Nothing to load: numpy, scipy and Pillow only."""

    def run(self, request: StepRequest, progress: Progress) -> StepOutput:
        options = request.options_as(TtiOptions)
        prompt = prompt_text(request.job)
        analysis = analyse_prompt(prompt)
        style, style_understood = resolve_style(request.job.prompt.style)
        progress(0.1, f"drawing a {analysis.subject} ({analysis.category})")
        concept = render_concept(analysis, seed=request.seed, prompt=prompt, style=style, size=options.size)
        progress(0.8, "encoding the concept image")
        metadata = concept_metadata(
            view=concept.view,
            category=analysis.category,
            subject=analysis.subject,
            symmetric=concept.symmetric,
        )
        png = encode_concept_png(concept.rgba, metadata)
        views = encode_multiview_png(concept.views.albedo)
        materials = encode_multiview_png(concept.views.materials)
        notes = _notes(analysis)
        if not style_understood:
            notes.append(f"unrecognised style {request.job.prompt.style!r}: drew it {style.name}")
        return StepOutput(
            files=[
                OutputFile("image", "image/png", png),
                OutputFile("views", "image/png", views),
                OutputFile("materials", "image/png", materials),
            ],
            preview_png=render_image_preview(png),
            notes=notes,
            metrics={"size": float(options.size), "subject_px": float((concept.rgba[..., 3] > 127).sum())},
        )


def _notes(analysis: PromptAnalysis) -> list[str]:
    view = "side" if analysis.category == "quadruped" else "front"
    notes = [f"subject: {analysis.subject} ({analysis.category}, {view} view)"]
    if not analysis.recognised:  # only with the stand_in option: ProceduralOptions refuses it otherwise
        fallback = "a generic person" if analysis.subject == FALLBACK_HUMANOID else "a generic object"
        why = f"{analysis.unplaced!r} is not in the procedural vocabulary"
        if not analysis.unplaced:
            why = "the prompt names no known subject"
        notes.insert(0, warning_note(f"stand-in: {why}; drew {fallback} in its place"))
    if analysis.unknown_words:
        notes.append(f"unrecognised words: {', '.join(analysis.unknown_words)}")
    undrawn = undrawn_details(analysis)
    if analysis.recognised and undrawn:  # a stand-in draws none of the details: its warning says so
        notes.append(warning_note(undrawn.line()))
    return notes
