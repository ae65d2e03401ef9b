"""The multiview step's quality gate: the output decodes as six matted views with sane cameras.

decode_multiview_png already refuses a grid or camera list that is not six views.
"""

from __future__ import annotations

from assetcore.imaging.matte import MIN_SUBJECT_PX
from assetcore.multiview import decode_multiview_png
from assetcore.worker.backend import ErrorCode, StepError, StepOutput, StepRequest

_OPAQUE = 128  # alpha at or above this counts as subject


def check_views(output: StepOutput, request: StepRequest) -> None:
    """INTERNAL naming what is wrong: a backend that breaks the format is a bug, not bad input."""
    found = next((f for f in output.files if f.name == "views"), None)
    if found is None:
        raise StepError(ErrorCode.INTERNAL, "multiview: the backend returned no 'views' output")
    try:
        multiview = decode_multiview_png(found.data)
    except StepError as exc:
        raise StepError(ErrorCode.INTERNAL, f"multiview: {exc.message}") from None
    problems = _camera_problems(
        multiview.fov_deg, [(v.azimuth_deg, v.elevation_deg) for v in multiview.views]
    )
    for view in multiview.views:
        if int((view.rgba[..., 3] >= _OPAQUE).sum()) < MIN_SUBJECT_PX:
            problems.append(f"the view at azimuth {view.azimuth_deg:g} has no subject in its matte")
    if problems:
        raise StepError(ErrorCode.INTERNAL, "multiview: " + "; ".join(problems))


def _camera_problems(fov_deg: float | None, cameras: list[tuple[float, float]]) -> list[str]:
    """The multiview step's views are a model's perspective orbit (the orthographic layout is the
    procedural tti's)."""
    problems: list[str] = []
    if fov_deg is None:
        problems.append("the views are orthographic; a multiview model draws perspective views")
    elif not 0.0 < fov_deg < 180.0:
        problems.append(f"field of view {fov_deg:g} is not within (0, 180) degrees")
    azimuths = [a for a, _ in cameras]
    if len(set(azimuths)) != len(azimuths) or not all(0.0 <= a < 360.0 for a in azimuths):
        problems.append(f"azimuths {azimuths} are not distinct angles within [0, 360)")
    if not all(-90.0 < e < 90.0 for _, e in cameras):
        problems.append(f"elevations {[e for _, e in cameras]} are not within (-90, 90)")
    return problems
