"""Small PNG previews: a software z-buffer render of a mesh, and image thumbnails.

The mesh is seen orthographically, by default from the front-right and a little above (a 3/4 view),
shaded with Lambert + ambient light, coloured from its texture (sampled per pixel at the
interpolated UV), its vertex colours, or a neutral clay. Rendering happens at twice the
size and is box-filtered down, which anti-aliases the edges. Background: transparent.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, UnidentifiedImageError

from assetcore.geometry.model import Mesh, Model, Skeleton
from assetcore.worker.backend import ErrorCode, StepError

SUPERSAMPLE = 2
YAW_DEGREES = 35.0  # camera swung from the front (+Z) towards +X
PITCH_DEGREES = 20.0  # ... and raised above the subject
MARGIN = 1.12  # the subject's projected extent fills 1 / MARGIN of the frame
AMBIENT = 0.35
DIFFUSE = 0.65
CLAY = (0.62, 0.62, 0.6)  # linear albedo of meshes with neither texture nor colours
BONE_COLOR = (255, 160, 30, 255)
JOINT_COLOR = (255, 240, 200, 255)
OUTLINE_COLOR = (40, 30, 20, 255)
MAX_CANDIDATES = 4_000_000  # pixel tests per rasterization batch (bounds memory)


def render_mesh_preview(
    mesh: Mesh, size: int = 256, *, yaw_deg: float = YAW_DEGREES, pitch_deg: float = PITCH_DEGREES
) -> bytes:
    """A shaded PNG of the mesh, size x size RGBA: the 3/4 view unless `yaw_deg` (from the front,
    +Z, towards +X; 180 is the back) and `pitch_deg` (above the subject) say otherwise."""
    return _encode_png(_render(mesh, size, skeleton=None, view=(yaw_deg, pitch_deg)))


def render_model_preview(model: Model, size: int = 256) -> bytes:
    """Like render_mesh_preview, with the skeleton (if any) drawn as bones over the mesh."""
    return _encode_png(_render(model.mesh, size, skeleton=model.skeleton, view=(YAW_DEGREES, PITCH_DEGREES)))


def render_image_preview(png: bytes, size: int = 256) -> bytes:
    """A thumbnail of an image that fits size x size, aspect and alpha kept."""
    _check_size(size)
    try:
        with Image.open(io.BytesIO(png)) as opened:
            image = opened.convert("RGBA")
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise StepError(
            ErrorCode.INVALID_IMAGE, f"preview: bytes are not a decodable image ({exc})"
        ) from None
    image.thumbnail((size, size), Image.Resampling.LANCZOS)
    return _encode_png(image)


@dataclass(frozen=True)
class _Camera:
    """Orthographic view: world points to (x, y) pixels and depth (larger is nearer)."""

    right: np.ndarray[Any, Any]
    up: np.ndarray[Any, Any]
    toward_viewer: np.ndarray[Any, Any]
    center: np.ndarray[Any, Any]
    scale: float
    size: int

    @classmethod
    def framing(cls, points: np.ndarray[Any, Any], size: int, view: tuple[float, float]) -> _Camera:
        yaw, pitch = np.radians(view[0]), np.radians(view[1])
        toward = np.array([np.sin(yaw) * np.cos(pitch), np.sin(pitch), np.cos(yaw) * np.cos(pitch)])
        right = np.cross((0.0, 1.0, 0.0), toward)
        right /= np.linalg.norm(right)
        up = np.cross(toward, right)
        if len(points) == 0:
            return cls(right, up, toward, np.zeros(2), 1.0, size)
        screen = points @ np.stack([right, up], axis=1)
        low, high = screen.min(axis=0), screen.max(axis=0)
        extent = float(max((high - low).max(), 1e-9))
        return cls(right, up, toward, (low + high) / 2, size / (extent * MARGIN), size)

    def project(self, points: np.ndarray[Any, Any]) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
        screen = points @ np.stack([self.right, self.up], axis=1) - self.center
        pixels = np.empty_like(screen)
        pixels[:, 0] = self.size / 2 + screen[:, 0] * self.scale
        pixels[:, 1] = self.size / 2 - screen[:, 1] * self.scale
        return pixels, points @ self.toward_viewer


@dataclass(frozen=True)
class _Fragments:
    """The nearest surface at each covered pixel: pixel index, face, barycentric weights."""

    pixels: np.ndarray[Any, Any]
    faces: np.ndarray[Any, Any]
    barycentric: np.ndarray[Any, Any]


def _render(mesh: Mesh, size: int, skeleton: Skeleton | None, view: tuple[float, float]) -> Image.Image:
    _check_size(size)
    full = size * SUPERSAMPLE
    points = np.asarray(mesh.positions, np.float64)
    framed = points if skeleton is None else np.concatenate([points, skeleton.heads, skeleton.tails])
    camera = _Camera.framing(framed[np.isfinite(framed).all(axis=1)], full, view)
    rgba = np.zeros((full * full, 4), np.uint8)
    if mesh.face_count:
        fragments = _rasterize(camera, points, np.asarray(mesh.faces, np.int64))
        rgba[fragments.pixels, :3] = _shade(camera, mesh, fragments)
        rgba[fragments.pixels, 3] = 255
    image = Image.fromarray(rgba.reshape(full, full, 4), "RGBA")
    if skeleton is not None and skeleton.joint_count:
        _draw_bones(image, camera, skeleton)
    return image.resize((size, size), Image.Resampling.BOX)


def _rasterize(camera: _Camera, points: np.ndarray[Any, Any], faces: np.ndarray[Any, Any]) -> _Fragments:
    """Scan-convert the front faces row by row (work ~ covered pixels); keep the nearest per pixel.

    Depth is affine in screen space (orthographic view), so each row span carries its start
    depth and step; barycentric weights are only computed for the pixels that win.
    """
    pixels, depth = camera.project(points)
    finite = np.isfinite(pixels).all(axis=1) & np.isfinite(depth)
    corners = np.where(finite[:, None], pixels, 0.0)[faces]  # (F, 3, 2)
    area = _edge(corners[:, 1], corners[:, 2], corners[:, 0])
    low = np.ceil(corners.min(axis=1) - 0.5).clip(0, camera.size).astype(np.int64)
    high = np.floor(corners.max(axis=1) - 0.5).clip(-1, camera.size - 1).astype(np.int64)
    front = area * _winding(points, faces) < -1e-12  # counter-clockwise on screen (y runs down)
    visible = front & finite[faces].all(axis=1) & (high >= low).all(axis=1)
    safe_area = np.where(visible, area, 1.0)
    z = np.where(finite, depth, 0.0)[faces]  # (F, 3)
    # d(depth)/dx: each corner's depth times the x-derivative of its barycentric weight
    dz_dx = (
        z[:, 0] * (corners[:, 1, 1] - corners[:, 2, 1])
        + z[:, 1] * (corners[:, 2, 1] - corners[:, 0, 1])
        + z[:, 2] * (corners[:, 0, 1] - corners[:, 1, 1])
    ) / safe_area
    rows = high[:, 1] - low[:, 1] + 1
    found: list[tuple[np.ndarray[Any, Any], ...]] = []
    for batch in _batches(np.flatnonzero(visible), rows * (high[:, 0] - low[:, 0] + 1)):
        face = np.repeat(batch, rows[batch])
        y = low[face, 1] + _ranks(rows[batch])
        first_x, last_x = _row_spans(corners[face], y + 0.5, camera.size)
        start = np.stack([first_x + 0.5, y + 0.5], axis=1)
        start_z = (_barycentric(corners[face], start, safe_area[face]) * z[face]).sum(axis=1)
        count = np.maximum(last_x - first_x + 1, 0)
        step = _ranks(count)
        span_face = np.repeat(face, count)
        pixel = np.repeat(y * camera.size + first_x, count) + step
        found.append((pixel, np.repeat(start_z, count) + dz_dx[span_face] * step, span_face))
    if not found:
        return _Fragments(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros((0, 3)))
    pixel, fragment_z, face = (np.concatenate(parts) for parts in zip(*found, strict=True))
    order = np.lexsort((-fragment_z, pixel))  # per pixel, nearest first; ties keep face order
    winners = order[np.unique(pixel[order], return_index=True)[1]]
    pixel, face = pixel[winners], face[winners]
    centers = np.stack([pixel % camera.size + 0.5, pixel // camera.size + 0.5], axis=1)
    weights = np.clip(_barycentric(corners[face], centers, safe_area[face]), 0.0, 1.0)
    weights /= np.maximum(weights.sum(axis=1, keepdims=True), 1e-12)
    return _Fragments(pixel, face, weights)


def _edge(p: np.ndarray[Any, Any], q: np.ndarray[Any, Any], r: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """Twice the signed area of triangles (p, q, r), all (N, 2)."""
    return np.asarray((p[:, 0] - r[:, 0]) * (q[:, 1] - r[:, 1]) - (p[:, 1] - r[:, 1]) * (q[:, 0] - r[:, 0]))


def _barycentric(
    triangles: np.ndarray[Any, Any], points: np.ndarray[Any, Any], area: np.ndarray[Any, Any]
) -> np.ndarray[Any, Any]:
    """(N, 3) barycentric weights of points in (N, 3, 2) triangles whose signed area is `area`."""
    a, b, c = triangles[:, 0], triangles[:, 1], triangles[:, 2]
    w0 = _edge(b, c, points) / area
    w1 = _edge(c, a, points) / area
    return np.stack([w0, w1, 1.0 - w0 - w1], axis=1)


def _winding(points: np.ndarray[Any, Any], faces: np.ndarray[Any, Any]) -> float:
    """+1 for outward-facing (counter-clockwise) faces, -1 for an inside-out mesh: which side to cull."""
    with np.errstate(invalid="ignore", over="ignore"):
        a, b, c = (points[faces[:, corner]] for corner in range(3))
        volume = np.nansum(np.einsum("ij,ij->i", a, np.cross(b, c)))
    return -1.0 if volume < 0 else 1.0


def _ranks(counts: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """0, 1, .., n-1 for each n in counts, concatenated."""
    starts = np.cumsum(counts) - counts
    return np.asarray(np.arange(int(counts.sum())) - np.repeat(starts, counts), np.int64)


def _row_spans(
    triangles: np.ndarray[Any, Any], row_center: np.ndarray[Any, Any], size: int
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """First and last pixel column whose centre lies inside each (triangle, row) pair."""
    left = np.full(len(triangles), np.inf)
    right = np.full(len(triangles), -np.inf)
    for start, end in ((0, 1), (1, 2), (2, 0)):
        p, q = triangles[:, start], triangles[:, end]
        dy = q[:, 1] - p[:, 1]
        crosses = (np.minimum(p[:, 1], q[:, 1]) <= row_center) & (row_center <= np.maximum(p[:, 1], q[:, 1]))
        crosses &= dy != 0
        t = np.divide(row_center - p[:, 1], dy, out=np.zeros_like(dy), where=crosses)
        x = p[:, 0] + t * (q[:, 0] - p[:, 0])
        left = np.where(crosses, np.minimum(left, x), left)
        right = np.where(crosses, np.maximum(right, x), right)
    spans_found = np.isfinite(left)
    first = np.ceil(np.where(spans_found, left, 1.0) - 0.5).clip(0, size)
    last = np.floor(np.where(spans_found, right, -1.0) - 0.5).clip(-1, size - 1)
    return first.astype(np.int64), last.astype(np.int64)


def _batches(faces: np.ndarray[Any, Any], counts: np.ndarray[Any, Any]) -> list[np.ndarray[Any, Any]]:
    """Split faces into runs whose bounding boxes hold at most MAX_CANDIDATES pixels (or one face)."""
    totals = np.cumsum(counts[faces])
    batches = []
    start = 0
    while start < len(faces):
        base = totals[start - 1] if start else 0
        stop = max(int(np.searchsorted(totals, base + MAX_CANDIDATES, side="right")), start + 1)
        batches.append(faces[start:stop])
        start = stop
    return batches


def _shade(camera: _Camera, mesh: Mesh, fragments: _Fragments) -> np.ndarray[Any, Any]:
    """sRGB bytes (N, 3) of the fragments: albedo x (ambient + Lambert) from a key light."""
    corners = np.asarray(mesh.faces, np.int64)[fragments.faces]  # (N, 3) vertex ids
    weights = fragments.barycentric
    if mesh.normals is not None:
        normals = _interpolate(mesh.normals, corners, weights)
    else:
        p0, p1, p2 = (np.asarray(mesh.positions, np.float64)[corners[:, i]] for i in range(3))
        normals = np.cross(p1 - p0, p2 - p0)
    facing = normals @ camera.toward_viewer
    light = -0.4 * camera.right + 0.6 * camera.up + 0.7 * camera.toward_viewer
    lambert = np.abs(normals @ light) * np.where((normals @ light) * facing > 0, 1.0, 0.0)  # lit both sides
    lambert /= np.maximum(np.linalg.norm(normals, axis=1), 1e-12) * np.linalg.norm(light)
    linear = _albedo(mesh, corners, weights) * (AMBIENT + DIFFUSE * lambert)[:, None]
    levels = np.round(np.clip(linear, 0.0, 1.0) * (len(_LINEAR_TO_SRGB) - 1)).astype(np.int64)
    return np.asarray(_LINEAR_TO_SRGB[levels], np.uint8)


def _interpolate(
    values: np.ndarray[Any, Any], corners: np.ndarray[Any, Any], weights: np.ndarray[Any, Any]
) -> np.ndarray[Any, Any]:
    """Per-vertex values blended at each fragment: (N, k)."""
    values = np.asarray(values, np.float64)
    return np.asarray(
        values[corners[:, 0]] * weights[:, :1]
        + values[corners[:, 1]] * weights[:, 1:2]
        + values[corners[:, 2]] * weights[:, 2:],
        np.float64,
    )


def _albedo(mesh: Mesh, corners: np.ndarray[Any, Any], weights: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """Linear RGB albedo per fragment."""
    if mesh.texture_png is not None and mesh.uvs is not None:
        texture = _decode_texture(mesh.texture_png)
        if texture is not None:
            uv = _interpolate(mesh.uvs, corners, weights)
            height, width = texture.shape[:2]
            column = np.floor((uv[:, 0] % 1.0) * width).astype(np.int64).clip(0, width - 1)
            row = np.floor((uv[:, 1] % 1.0) * height).astype(np.int64).clip(0, height - 1)
            return np.asarray(_SRGB_TO_LINEAR[texture[row, column]], np.float64)
    if mesh.colors is not None:
        return _interpolate(np.asarray(mesh.colors)[:, :3], corners, weights)
    return np.tile(CLAY, (len(corners), 1))


def _decode_texture(png: bytes) -> np.ndarray[Any, Any] | None:
    """The texture's sRGB bytes (H, W, 3), or None when it does not decode (the preview falls back)."""
    try:
        with Image.open(io.BytesIO(png)) as image:
            return np.asarray(image.convert("RGB"))
    except (UnidentifiedImageError, OSError, ValueError):
        return None


_SRGB_TO_LINEAR = (np.arange(256) / 255.0) ** 2.2
_LINEAR_TO_SRGB = np.round((np.arange(4096) / 4095.0) ** (1 / 2.2) * 255).astype(np.uint8)


def _draw_bones(image: Image.Image, camera: _Camera, skeleton: Skeleton) -> None:
    """Bones as outlined lines from head to tail, joints as dots, over the render."""
    heads, _ = camera.project(np.asarray(skeleton.heads, np.float64))
    tails, _ = camera.project(np.asarray(skeleton.tails, np.float64))
    draw = ImageDraw.Draw(image)
    width = max(2, camera.size // 128)
    drawable = np.isfinite(heads).all(axis=1) & np.isfinite(tails).all(axis=1)
    heads, tails = heads[drawable], tails[drawable]
    for color, extra in ((OUTLINE_COLOR, 2 * SUPERSAMPLE), (BONE_COLOR, 0)):
        for head, tail in zip(heads.tolist(), tails.tolist(), strict=True):
            draw.line([tuple(head), tuple(tail)], fill=color, width=width + extra)
    radius = width + SUPERSAMPLE
    for x, y in heads.tolist():
        draw.ellipse(
            (x - radius, y - radius, x + radius, y + radius), fill=JOINT_COLOR, outline=OUTLINE_COLOR
        )


def _check_size(size: int) -> None:
    if not 8 <= size <= 2048:
        raise ValueError(f"preview size {size} is outside 8..2048")


def _encode_png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG", compress_level=6)
    return out.getvalue()
