"""Input meshes for the retopo tests and benchmark: good solids and real degenerate inputs,
as GLB bytes, and requests that carry them."""

from __future__ import annotations

from typing import Any

import manifold3d
import numpy as np
import numpy.typing as npt

from assetcore.geometry.gltf import write_glb
from assetcore.geometry.model import Mesh, Model
from assetcore.proto.v1 import job_pb2
from assetcore.worker.backend import InputFile, StepRequest
from tests.support.steps import step_request

RED = (0.8, 0.05, 0.05, 1.0)  # linear RGBA
BLUE = (0.05, 0.1, 0.8, 1.0)


def glb(
    positions: npt.NDArray[Any], faces: npt.NDArray[Any], colors: npt.NDArray[Any] | None = None
) -> bytes:
    mesh = Mesh(
        positions=np.asarray(positions, np.float32), faces=np.asarray(faces, np.uint32), colors=colors
    )
    return write_glb(Model(mesh=mesh))


def retopo_request(
    data: bytes, params: dict[str, Any] | None = None, *, seed: int = 3, **constraints: Any
) -> StepRequest:
    return step_request(
        "retopo",
        job_pb2.JobInput(constraints=job_pb2.Constraints(**constraints)),
        params,
        seed,
        {"mesh": InputFile("mesh", "model/gltf-binary", data, "0" * 64)},
    )


def _arrays(solid: manifold3d.Manifold) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    mesh = solid.to_mesh()
    return np.asarray(mesh.vert_properties, np.float64)[:, :3], np.asarray(mesh.tri_verts, np.int64)


def figure(segments: int = 48) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    """A symmetric blob figure (body, head, two arms) 1.5 m tall, one piece of a few thousand triangles."""
    sphere = manifold3d.Manifold.sphere
    parts = [
        sphere(0.3, segments).scale((1.0, 1.4, 0.7)).translate((0, 0.6, 0)),
        sphere(0.18, segments).translate((0, 1.15, 0.02)),
        sphere(0.09, segments // 2).scale((3.0, 1.0, 1.0)).translate((0.38, 0.85, 0)),
        sphere(0.09, segments // 2).scale((3.0, 1.0, 1.0)).translate((-0.38, 0.85, 0)),
    ]
    return _arrays(manifold3d.Manifold.batch_boolean(parts, manifold3d.OpType.Add))


def two_coloured_figure() -> bytes:
    """The figure with its x >= 0 side blue and its x < 0 side red (vertex colours)."""
    positions, faces = figure()
    colors = np.where(positions[:, :1] >= 0, BLUE, RED).astype(np.float32)
    return glb(positions, faces, colors)


def lopsided_blob() -> bytes:
    """Clearly asymmetric about x = 0: a ball with a big bump on its +x side."""
    sphere = manifold3d.Manifold.sphere
    solid = sphere(0.5, 48) + sphere(0.25, 24).translate((0.5, 0.1, 0))
    return glb(*_arrays(solid.translate((0, 0.5, 0))))


def open_box() -> bytes:
    """A tessellated box with one whole side missing: open, nothing enclosed."""
    positions, faces = _arrays(manifold3d.Manifold.cube((1, 1, 1), True).refine(8))
    top = positions[faces].mean(axis=1)[:, 1] > 0.49
    return glb(positions, faces[~top])


def flat_sheet() -> bytes:
    """A single-sided grid in the plane z = 0."""
    n = 10
    x, y = np.meshgrid(np.linspace(0, 1, n), np.linspace(0, 1, n), indexing="ij")
    positions = np.column_stack([x.ravel(), y.ravel(), np.zeros(n * n)])
    index = np.arange(n * n).reshape(n, n)
    a, b, c, d = (
        index[:-1, :-1].ravel(),
        index[1:, :-1].ravel(),
        index[1:, 1:].ravel(),
        index[:-1, 1:].ravel(),
    )
    return glb(positions, np.concatenate([np.column_stack([a, b, c]), np.column_stack([a, c, d])]))


def cracked_box() -> bytes:
    """A box whose top was meshed separately: its rim vertices sit 0.1 mm above the sides'
    (a crack between patches, as exporters leave them): open, but repairable."""
    positions, faces = _arrays(manifold3d.Manifold.cube((1, 1, 1), True).refine(4))
    top = positions[faces].mean(axis=1)[:, 1] > 0.49
    lifted = positions.copy()
    lifted[:, 1] += 1e-4
    faces = np.concatenate([faces[~top], faces[top] + len(positions)])
    return glb(np.concatenate([positions, lifted]), faces)


def cubes_sharing_an_edge() -> bytes:
    """Two cubes that touch along one edge: closed, but that edge joins four faces."""
    first, first_faces = _arrays(manifold3d.Manifold.cube((1, 1, 1)))
    second = first + 1.0 * np.array([1.0, 1.0, 0.0])
    faces = np.concatenate([first_faces, first_faces + len(first)])
    return glb(np.concatenate([first, second]), faces)


def empty_mesh() -> bytes:
    return glb(np.zeros((0, 3)), np.zeros((0, 3)))
