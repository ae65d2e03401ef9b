"""What of a prompt the drawing leaves out: understood words the drawer has no way to show, and
the words it does not know.

The builders record the prompt words they draw (`Figure.shown`), so this list follows what was
actually drawn ("blue eyes" under a full helmet, a third held item, a saddle on a knight's horse)
rather than a second table of rules that could drift from the builders.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from assetcore.prompting import PromptAnalysis
from services.tti.drawing.concept import build_figure


@dataclass(frozen=True)
class Undrawn:
    understood: tuple[str, ...]  # words and phrases it understood but did not draw: "horse", "blue eyes"
    unknown: tuple[str, ...]  # words outside the vocabulary: "scar", "cheek"

    def __bool__(self) -> bool:
        return bool(self.understood or self.unknown)

    def line(self) -> str:
        """One line for the job's warnings: "not drawn: horse (understood, ...); scar (unknown words)"."""
        parts = []
        if self.understood:
            parts.append(f"{', '.join(self.understood)} (understood, not drawable here)")
        if self.unknown:
            parts.append(f"{', '.join(self.unknown)} (unknown words)")
        return "not drawn: " + "; ".join(parts)


def undrawn_details(analysis: PromptAnalysis) -> Undrawn:
    """The prompt's details the procedural drawing does not show, in prompt order.

    The figure's pieces do not depend on the seed in ways that change which words show, so a
    fixed generator gives the same answer as the drawing the job made."""
    shown = build_figure(analysis, np.random.default_rng(0)).shown | {analysis.subject}
    understood: list[str] = []
    for noun, attribute in analysis.bindings:
        if noun not in shown:
            understood.append(f"{attribute} {noun}")
    bound = {noun for noun, _ in analysis.bindings}
    understood.extend(f for f in analysis.features if f not in shown and f not in bound)
    unknown = tuple(word for word in analysis.unknown_words if word != analysis.unplaced)
    return Undrawn(tuple(dict.fromkeys(understood)), unknown)
