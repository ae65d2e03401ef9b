"""Legs of a quadruped drawn from the side, split into the near side's and the far side's.

Below the belly (where the rows narrow, going down from the widest one) the silhouette is a
few narrow pieces; those that reach the ground are legs (a hanging tail stays with the
body), each piece the legs of one end, front or back: one leg where the near and far legs
overlap in the drawing, two where they are drawn apart. A piece with one foot is given to
both sides, so the two legs seen from the side become four; a piece with two feet is split
between them, every pixel going to the foot it is nearest to within the piece (a flat
watershed from the feet), the leftmost foot's part to the near side and the other to the
far side. Each side's legs reach up into the body so that they join it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage
from skimage.segmentation import watershed

from services.image3d.silhouette import BoolGrid, FloatGrid, SilhouetteGrid, squared_half_depth

LEG_ROW_FILL = 0.45  # a row with less than this share of the widest row's pixels is below the belly
MIN_LEG_SHARE = 0.12  # legs shorter than this share of the subject's height are not split off
LEG_OVERLAP = 0.35  # legs reach this share of the body's height up into it
LEG_SPREAD = 0.55  # leg centres sit at this share of the body's half-depth from the mid-plane
GROUND_SHARE = 0.1  # a leg reaches within this share of the subject's height of the ground
FOOT_BAND = 0.12  # the bottom share of a leg piece whose separate parts count as feet


@dataclass(frozen=True)
class LegSplit:
    body: FloatGrid  # squared half-depth of the body without the legs
    near: FloatGrid  # squared half-depth of the legs on the viewer's side (n > 0)
    far: FloatGrid  # ... and on the other side (n < 0)
    offset: float  # distance of each side's leg mid-plane from n = 0


def split_legs(grid: SilhouetteGrid, depth_scale: float) -> LegSplit | None:
    """None when the silhouette has no leg rows below a belly."""
    inside = grid.inside
    fill = inside.sum(axis=1)
    filled_rows = np.flatnonzero(fill)
    top, bottom = int(filled_rows[0]), int(filled_rows[-1])
    narrow_below = np.flatnonzero(
        (fill < LEG_ROW_FILL * fill.max()) & (np.arange(len(fill)) > np.argmax(fill))
    )
    if len(narrow_below) == 0:
        return None
    belly = int(narrow_below[0]) - 1
    if bottom - belly < MIN_LEG_SHARE * (bottom - top + 1):
        return None
    row = np.arange(inside.shape[0], dtype=np.float64)[:, None]
    overlap = int(np.ceil(LEG_OVERLAP * (belly - top + 1)))
    near, far = np.zeros_like(inside), np.zeros_like(inside)
    pieces, count = ndimage.label(inside & (row > belly))
    for label in range(1, count + 1):
        piece = pieces == label
        if np.flatnonzero(piece.any(axis=1))[-1] < bottom - GROUND_SHARE * (bottom - top + 1):
            continue  # a hanging tail or head, not a leg: it stays with the body
        piece_near, piece_far = _sides(piece)
        near |= piece_near
        far |= piece_far
    if not near.any():
        return None
    distance = grid.signed_distance
    leg_distance = np.minimum(distance, row - (belly - overlap) + 0.5)
    body = squared_half_depth(np.minimum(distance, -_signed_distance(near | far)), depth_scale)
    near_legs = squared_half_depth(np.minimum(leg_distance, _column_distance(near, inside, belly)), 1.0)
    far_legs = squared_half_depth(np.minimum(leg_distance, _column_distance(far, inside, belly)), 1.0)
    leg_radius = float(np.sqrt(max(float(near_legs.max()), float(far_legs.max()), 0.0)))
    lowest_body = float(np.sqrt(np.clip(body[max(belly - overlap, top) : belly + 1], 0.0, None)).max())
    offset = max(LEG_SPREAD * lowest_body, 1.15 * leg_radius)
    return LegSplit(body=body, near=near_legs, far=far_legs, offset=offset)


def _sides(piece: BoolGrid) -> tuple[BoolGrid, BoolGrid]:
    """The piece's near-side and far-side parts (the same piece for both when it has one foot)."""
    rows = np.flatnonzero(piece.any(axis=1))
    band = max(1, round(FOOT_BAND * len(rows)))
    in_band = np.zeros_like(piece)
    in_band[rows[-band:]] = True
    feet, count = ndimage.label(piece & in_band)
    if count < 2:
        return piece, piece
    columns = ndimage.center_of_mass(np.ones_like(piece), feet, range(1, count + 1))
    leftmost = 1 + int(np.argmin([column for _, column in columns]))
    markers = np.where(feet == leftmost, 1, np.where(feet > 0, 2, 0)).astype(np.int32)
    owner = watershed(np.zeros(piece.shape), markers, mask=piece)  # flat: geodesic nearest foot
    return owner == 1, owner == 2


def _column_distance(legs: BoolGrid, inside: BoolGrid, belly: int) -> FloatGrid:
    """Signed distance to the legs extended straight up through the body from the belly."""
    top_columns = legs[belly + 1]
    return _signed_distance(
        legs | (inside & top_columns[None, :] & (np.arange(inside.shape[0]) <= belly)[:, None])
    )


def _signed_distance(mask: BoolGrid) -> FloatGrid:
    return np.asarray(
        np.where(
            mask, ndimage.distance_transform_edt(mask) - 0.5, 0.5 - ndimage.distance_transform_edt(~mask)
        )
    )
