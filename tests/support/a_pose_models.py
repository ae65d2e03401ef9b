"""A small A-pose humanoid (arms 40 degrees below horizontal, legs spread) for rest-pose tests."""

from __future__ import annotations

import numpy as np

from assetcore.geometry.model import Model, Skeleton, Skin
from tests.support.synthetic_models import box_mesh, creature_skeleton, swing_clip

ARM_DROP_DEGREES = 40.0
LEG_SPREAD_DEGREES = 8.0


def a_pose_skeleton() -> Skeleton:
    """creature_skeleton("humanoid") with the arms turned down about the shoulders' ends (Arm heads)
    and the legs turned outwards about the hips (UpLeg heads)."""
    skeleton = creature_skeleton("humanoid")
    heads, tails = skeleton.heads.astype(np.float64), skeleton.tails.astype(np.float64)
    for sign, side in ((1.0, "Left"), (-1.0, "Right")):
        for chain_root, degrees in ((f"{side}Arm", -ARM_DROP_DEGREES), (f"{side}UpLeg", LEG_SPREAD_DEGREES)):
            angle = np.radians(sign * degrees)
            turn = np.array(
                [[np.cos(angle), -np.sin(angle), 0.0], [np.sin(angle), np.cos(angle), 0.0], [0.0, 0.0, 1.0]]
            )
            pivot = heads[skeleton.names.index(chain_root)].copy()
            chain = _descendants(skeleton, skeleton.names.index(chain_root))
            heads[chain] = (heads[chain] - pivot) @ turn.T + pivot
            tails[chain] = (tails[chain] - pivot) @ turn.T + pivot
    lift = heads[:, 1].min() - 0.02  # the toes stand 2 cm above the floor again
    heads[:, 1] -= lift
    tails[:, 1] -= lift
    return Skeleton(
        names=skeleton.names,
        parents=skeleton.parents,
        heads=heads.astype(np.float32),
        tails=tails.astype(np.float32),
    )


def a_pose_model(clips: tuple[str, ...] = ("idle", "walk")) -> Model:
    """A segmented box around the A-pose skeleton; each vertex split between its two nearest
    non-leaf joints' bone segments, so that shoulders, elbows and hips blend two joints."""
    skeleton = a_pose_skeleton()
    low, high = skeleton.heads.min(axis=0), skeleton.heads.max(axis=0)
    size = (float(high[0] - low[0]), float(high[1]), 0.3)
    mesh = box_mesh(size, segments=8, center=(float(low[0] + high[0]) / 2, size[1] / 2, 0.0), textured=True)
    mesh.name = "humanoid"
    return Model(
        mesh=mesh,
        skeleton=skeleton,
        skin=_segment_skin(mesh.positions, skeleton),
        clips=[swing_clip(skeleton, name=name, frames=12 + 6 * i, fps=30.0) for i, name in enumerate(clips)],
    )


def _segment_skin(points: np.ndarray, skeleton: Skeleton) -> Skin:  # type: ignore[type-arg]
    joints = [j for j, name in enumerate(skeleton.names) if not name.endswith("_End")]
    heads, tails = skeleton.heads[joints].astype(np.float64), skeleton.tails[joints].astype(np.float64)
    along = tails - heads
    t = np.clip(
        np.einsum("vjc,jc->vj", points[:, None] - heads[None], along) / np.maximum((along**2).sum(1), 1e-9),
        0,
        1,
    )
    distance = np.linalg.norm(points[:, None] - (heads[None] + t[..., None] * along[None]), axis=2)
    nearest = np.argsort(distance, axis=1, kind="stable")[:, :2]
    inverse = 1.0 / (np.take_along_axis(distance, nearest, axis=1) + 1e-3) ** 2
    weights = np.zeros((len(points), 4), np.float32)
    weights[:, :2] = inverse / inverse.sum(axis=1, keepdims=True)
    weights[weights < 0.15] = 0.0  # far second joints drop out: some vertices follow one joint only
    weights /= weights.sum(axis=1, keepdims=True)
    indices = np.zeros((len(points), 4), np.uint16)
    indices[:, :2] = np.asarray(joints)[nearest]
    return Skin(joints=indices, weights=weights)


def _descendants(skeleton: Skeleton, joint: int) -> list[int]:
    found = [joint]
    for child, parent in enumerate(skeleton.parents.tolist()):
        if parent in found:
            found.append(child)
    return found
