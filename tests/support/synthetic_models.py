"""Small synthetic Models for geometry and export tests: boxes, joint chains, tiny creatures."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
from PIL import Image

from assetcore.geometry.model import Clip, Mesh, Model, Skeleton, Skin

# the six faces of a unit cube: outward normal, then two in-plane axes whose cross product is the normal
_CUBE_FACES = (
    ((1, 0, 0), (0, 0, -1), (0, 1, 0)),
    ((-1, 0, 0), (0, 0, 1), (0, 1, 0)),
    ((0, 1, 0), (1, 0, 0), (0, 0, -1)),
    ((0, -1, 0), (1, 0, 0), (0, 0, 1)),
    ((0, 0, 1), (1, 0, 0), (0, 1, 0)),
    ((0, 0, -1), (-1, 0, 0), (0, 1, 0)),
)


def checker_png(size: int = 16) -> bytes:
    """A red/white checkerboard texture."""
    cells = (np.indices((size, size)).sum(axis=0) // 4) % 2
    rgb = np.where(cells[..., None] == 1, [230, 40, 30], [245, 245, 240]).astype(np.uint8)
    out = io.BytesIO()
    Image.fromarray(rgb, "RGB").save(out, format="PNG")
    return out.getvalue()


def box_mesh(
    size: tuple[float, float, float] = (1.0, 1.0, 1.0),
    *,
    segments: int = 1,
    center: tuple[float, float, float] = (0.0, 0.5, 0.0),
    textured: bool = False,
    colored: bool = False,
) -> Mesh:
    """A box split into segments x segments quads per side, with normals and UVs."""
    grid = np.linspace(-0.5, 0.5, segments + 1)
    u, v = (a.reshape(-1) for a in np.meshgrid(grid, grid, indexing="xy"))
    positions: list[np.ndarray[Any, Any]] = []
    normals: list[np.ndarray[Any, Any]] = []
    uvs: list[np.ndarray[Any, Any]] = []
    faces: list[tuple[int, int, int]] = []
    for side, (normal, axis_u, axis_v) in enumerate(_CUBE_FACES):
        base = len(positions) * len(u)
        points = 0.5 * np.asarray(normal) + u[:, None] * np.asarray(axis_u) + v[:, None] * np.asarray(axis_v)
        positions.append(points)
        normals.append(np.tile(normal, (len(u), 1)))
        uvs.append(np.stack([(side + u + 0.5) / 6.0, 0.5 - v], axis=1))
        row = segments + 1
        for j in range(segments):
            for i in range(segments):
                a = base + j * row + i
                faces += [(a, a + 1, a + row + 1), (a, a + row + 1, a + row)]
    points = np.concatenate(positions) * np.asarray(size) + np.asarray(center)
    mesh = Mesh(
        positions=points.astype(np.float32),
        faces=np.asarray(faces, np.uint32),
        normals=np.concatenate(normals).astype(np.float32),
        uvs=np.concatenate(uvs).astype(np.float32),
        name="box",
    )
    if textured:
        mesh.texture_png = checker_png()
    if colored:
        height = (points[:, 1] - points[:, 1].min()) / np.ptp(points[:, 1])
        mesh.colors = np.stack([height, 0.3 + 0 * height, 1 - height, np.ones_like(height)], 1).astype(
            np.float32
        )
    return mesh


def chain_skeleton(joints: int = 3, length: float = 1.0) -> Skeleton:
    """A vertical chain of joints from y = 0 up to y = length."""
    heads = np.zeros((joints, 3), np.float32)
    heads[:, 1] = np.arange(joints) * length / joints
    tails = heads + np.array((0.0, length / joints, 0.0), np.float32)
    names = ["Root", *(f"Bone{i}" for i in range(1, joints))]
    return Skeleton(names=names, parents=np.arange(-1, joints - 1, dtype=np.int32), heads=heads, tails=tails)


def nearest_joint_skin(mesh: Mesh, skeleton: Skeleton) -> Skin:
    """Each vertex split between its two nearest bone heads by inverse distance."""
    distance = np.linalg.norm(mesh.positions[:, None, :] - skeleton.heads[None, :, :], axis=2)
    nearest = np.argsort(distance, axis=1, kind="stable")[:, :2]
    inverse = 1.0 / (np.take_along_axis(distance, nearest, axis=1) + 1e-3)
    joints = np.zeros((mesh.vertex_count, 4), np.uint16)
    weights = np.zeros((mesh.vertex_count, 4), np.float32)
    joints[:, :2] = nearest
    weights[:, :2] = inverse / inverse.sum(axis=1, keepdims=True)
    return Skin(joints=joints, weights=weights)


def swing_clip(skeleton: Skeleton, *, name: str = "swing", frames: int = 11, fps: float = 10.0) -> Clip:
    """Every non-root joint swings about Z and the root bobs up and down; loops."""
    phase = np.linspace(0.0, 2.0 * np.pi, frames)
    angle = 0.4 * np.sin(phase)
    rotations = np.zeros((frames, skeleton.joint_count, 4), np.float32)
    rotations[..., 3] = 1.0
    rotations[:, 1:, 2] = np.sin(angle / 2)[:, None]
    rotations[:, 1:, 3] = np.cos(angle / 2)[:, None]
    root = np.zeros((frames, 3), np.float32)
    root[:, 1] = 0.05 * np.sin(phase)
    rotations[-1] = rotations[0]
    root[-1] = root[0]
    return Clip(name=name, fps=fps, rotations=rotations, root_translations=root, loop=True)


def chain_model(joints: int = 3, *, segments: int = 4, clips: int = 1, textured: bool = True) -> Model:
    """A tall box skinned to a joint chain, with swinging clips."""
    mesh = box_mesh((0.3, 1.0, 0.3), segments=segments, textured=textured, colored=not textured)
    skeleton = chain_skeleton(joints)
    return Model(
        mesh=mesh,
        skeleton=skeleton,
        skin=nearest_joint_skin(mesh, skeleton),
        clips=[swing_clip(skeleton, name=f"swing{i}", frames=11 + 4 * i) for i in range(clips)],
    )


def _mirrored(
    joints: list[tuple[str, str | None, tuple[float, float, float]]],
) -> list[tuple[str, str | None, tuple[float, float, float]]]:
    """Left-side joints (x > 0 in glTF: the subject's left) plus their Right mirror images."""
    mirrored = []
    for name, parent, (x, y, z) in joints:
        mirrored.append((name, parent, (x, y, z)))
        if "Left" in name:
            right_parent = parent.replace("Left", "Right") if parent else None
            mirrored.append((name.replace("Left", "Right"), right_parent, (-x, y, z)))
    return mirrored


HUMANOID_JOINTS = _mirrored(
    [
        ("Hips", None, (0.0, 0.95, 0.0)),
        ("Spine", "Hips", (0.0, 1.05, 0.0)),
        ("Spine1", "Spine", (0.0, 1.2, 0.0)),
        ("Spine2", "Spine1", (0.0, 1.35, 0.0)),
        ("Neck", "Spine2", (0.0, 1.5, 0.0)),
        ("Head", "Neck", (0.0, 1.58, 0.0)),
        ("HeadTop_End", "Head", (0.0, 1.8, 0.0)),
        ("LeftShoulder", "Spine2", (0.05, 1.45, 0.0)),
        ("LeftArm", "LeftShoulder", (0.18, 1.45, 0.0)),
        ("LeftForeArm", "LeftArm", (0.45, 1.45, 0.0)),
        ("LeftHand", "LeftForeArm", (0.7, 1.45, 0.0)),
        ("LeftUpLeg", "Hips", (0.1, 0.9, 0.0)),
        ("LeftLeg", "LeftUpLeg", (0.1, 0.5, 0.0)),
        ("LeftFoot", "LeftLeg", (0.1, 0.1, 0.0)),
        ("LeftToeBase", "LeftFoot", (0.1, 0.02, 0.12)),
        ("LeftToe_End", "LeftToeBase", (0.1, 0.02, 0.2)),
    ]
)
QUADRUPED_JOINTS = _mirrored(
    [
        ("Hips", None, (0.0, 0.6, -0.3)),
        ("Spine", "Hips", (0.0, 0.62, -0.15)),
        ("Spine1", "Spine", (0.0, 0.63, 0.0)),
        ("Spine2", "Spine1", (0.0, 0.63, 0.2)),
        ("Neck", "Spine2", (0.0, 0.7, 0.3)),
        ("Head", "Neck", (0.0, 0.8, 0.42)),
        ("Tail1", "Hips", (0.0, 0.62, -0.42)),
        ("FrontLeftUpperLeg", "Spine2", (0.12, 0.55, 0.22)),
        ("FrontLeftLowerLeg", "FrontLeftUpperLeg", (0.12, 0.3, 0.22)),
        ("FrontLeftFoot", "FrontLeftLowerLeg", (0.12, 0.05, 0.22)),
        ("HindLeftUpperLeg", "Hips", (0.12, 0.55, -0.3)),
        ("HindLeftLowerLeg", "HindLeftUpperLeg", (0.12, 0.3, -0.3)),
        ("HindLeftFoot", "HindLeftLowerLeg", (0.12, 0.05, -0.3)),
    ]
)


def creature_skeleton(kind: str) -> Skeleton:
    """A humanoid (Mixamo-style names, *_End leaves) or quadruped skeleton standing on y = 0."""
    joints = HUMANOID_JOINTS if kind == "humanoid" else QUADRUPED_JOINTS
    names = [name for name, _, _ in joints]
    heads = np.asarray([head for _, _, head in joints], np.float32)
    parents = np.asarray([names.index(parent) if parent else -1 for _, parent, _ in joints], np.int32)
    tails = heads.copy()
    for joint, parent in enumerate(parents):
        children = np.flatnonzero(parents == joint)
        if len(children):
            tails[joint] = heads[children].mean(axis=0)
        else:
            tails[joint] = heads[joint] + 0.5 * (heads[joint] - heads[parent])
    return Skeleton(names=names, parents=parents, heads=heads, tails=tails)


def creature_model(kind: str, *, segments: int = 6, clips: tuple[str, ...] = ("idle", "walk")) -> Model:
    """A box body around the creature's skeleton, skinned to its non-leaf joints, with swinging clips."""
    skeleton = creature_skeleton(kind)
    low, high = skeleton.heads.min(axis=0), skeleton.heads.max(axis=0)
    size = np.maximum(high - low, 0.25)
    size[1] = high[1]
    center = ((low[0] + high[0]) / 2, size[1] / 2, (low[2] + high[2]) / 2)
    mesh = box_mesh(tuple(size.tolist()), segments=segments, center=center, textured=True)
    mesh.name = kind
    weighted = [j for j, name in enumerate(skeleton.names) if not name.endswith("_End")]
    skin = nearest_joint_skin(mesh, _subset(skeleton, weighted))
    skin.joints = np.asarray(weighted, np.uint16)[skin.joints]
    return Model(
        mesh=mesh,
        skeleton=skeleton,
        skin=skin,
        clips=[swing_clip(skeleton, name=name, frames=16 + 8 * i, fps=30.0) for i, name in enumerate(clips)],
    )


def _subset(skeleton: Skeleton, joints: list[int]) -> Skeleton:
    return Skeleton(
        names=[skeleton.names[j] for j in joints],
        parents=np.full(len(joints), -1, np.int32),
        heads=skeleton.heads[joints],
        tails=skeleton.tails[joints],
    )
