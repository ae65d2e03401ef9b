"""The multi-view image format between steps ("views"): six views of the subject in one PNG.

The layout is Zero123++ v1.2's: a 3 x 2 grid of square tiles (row-major), the camera orbiting
the subject at a fixed field of view, azimuths 30..330 degrees in 60-degree steps (0 = the
concept image's front view, increasing towards the subject's left), elevations alternating
20 and -10 degrees. Alpha is each view's subject matte. A text chunk "assetcore" holds the
cameras as JSON, so readers never assume the layout: {"layout", "azimuths", "elevations",
"fov_deg", "tile"}. image3d projects these views onto the mesh (back and sides textured from
a real view instead of a mirrored front).

The procedural tti backend draws its own views in the same grid, with two differences the
metadata states: "fov_deg" is null (orthographic cameras, assetcore/geometry/camera.py) and
"extent" gives their exact framing (each tile shows the square [-extent, extent]^2 of its image
plane through the subject's centre, the frame's origin), so image3d can carve a visual hull
from them without fitting. Its layout is "orthographic-6": front, left (azimuth 90), back, right,
top and bottom.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from PIL import Image, PngImagePlugin, UnidentifiedImageError

from assetcore.geometry.camera import Camera
from assetcore.worker.backend import ErrorCode, StepError

METADATA_KEY = "assetcore"
LAYOUT = "zero123pp-v1.2"
ROWS, COLUMNS = 3, 2
AZIMUTHS_DEG = (30.0, 90.0, 150.0, 210.0, 270.0, 330.0)
ELEVATIONS_DEG = (20.0, -10.0, 20.0, -10.0, 20.0, -10.0)
FOV_DEG = 30.0
TILE = 320  # Zero123++ v1.2's tile side in pixels


@dataclass(frozen=True)
class View:
    azimuth_deg: float
    elevation_deg: float
    rgba: npt.NDArray[np.uint8]  # (tile, tile, 4)


@dataclass(frozen=True)
class Multiview:
    views: tuple[View, ...]
    fov_deg: float | None = FOV_DEG  # None: orthographic
    extent: float | None = None  # orthographic views' known framing (see the module docstring)
    layout: str = LAYOUT

    @property
    def tile(self) -> int:
        return int(self.views[0].rgba.shape[0])

    def camera(self, index: int) -> Camera:
        view = self.views[index]
        return Camera.orbit(view.azimuth_deg, view.elevation_deg, self.fov_deg)


def grid_of(views: tuple[View, ...]) -> npt.NDArray[np.uint8]:
    """The views as one (ROWS * tile, COLUMNS * tile, 4) image, row-major."""
    tile = views[0].rgba.shape[0]
    grid = np.zeros((ROWS * tile, COLUMNS * tile, 4), np.uint8)
    for i, view in enumerate(views):
        row, column = divmod(i, COLUMNS)
        grid[row * tile : (row + 1) * tile, column * tile : (column + 1) * tile] = view.rgba
    return grid


def encode_multiview_png(multiview: Multiview) -> bytes:
    """Deterministic bytes: sorted JSON, fixed compression."""
    if len(multiview.views) != ROWS * COLUMNS:
        raise ValueError(f"expected {ROWS * COLUMNS} views, got {len(multiview.views)}")
    if (multiview.fov_deg is None) != (multiview.extent is not None):
        raise ValueError("orthographic views (fov_deg None) need an extent, perspective ones none")
    metadata: dict[str, object] = {
        "layout": multiview.layout,
        "azimuths": [v.azimuth_deg for v in multiview.views],
        "elevations": [v.elevation_deg for v in multiview.views],
        "fov_deg": multiview.fov_deg,
        "tile": multiview.tile,
    }
    if multiview.extent is not None:
        metadata["extent"] = multiview.extent
    info = PngImagePlugin.PngInfo()
    info.add_text(METADATA_KEY, json.dumps(metadata, sort_keys=True, separators=(",", ":")))
    buffer = io.BytesIO()
    Image.fromarray(grid_of(multiview.views), mode="RGBA").save(
        buffer, format="PNG", pnginfo=info, compress_level=1
    )
    return buffer.getvalue()


def decode_multiview_png(data: bytes) -> Multiview:
    """The views of a "views" PNG; INVALID_INPUT naming what is wrong otherwise."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            rgba = np.asarray(image.convert("RGBA"))
            text = getattr(image, "text", {}).get(METADATA_KEY)
    except (UnidentifiedImageError, OSError) as exc:
        raise StepError(ErrorCode.INVALID_INPUT, f"views: not a PNG ({exc})") from None
    try:
        metadata = json.loads(text) if isinstance(text, str) else {}
        azimuths = [float(a) for a in metadata["azimuths"]]
        elevations = [float(e) for e in metadata["elevations"]]
        fov = None if metadata["fov_deg"] is None else float(metadata["fov_deg"])
        extent = None if metadata.get("extent") is None else float(metadata["extent"])
        layout = str(metadata.get("layout", LAYOUT))
        tile = int(metadata["tile"])
    except (TypeError, KeyError, ValueError) as exc:
        raise StepError(
            ErrorCode.INVALID_INPUT, f"views: missing or malformed camera metadata ({exc})"
        ) from None
    if (fov is None) != (extent is not None) or (extent is not None and not extent > 0.0):
        raise StepError(
            ErrorCode.INVALID_INPUT, "views: orthographic views need a positive extent, perspective ones none"
        )
    if len(azimuths) != ROWS * COLUMNS or len(elevations) != len(azimuths):
        raise StepError(
            ErrorCode.INVALID_INPUT, f"views: expected {ROWS * COLUMNS} cameras, got {len(azimuths)}"
        )
    if rgba.shape[:2] != (ROWS * tile, COLUMNS * tile):
        raise StepError(
            ErrorCode.INVALID_INPUT,
            f"views: a {ROWS}x{COLUMNS} grid of {tile} px tiles is {COLUMNS * tile}x{ROWS * tile}, "
            f"got {rgba.shape[1]}x{rgba.shape[0]}",
        )
    views = []
    for i, (azimuth, elevation) in enumerate(zip(azimuths, elevations, strict=True)):
        row, column = divmod(i, COLUMNS)
        tile_rgba = rgba[row * tile : (row + 1) * tile, column * tile : (column + 1) * tile]
        views.append(View(azimuth, elevation, np.ascontiguousarray(tile_rgba)))
    return Multiview(tuple(views), fov, extent, layout)
