"""Options of the tti step's "procedural" backend: it draws only subjects of its vocabulary.

A prompt whose subject is outside it is refused at CreateJob with UNSUPPORTED_SUBJECT, naming
the word and the known subjects spelled most like it, unless the job accepts a generic stand-in
(a person or an object), which the result then reports as a warning.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self

from pydantic import Field

from assetcore.errors import UNSUPPORTED_SUBJECT
from assetcore.prompting import FALLBACK_HUMANOID, PromptAnalysis, analyse_prompt, closest_subjects
from assetcore.proto.v1 import job_pb2
from assetcore.steps.options import Flag, OptionError, StepOptions
from services.tti.prompt_text import prompt_text

STAND_IN_OPTION = "tti.stand_in"


class ProceduralOptions(StepOptions):
    stand_in: Flag = Field(
        False,
        description="Accept a prompt whose subject the procedural drawer does not know: it draws a generic "
        "person or object, and the job's result says so.",
    )

    @classmethod
    def resolve(cls, job: job_pb2.JobInput, params: Mapping[str, Any]) -> Self:
        options = super().resolve(job, params)
        analysis = analyse_prompt(prompt_text(job))
        if not options.stand_in and not analysis.recognised:
            raise OptionError("input.prompt.concept", unsupported_subject(analysis), code=UNSUPPORTED_SUBJECT)
        return options


def unsupported_subject(analysis: PromptAnalysis) -> str:
    """Why the prompt is refused: the word it could not place and the subjects nearest to it."""
    if not analysis.unplaced:
        problem = "the prompt names no subject the procedural tti backend knows"
        closest: tuple[str, ...] = ()
    else:
        problem = f"the procedural tti backend cannot draw {analysis.unplaced!r}: not in its vocabulary"
        closest = closest_subjects(analysis.unplaced)
        if analysis.subject == FALLBACK_HUMANOID:  # "alchemist": it reads like a person
            closest = (FALLBACK_HUMANOID, *closest)
    nearest = f"; closest subjects it knows: {', '.join(closest)}" if closest else ""
    return (
        f"{problem}{nearest}. Name one of them, set {STAND_IN_OPTION}=true for a generic stand-in, "
        "or configure an ML tti backend"
    )
