"""Carry skin weights from LOD0 to a simplified LOD by closest point on LOD0's surface.

Each LOD vertex takes the barycentric blend of the weights at the corners of the LOD0
triangle closest to it, then keeps the top 4.
"""

from __future__ import annotations

import numpy as np

from assetcore.geometry.meshops import SurfaceIndex
from assetcore.geometry.model import Mesh, Skin
from services.rig.weights import top_influences


def transfer_skin(source: Mesh, skin: Skin, target: Mesh, joint_count: int) -> Skin:
    """Skin weights for `target`'s vertices from the closest points on `source` (weighted by `skin`)."""
    faces = source.faces.astype(np.int64)
    hits = SurfaceIndex(source.positions, faces).closest(target.positions)
    corners = faces[hits.faces]  # (N, 3)
    rows = np.arange(len(corners))
    dense = np.zeros((len(corners), joint_count))
    for corner in range(3):
        joints = skin.joints[corners[:, corner]].astype(np.int64)
        weights = (
            skin.weights[corners[:, corner]].astype(np.float64) * hits.barycentric[:, corner : corner + 1]
        )
        np.add.at(dense, (np.repeat(rows, joints.shape[1]), joints.ravel()), weights.ravel())
    return top_influences(dense)
