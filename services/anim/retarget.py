"""Retarget a BVH motion onto the asset's humanoid skeleton as one more clip.

1. Map source joints to target joints (services.anim.joint_map).
2. Re-express the source in glTF axes: the rotation taking the source's (left, up, forward)
   to (+X, +Y, +Z) conjugates every world rotation.
3. Rest poses differ (a T-pose source, an A-pose target...): each target bone gets the source
   bone's world rotation composed with the rest-pose alignment that turns the target bone's
   rest direction onto the source bone's, so posed bones point where the source's do.
4. Root motion is scaled by the ratio of hip heights; `in_place` drops its horizontal part.
5. Everything is resampled (slerp) to the job's frame rate.
"""

from __future__ import annotations

import numpy as np

from assetcore.geometry.model import Clip, Skeleton
from assetcore.worker.backend import ErrorCode, StepError
from services.anim import quaternions as quat
from services.anim.bvh import BvhMotion
from services.anim.joint_map import CORE, map_by_name, map_by_structure, source_axes
from services.anim.pose import Poser
from services.anim.quaternions import Floats

MIN_CORE_MAPPED = 8


def retarget(
    motion: BvhMotion, skeleton: Skeleton, *, fps: float, in_place: bool, name: str, notes: list[str]
) -> Clip:
    rest = motion.rest_positions()
    by_name = map_by_name(motion)
    up, left = source_axes(rest, by_name)
    mapping = {**map_by_structure(motion, rest, up, left), **by_name}
    mapping = {target: source for target, source in mapping.items() if target in skeleton.names}
    core = [joint for joint in CORE if joint in mapping]
    if "Hips" not in mapping or len(core) < MIN_CORE_MAPPED:
        missing = ", ".join(joint for joint in CORE if joint not in mapping)
        raise StepError(ErrorCode.INVALID_INPUT, f"bvh: cannot tell which of its joints are the {missing}")
    unmapped = [joint for joint in skeleton.names if joint not in mapping and not joint.endswith("_End")]
    notes.append(
        f"anim: retargeted {len(mapping)} of the BVH's {len(motion.joints)} joints"
        + (f"; {', '.join(unmapped)} follow their parents" if unmapped else "")
    )

    axes = np.stack([left, up, np.cross(left, up)])  # rows: source directions that become X, Y, Z
    to_target = quat.from_matrix(axes)
    world = _source_world(motion)
    world = quat.multiply(quat.multiply(to_target, world), quat.conjugate(to_target))
    rest_target_axes = rest @ axes.T
    roots = motion.root_positions() @ axes.T
    times, world, roots = _resample(world, roots, motion.frame_time, fps)

    poser = Poser(skeleton, len(times))
    heads = skeleton.heads.astype(np.float64)
    tails = skeleton.tails.astype(np.float64)
    for target, source in mapping.items():
        j = skeleton.names.index(target)
        source_direction = _source_direction(
            motion, mapping, skeleton, target, rest=rest_target_axes, axes=axes
        )
        alignment = (
            quat.between(tails[j] - heads[j], source_direction)
            if source_direction is not None
            else quat.IDENTITY
        )
        poser.set(target, quat.multiply(world[:, source], alignment))
    poser.root_offset[:] = _root_offset(
        motion, skeleton, world, roots, rest=rest_target_axes, axes=axes, in_place=in_place
    )
    return poser.to_clip(name, fps, loop=False)


def _source_world(motion: BvhMotion) -> Floats:
    """(frames, joints, 4) world rotations of the source (its rest pose has none)."""
    local = motion.local_rotations()
    world = np.empty_like(local)
    for j, joint in enumerate(motion.joints):
        world[:, j] = local[:, j] if joint.parent < 0 else quat.multiply(world[:, joint.parent], local[:, j])
    return world


def _resample(world: Floats, roots: Floats, frame_time: float, fps: float) -> tuple[Floats, Floats, Floats]:
    """The motion at `fps`: slerped rotations, lerped root positions (at least two frames)."""
    frames = world.shape[0]
    duration = (frames - 1) * frame_time
    count = max(int(np.floor(duration * fps + 0.01)) + 1, 2)  # tolerate frame times printed to few digits
    times = np.arange(count) / fps
    position = np.clip(times / frame_time, 0, frames - 1)
    low = np.floor(position).astype(int)
    high = np.minimum(low + 1, frames - 1)
    weight = position - low
    world = quat.continuous(world, axis=0)
    sampled = quat.slerp(world[low], world[high], weight[:, None])
    sampled_roots = roots[low] + (roots[high] - roots[low]) * weight[:, None]
    return times, sampled, sampled_roots


def _source_direction(
    motion: BvhMotion, mapping: dict[str, int], skeleton: Skeleton, target: str, *, rest: Floats, axes: Floats
) -> Floats | None:
    """The source bone's rest direction for a target bone: towards the source joint mapped to the
    target bone's main child, else towards the source joint's own child or End Site."""
    j = skeleton.names.index(target)
    source = mapping[target]
    tail = skeleton.tails[j].astype(np.float64)
    children = [c for c in range(skeleton.joint_count) if skeleton.parents[c] == j]
    main = min(children, key=lambda c: float(np.linalg.norm(skeleton.heads[c] - tail)), default=None)
    if main is not None and skeleton.names[main] in mapping:
        direction = rest[mapping[skeleton.names[main]]] - rest[source]
    else:
        own = [c for c, joint in enumerate(motion.joints) if joint.parent == source]
        end = motion.joints[source].end
        if own:
            direction = rest[own[0]] - rest[source]
        elif end is not None:
            direction = axes @ end
        else:
            return None
    return direction if np.linalg.norm(direction) > 1e-9 else None


def _root_offset(
    motion: BvhMotion,
    skeleton: Skeleton,
    world: Floats,
    roots: Floats,
    *,
    rest: Floats,
    axes: Floats,
    in_place: bool,
) -> Floats:
    """The target root's offset from rest: the source's root path scaled by the hip-height ratio,
    its height measured from the lowest point the source ever reaches (its floor)."""
    rest_world = quat.identity(1, len(motion.joints))
    lowest_rest = float(_points(motion, rest_world, rest[:1], rest, axes)[..., 1].min())
    source_hips = max(float(rest[0, 1]) - lowest_rest, 1e-9)
    target_hips = float(skeleton.heads[0, 1])
    scale = target_hips / source_hips
    floor = float(_points(motion, world, roots, rest, axes)[..., 1].min())
    offset = np.zeros_like(roots)
    offset[:, 1] = scale * (roots[:, 1] - floor) - target_hips
    if not in_place:
        offset[:, [0, 2]] = scale * (roots[:, [0, 2]] - roots[0, [0, 2]])
    return offset


def _points(motion: BvhMotion, world: Floats, roots: Floats, rest: Floats, axes: Floats) -> Floats:
    """(frames, points, 3) positions of every joint and End Site (forward kinematics, target axes)."""
    heads = np.zeros((world.shape[0], len(motion.joints), 3))
    ends = []
    for j, joint in enumerate(motion.joints):
        if joint.parent < 0:
            heads[:, j] = roots
        else:
            heads[:, j] = heads[:, joint.parent] + quat.rotate(
                world[:, joint.parent], rest[j] - rest[joint.parent]
            )
        if joint.end is not None:
            ends.append(heads[:, j] + quat.rotate(world[:, j], axes @ joint.end))
    return np.concatenate([heads, np.stack(ends, axis=1)], axis=1) if ends else heads
