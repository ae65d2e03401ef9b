"""The text-to-image prompt: the job's words, framed as the picture the 3D steps need.

image3d inflates one subject's silhouette, so the image must show exactly one subject, whole,
centred, on a plain light backdrop (which the matte separates), in the view the concept
format declares: front for people and props (characters in a T-pose, limbs clear of the
body, so rigging sees them), side for quadrupeds (legs apart, head to the right: the format's
"facing": "+x"). CLIP reads 77 tokens, so the framing words come first and stay short.
"""

from __future__ import annotations

from dataclasses import dataclass

from assetcore.prompting import PromptAnalysis
from assetcore.proto.v1 import job_pb2
from services.tti.prompt_text import prompt_text

_BACKDROP = "isolated on a plain light grey background, soft even studio lighting"
_FRAMING = {
    "humanoid": "full body front view of one {subject} standing in a neutral T-pose, arms straight out",
    "quadruped": "full body side view of one {subject} standing on all four legs, facing right",
    "prop": "front view of a single {subject}, whole object in frame",
}
DEFAULT_NEGATIVE = (
    "multiple subjects, crowd, cropped, cut off, out of frame, close-up, partial view, scenery, "
    "landscape, busy background, cast shadow, text, watermark, signature, blurry, lowres, deformed"
)
_NEGATIVE_EXTRA = {
    "humanoid": "sitting, crouching, dynamic pose, back view, side view",
    "quadruped": "front view, rear view, lying down, jumping",
    "prop": "perspective distortion, hands, people",
}


@dataclass(frozen=True)
class TtiPrompt:
    positive: str
    negative: str
    view: str  # the concept format's view: "front" or "side"


def build_prompt(job: job_pb2.JobInput, analysis: PromptAnalysis, negative: str | None) -> TtiPrompt:
    """The prompt for `job`; `negative` replaces the default negative prompt ("" for none)."""
    framing = _FRAMING[analysis.category].format(subject=analysis.subject)
    parts = [framing, prompt_text(job), _BACKDROP]
    style = job.prompt.style.strip()
    if style:
        parts.append(f"{style} style")
    if negative is None:
        negative = f"{DEFAULT_NEGATIVE}, {_NEGATIVE_EXTRA[analysis.category]}"
    view = "side" if analysis.category == "quadruped" else "front"
    return TtiPrompt(", ".join(parts), negative, view)
