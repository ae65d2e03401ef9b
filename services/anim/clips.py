"""The procedural clip library behind the clip vocabulary (services/anim/vocabulary.py)."""

from __future__ import annotations

from collections.abc import Sequence

from assetcore.geometry.model import Clip
from assetcore.worker.backend import ErrorCode, StepError
from services.anim.body import Body
from services.anim.humanoid_clips import HUMANOID_BUILDERS
from services.anim.quadruped_clips import QUADRUPED_BUILDERS
from services.anim.vocabulary import DEFAULTS, VOCABULARY

_BUILDERS = {"humanoid": HUMANOID_BUILDERS, "quadruped": QUADRUPED_BUILDERS}


def select_clips(kind: str, requested: Sequence[str]) -> tuple[str, ...]:
    """The clips to make: the kind's default set when none are requested; INVALID_PARAMS names a
    clip the kind has not got."""
    available = VOCABULARY[kind]
    if not requested:
        return DEFAULTS[kind]
    for name in requested:
        if name not in available:
            raise StepError(
                ErrorCode.INVALID_PARAMS,
                f"animation.clips: {name!r} is not available for a {kind} "
                f"(available: {', '.join(available)})",
            )
    return tuple(dict.fromkeys(requested))


def build_clips(body: Body, names: Sequence[str], fps: float, in_place: bool) -> list[Clip]:
    builders = _BUILDERS[body.kind]
    return [builders[name](body, fps, in_place) for name in names]
