"""The sampled grid as the "views" artifact: six tiles with their cameras and subject mattes.

A view's matte comes from the store's matting model when there is one ("matte",
assetcore/ml/matting.py), else from the CPU estimate against Zero123++'s uniform grey
backdrop; either way it is cleaned like refine's (binary, one antialiased edge pixel).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from assetcore.imaging.image_io import RGB8, Alpha
from assetcore.imaging.matte import Mask, clean_matte, edge_alpha, estimate_matte
from assetcore.ml.matting import SubjectMatter
from assetcore.multiview import AZIMUTHS_DEG, COLUMNS, ELEVATIONS_DEG, Multiview, View
from assetcore.worker.backend import StepError
from services.multiview.condition import GREY

MIN_COMPONENT = 0.02  # islands under this share of the largest are specks (refine's default)
MAX_HOLE = 0.01  # holes up to this share of the subject are filled (refine's default)


def assemble_views(grid: RGB8, matter: SubjectMatter | None) -> Multiview:
    """The (3 * tile, 2 * tile, 3) grid as six matted views; EMPTY_MATTE names a bare view."""
    tile = grid.shape[1] // COLUMNS
    views = []
    for index, (azimuth, elevation) in enumerate(zip(AZIMUTHS_DEG, ELEVATIONS_DEG, strict=True)):
        row, column = divmod(index, COLUMNS)
        rgb = np.ascontiguousarray(grid[row * tile : (row + 1) * tile, column * tile : (column + 1) * tile])
        try:
            alpha = view_alpha(rgb, matter)
        except StepError as exc:
            where = f"the view at azimuth {azimuth:g}, elevation {elevation:g}"
            raise StepError(exc.code, f"views: {where} has no subject ({exc.message})") from None
        opacity = np.round(alpha * 255.0).astype(np.uint8)
        views.append(View(azimuth, elevation, np.dstack([rgb, opacity])))
    return Multiview(tuple(views))


def view_alpha(rgb: RGB8, matter: SubjectMatter | None) -> Alpha:
    soft = None if matter is None else matter.alpha(rgb)
    mask = grey_backdrop_matte(rgb) if soft is None else soft >= 0.5
    matte = clean_matte(mask, min_component=MIN_COMPONENT, max_hole=MAX_HOLE)
    return edge_alpha(matte.mask, soft)


def grey_backdrop_matte(rgb: RGB8) -> Mask:
    """estimate_matte against Zero123++'s grey: it reads the backdrop from the image's outer ring,
    so a grey frame wider than that ring makes the grey the backdrop even where the subject
    touches the tile's edge."""
    frame = 2 + max(rgb.shape[:2]) // 50  # estimate_matte's ring is max(2, side // 100)
    framed: npt.NDArray[np.uint8] = np.pad(
        rgb, ((frame, frame), (frame, frame), (0, 0)), mode="constant", constant_values=GREY
    )
    return estimate_matte(framed)[frame:-frame, frame:-frame]
