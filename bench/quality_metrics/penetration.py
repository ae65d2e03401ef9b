"""Hand and held-item vertices inside the body on any frame of any clip.

Hands: vertices whose dominant influence is a ForeArm or Hand joint (a held item, or a shield
riding the forearm, moves with them). Body: faces whose three rest vertices lie nearest a
bone other than the arm's (geometric, so that a skin that puts the chest on the arm still has
a chest) and that hold no hand vertex. The body has holes where the arms were cut off; the
voting inside test is made for that.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from assetcore.geometry.model import Model
from bench.quality_metrics.bones import dominant_joint, joints_where, nearest_bone
from bench.quality_metrics.inside import inside_mask
from bench.quality_metrics.skinning import skinned_positions

HAND_PARTS = ("ForeArm", "Hand")
LIMB_PARTS = ("Arm", "ForeArm", "Hand")


def hand_and_body(model: Model) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.int64]]:
    """The hand/held-item vertex mask and the body's faces, from the rest pose."""
    assert model.skeleton is not None and model.skin is not None
    hands = joints_where(model.skeleton, HAND_PARTS)[dominant_joint(model.skin)]
    limb = joints_where(model.skeleton, LIMB_PARTS)[nearest_bone(model.mesh.positions, model.skeleton)]
    faces = model.mesh.faces.astype(np.int64)
    body = ~(limb | hands)[faces].any(axis=1)
    return hands, faces[body]


def hand_vertices_inside(model: Model) -> int | None:
    """How many hand/held-item vertices are inside the body in the rest pose or any clip frame."""
    if model.skeleton is None or model.skin is None:
        return None
    hands, body = hand_and_body(model)
    if not hands.any() or len(body) == 0:
        return None
    rest = model.mesh.positions.astype(np.float64)
    ever = inside_mask(rest[hands], rest, body)
    for clip in model.clips:
        for frame in skinned_positions(rest, model.skeleton, model.skin, clip):
            ever |= inside_mask(frame[hands], frame, body)
    return int(ever.sum())
