"""The tti step's quality gate (runs where the step runs; services/tti/step.py names it)."""

from __future__ import annotations

import numpy as np

from assetcore.concept_image import METADATA_KEY, output_matte, read_concept_metadata
from assetcore.config import get_settings
from assetcore.multiview import Multiview, decode_multiview_png
from assetcore.safety.image_check import check_images
from assetcore.worker.backend import ErrorCode, StepError, StepOutput, StepRequest
from services.tti.options import TtiOptions

_ORTHOGRAPHIC = "orthographic-6"  # the procedural backend's views (assetcore/multiview.py)


def check_concept_output(output: StepOutput, request: StepRequest) -> None:
    """Quality gate: a size x size RGBA PNG whose matte holds a subject clear of the borders, and,
    where the backend drew them, six orthographic views with matching materials; then the image
    check (assetcore/safety/image_check.py) over the image and any candidates."""
    size = request.options_as(TtiOptions).size
    alpha = output_matte(output, size, "tti")
    if not alpha.any() or alpha[0].any() or alpha[-1].any() or alpha[:, 0].any() or alpha[:, -1].any():
        raise StepError(ErrorCode.INTERNAL, "tti: the subject's matte is empty or touches the image border")
    image_file = next(f for f in output.files if f.name == "image")
    if "view" not in read_concept_metadata(image_file.data):
        raise StepError(ErrorCode.INTERNAL, f"tti: the image lacks its '{METADATA_KEY}' view metadata")
    check_views_output(output)
    check_images(output, "tti", get_settings().safety)


def check_views_output(output: StepOutput) -> None:
    """ "views" and "materials" come together: orthographic, framed, each view a subject clear of its
    borders, the same cameras and mattes in both. INTERNAL naming what is wrong otherwise."""
    found = {f.name: f for f in output.files if f.name in ("views", "materials")}
    if not found:
        return
    if len(found) == 1:
        raise StepError(ErrorCode.INTERNAL, f"tti: '{next(iter(found))}' came without its companion")
    try:
        views, materials = (decode_multiview_png(found[name].data) for name in ("views", "materials"))
    except StepError as exc:
        raise StepError(ErrorCode.INTERNAL, f"tti: {exc.message}") from None
    for name, multiview in (("views", views), ("materials", materials)):
        problem = _orthographic_problem(multiview)
        if problem:
            raise StepError(ErrorCode.INTERNAL, f"tti: '{name}' {problem}")
    if _cameras(views) != _cameras(materials) or views.extent != materials.extent:
        raise StepError(ErrorCode.INTERNAL, "tti: 'views' and 'materials' have different cameras")
    for view, material in zip(views.views, materials.views, strict=True):
        if not np.array_equal(view.rgba[..., 3], material.rgba[..., 3]):
            raise StepError(ErrorCode.INTERNAL, "tti: 'views' and 'materials' have different mattes")


def _orthographic_problem(multiview: Multiview) -> str:
    if multiview.layout != _ORTHOGRAPHIC or multiview.fov_deg is not None:
        return f"is not the {_ORTHOGRAPHIC} layout"
    for view in multiview.views:
        alpha = view.rgba[..., 3]
        if not alpha.any() or alpha[0].any() or alpha[-1].any() or alpha[:, 0].any() or alpha[:, -1].any():
            return (
                f"view at azimuth {view.azimuth_deg:g}, elevation {view.elevation_deg:g} is empty or cut off"
            )
    return ""


def _cameras(multiview: Multiview) -> list[tuple[float, float]]:
    return [(v.azimuth_deg, v.elevation_deg) for v in multiview.views]
