"""Six orthographic views of a figure's voxel volume: base colour and metallic-roughness tiles.

Each tile ray-casts the volume along its camera's axis (assetcore/geometry/camera.py, the same
cameras image3d carves with) and shows the square [-extent, extent]^2 of its image plane through
the subject's centre. "views" holds albedo: the paint and its material's texture, no lighting;
"materials" holds glTF's metallicRoughness texels (R unused, G roughness, B metallic). Alpha is
the same anti-aliased matte in both.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from PIL import Image
from scipy import ndimage

from assetcore.geometry.camera import Camera
from assetcore.multiview import Multiview, View
from services.tti.drawing.palette import MATERIAL_LOOKS, MATERIAL_PBR, Style
from services.tti.drawing.textures import PatternMaker
from services.tti.drawing.volume import Volume

TILE = 256  # pixels per view, whatever the concept image's size
LAYOUT = "orthographic-6"
CAMERAS: tuple[tuple[float, float], ...] = (  # (azimuth, elevation): front, left, back, right, top, bottom
    (0.0, 0.0),
    (90.0, 0.0),
    (180.0, 0.0),
    (270.0, 0.0),
    (0.0, 90.0),
    (0.0, -90.0),
)


@dataclass(frozen=True)
class Projection:
    """What a camera sees of the volume: the piece label (index + 1, 0 none) and coverage per pixel."""

    labels: npt.NDArray[np.uint8]  # (TILE, TILE)
    coverage: npt.NDArray[np.float32]  # (TILE, TILE) 0..1


@dataclass(frozen=True)
class SubjectViews:
    albedo: Multiview
    materials: Multiview


def render_views(volume: Volume, style: Style, rng: np.random.Generator) -> SubjectViews:
    """Deterministic in (volume, style, rng's state)."""
    albedo_table, material_table = _tables(volume)
    albedo, materials = [], []
    for azimuth, elevation in CAMERAS:
        seen = project(volume, Camera.orbit(azimuth, elevation, None))
        alpha = np.round(seen.coverage * 255.0).astype(np.uint8)
        colour = albedo_table[seen.labels] * (1.0 + _texture(seen.labels, volume, style, rng))[..., None]
        albedo.append(View(azimuth, elevation, _rgba(colour, alpha)))
        materials.append(View(azimuth, elevation, _rgba(material_table[seen.labels], alpha)))
    return SubjectViews(
        Multiview(tuple(albedo), fov_deg=None, extent=volume.extent, layout=LAYOUT),
        Multiview(tuple(materials), fov_deg=None, extent=volume.extent, layout=LAYOUT),
    )


def project(volume: Volume, camera: Camera, tile: int = TILE) -> Projection:
    """The first piece along each pixel's ray, for an axis-aligned orthographic camera."""
    right, up = camera.axes()
    (up_axis, up_sign), (right_axis, right_sign), (depth_axis, depth_sign) = (
        _axis(v) for v in (up, right, camera.direction)
    )
    flips = (  # rows grow downwards, columns along right, the camera's side first
        slice(None, None, -1 if up_sign > 0 else 1),
        slice(None, None, -1 if right_sign < 0 else 1),
        slice(None, None, -1 if depth_sign > 0 else 1),
    )
    grid = np.transpose(volume.labels, (up_axis, right_axis, depth_axis))[flips]
    first = np.argmax(np.transpose(volume.solid, (up_axis, right_axis, depth_axis))[flips], axis=2)
    labels = np.take_along_axis(grid, first[..., None], axis=2)[..., 0]  # 0 where the ray hits nothing
    size = labels.shape[0]
    hit = Image.fromarray((labels > 0).astype(np.float32), mode="F")
    nearest = ((np.arange(tile) + 0.5) * size / tile).astype(np.intp)
    labels = labels[nearest[:, None], nearest[None, :]]
    coverage = np.clip(np.asarray(hit.resize((tile, tile), Image.Resampling.BILINEAR)), 0.0, 1.0)
    empty = labels == 0
    if empty.any() and not empty.all():  # edge pixels the bilinear matte reaches: nearest piece
        rows, columns = ndimage.distance_transform_edt(empty, return_distances=False, return_indices=True)
        labels = labels[rows, columns]
    return Projection(np.where(coverage > 0.0, labels, 0).astype(np.uint8), coverage.astype(np.float32))


def _axis(vector: npt.NDArray[np.float64]) -> tuple[int, float]:
    axis = int(np.argmax(np.abs(vector)))
    if abs(abs(float(vector[axis])) - 1.0) > 1e-6:
        raise ValueError(f"views: camera axis {vector.tolist()} is not along x, y or z")
    return axis, float(np.sign(vector[axis]))


def _tables(volume: Volume) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Per label (0: background): the paint's sRGB 0..1, and (1, roughness, metallic)."""
    albedo = np.zeros((len(volume.pieces) + 1, 3))
    materials = np.zeros((len(volume.pieces) + 1, 3))
    for label, piece in enumerate(volume.pieces, start=1):
        pbr = MATERIAL_PBR[piece.paint.material]
        albedo[label] = piece.paint.rgb
        materials[label] = (1.0, pbr.roughness, pbr.metallic)
    return albedo, materials


def _texture(
    labels: npt.NDArray[np.uint8], volume: Volume, style: Style, rng: np.random.Generator
) -> npt.NDArray[np.float64]:
    """Relative brightness changes of each material's pattern, as the concept image has them."""
    result = np.zeros(labels.shape)
    if style.texture == 0.0:
        return result
    patterns = PatternMaker((labels.shape[0], labels.shape[1]), labels.shape[0] / 1024.0, rng)
    made: dict[tuple[str, bool], npt.NDArray[np.float32]] = {}
    for label in np.unique(labels[labels > 0]):
        piece = volume.pieces[int(label) - 1]
        look = MATERIAL_LOOKS[piece.paint.material]
        if look.texture == "none":
            continue
        key = (look.texture, piece.grain_vertical and look.texture == "grain")
        if key not in made:
            made[key] = patterns.make(*key)
        mask = labels == label
        result[mask] = made[key][mask] * look.texture_strength * style.texture
    return result


def _rgba(rgb: npt.NDArray[np.float64], alpha: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    rgba = np.empty((*alpha.shape, 4), np.uint8)
    rgba[..., :3] = np.round(np.clip(rgb, 0.0, 1.0) * 255.0) * (alpha > 0)[..., None]
    rgba[..., 3] = alpha
    return rgba
