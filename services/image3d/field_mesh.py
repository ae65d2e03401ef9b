"""A scalar field sampled on a regular grid -> one closed, outward-wound triangle surface.

Every ML backend ends in a field (TripoSR's density, Hunyuan3D's occupancy logits, an SDF);
this turns it into what the image3d gate accepts. The topology is decided on voxels first:
inside = beyond `level`, only the largest 6-connected inside region is kept and its interior
cavities are filled. Marching cubes then runs on the field clamped to agree with that mask
(sub-voxel positions still come from the field's own values), padded with outside samples so
the surface closes where the object touches the grid's boundary.

Samples never sit exactly on the level and the field is clamped to a band around it, so no
two surface vertices of different grid edges coincide: the faces stay manifold after the
welding by position that the gate (and glTF readers) do.

Grid convention: `field[i, j, k]` is the sample at `lower + (i, j, k) * spacing`, axis 0
along x, 1 along y, 2 along z, with `spacing = (upper - lower) / (shape - 1)`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy import ndimage
from skimage import measure

from assetcore.geometry import meshops
from assetcore.worker.backend import ErrorCode, StepError

Inside = Literal["above", "below"]  # "above": densities, occupancy logits; "below": SDFs

# Field values are clamped to [BAND_FLOOR, BAND_CEILING] x a typical near-surface magnitude,
# which keeps every surface vertex at least ~1/900 of a voxel from the grid's corners.
BAND_FLOOR = 1.0 / 30.0
BAND_CEILING = 30.0


@dataclass(frozen=True)
class FieldMesh:
    positions: npt.NDArray[np.float64]  # (V, 3) in the grid's coordinates (lower..upper)
    faces: npt.NDArray[np.int64]  # (F, 3) counter-clockwise seen from outside


def extract_surface(
    field: npt.ArrayLike,
    level: float,
    *,
    lower: tuple[float, float, float] = (-1.0, -1.0, -1.0),
    upper: tuple[float, float, float] = (1.0, 1.0, 1.0),
    inside: Inside = "above",
    backend: str,
) -> FieldMesh:
    """The closed surface of the field's largest solid region at `level`.

    `backend` names who produced the field, for the error a field without a surface gives
    (EMPTY_MESH); a surface that still fails to close is NON_MANIFOLD (a bug, not an input).
    """
    values = np.asarray(field, np.float64)
    if values.ndim != 3 or min(values.shape) < 2:
        raise ValueError(
            f"{backend}: a field needs a 3D grid of at least 2 samples a side, got {values.shape}"
        )
    signed = values - level if inside == "above" else level - values
    signed = np.where(np.isnan(signed), -np.inf, signed)  # undefined samples count as outside
    solid = _solid(signed > 0, backend, level)
    clamped, outside = _clamped(signed, solid)
    padded = np.pad(clamped, 1, constant_values=outside)
    vertices, faces, _, _ = measure.marching_cubes(padded, 0.0, method="lewiner")
    low = np.asarray(lower, np.float64)
    spacing = (np.asarray(upper, np.float64) - low) / (np.asarray(values.shape) - 1)
    positions = (vertices.astype(np.float64) - 1.0) * spacing + low
    positions, faces = meshops.weld(positions, faces)
    positions, faces = meshops.largest_component(positions, faces)  # drops cavity shells
    if not meshops.is_closed_manifold(faces):
        raise StepError(
            ErrorCode.NON_MANIFOLD, f"{backend}: the surface extracted at level {level} is not closed"
        )
    return FieldMesh(positions=positions, faces=meshops.orient_outward(positions, faces))


def _solid(inside: npt.NDArray[np.bool_], backend: str, level: float) -> npt.NDArray[np.bool_]:
    """The largest 6-connected inside region, its cavities filled."""
    count = int(inside.sum())
    if count in (0, inside.size):
        found = "no sample" if count == 0 else "every sample"
        raise StepError(
            ErrorCode.EMPTY_MESH,
            f"{backend}: no surface at level {level}: {found} of the {'x'.join(map(str, inside.shape))} "
            "grid is inside the object",
        )
    labels, regions = ndimage.label(inside)
    if regions > 1:
        sizes = np.bincount(labels.reshape(-1), minlength=regions + 1)
        sizes[0] = 0
        inside = labels == int(np.argmax(sizes))
    filled: npt.NDArray[np.bool_] = ndimage.binary_fill_holes(inside)
    return filled


def _clamped(
    signed: npt.NDArray[np.float64], solid: npt.NDArray[np.bool_]
) -> tuple[npt.NDArray[np.float32], float]:
    """The field made to agree in sign with `solid`, its magnitudes kept within a band, and
    the value of a sample far outside (the padding)."""
    band = ndimage.binary_dilation(solid) & ~ndimage.binary_erosion(solid)
    near = np.abs(signed[band])
    near = near[np.isfinite(near) & (near > 0)]
    scale = float(np.median(near)) if near.size else 1.0
    magnitude = np.clip(np.abs(signed), BAND_FLOOR * scale, BAND_CEILING * scale)
    return np.where(solid, magnitude, -magnitude).astype(np.float32), -BAND_CEILING * scale
