"""The `instant_meshes` backend: a quad-dominant LOD0 by Instant Meshes on CPU.

pyinstantmeshes (BSD-3, Instant Meshes' own code behind pybind11) was chosen over
pynanoinstantmeshes: it is the maintained binding (1.0.0 of 2025-12 with CI and wheels for
Python 3.11-3.14, against 0.0.3 of 2025-01 whose wheel also drops TBB headers and a static
library into site-packages), it has a deterministic mode and a face target, and it extracts
quad-dominant meshes (pynanoinstantmeshes only subdivides into pure quads, about 4x the
target). Its in-memory `remesh` returns the result split into triangles, so `remesh_file`
is used and the polygons are read back from its OBJ.

The source is first simplified to INPUT_FACES_PER_TARGET triangles per target face: enough
detail for Instant Meshes to follow, few enough to keep it under a second for 5k faces.
Symmetric sources remesh their x >= 0 half without its cap, the field aligned to the open
rim (so the rim's vertices land near x = 0), and mirror it. Instant Meshes lands only near
its target, so it runs again with the target scaled by the miss (at most RUNS runs) and the
closest result is kept. Any hole it leaves is closed by one polygon. Its log goes to C's
stdout, which is pointed at /dev/null meanwhile.
"""

from __future__ import annotations

import ctypes
import os
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyinstantmeshes  # type: ignore[import-untyped]  # no stubs: remesh_file is the one call

from assetcore.geometry import meshops
from assetcore.worker.backend import BackendInfo, ErrorCode, Progress, StepError, StepOutput, StepRequest
from services.retopo.pipeline import LowPoly, retopologize
from services.retopo.polygons import Polygons, compacted, holes_filled, mirrored_whole, outward, triangulate
from services.retopo.repair import from_manifold
from services.retopo.simplify import simplified
from services.retopo.source import SourceSolid

INPUT_FACES_PER_TARGET = 4
MIN_INPUT_FACES = 4000
RUNS = 3
COUNT_TOLERANCE = 0.04  # closer than this to the target ends the search (the gate allows 10 %)
PLANE_SNAP = 1e-6  # of the largest extent: vertices this close to x = 0 lie on the plane
SEAM_SNAP = 0.5  # of the mean edge: rim vertices this close to x = 0 move onto it
_C_STDOUT = threading.Lock()  # fd 1 is process-wide: one silenced call at a time


class InstantMeshesBackend:
    def describe(self) -> BackendInfo:
        return BackendInfo("instant_meshes", "2", ("quads", "symmetry", "uv_unwrap", "bake", "lods"))

    def load(self) -> None:
        return None

    def run(self, request: StepRequest, progress: Progress) -> StepOutput:
        return retopologize(request, remesh, progress)


def remesh(source: SourceSolid, target: int, progress: Progress) -> LowPoly:
    """A closed quad-dominant mesh of about `target` polygons (symmetric when the source is)."""
    solid = source.half if source.half is not None else source.solid
    share = 0.5 if source.half is not None else 1.0
    input_faces = max(round(INPUT_FACES_PER_TARGET * target * share), MIN_INPUT_FACES)
    progress(0.12, f"simplifying the input to {input_faces} triangles for Instant Meshes")
    positions, triangles = from_manifold(
        simplified(solid, input_faces) if solid.num_tri() > input_faces else solid
    )
    if source.half is not None:  # the cap goes: Instant Meshes follows the open rim instead
        extent = float(np.ptp(positions, axis=0).max())
        triangles = triangles[~(np.abs(positions[triangles, 0]) <= PLANE_SNAP * extent).all(axis=1)]
    asked = max(round(target * share), 4)
    best: Polygons | None = None
    for run in range(RUNS):
        progress(0.15 + 0.05 * run, f"Instant Meshes, asked for {asked} faces")
        mesh = compacted(instant_meshes(positions, triangles, asked, source.half is not None))
        if source.half is not None:
            mesh = mirrored_whole(mesh, SEAM_SNAP * _mean_edge(mesh))
        mesh = outward(holes_filled(mesh))
        if best is None or abs(len(mesh.sizes) - target) < abs(len(best.sizes) - target):
            best = mesh
        if abs(len(mesh.sizes) - target) <= COUNT_TOLERANCE * target:
            break
        asked = max(round(asked * target / len(mesh.sizes)), 4)
    assert best is not None
    result, quads = triangulate(best.positions, best.sizes, best.corners)
    if not meshops.is_closed_manifold(result):
        raise StepError(ErrorCode.INTERNAL, "instant_meshes: the remesh is not watertight after hole filling")
    return LowPoly(positions=best.positions, triangles=result, polygons=len(best.sizes), quads=quads)


def _mean_edge(mesh: Polygons) -> float:
    edges = mesh.directed_edges()
    return float(np.linalg.norm(mesh.positions[edges[:, 0]] - mesh.positions[edges[:, 1]], axis=1).mean())


def instant_meshes(
    positions: npt.NDArray[np.float64], triangles: npt.NDArray[np.int64], faces: int, open_rim: bool
) -> Polygons:
    """Instant Meshes (deterministic mode) on a triangle mesh: its polygons, as written.
    With `open_rim` the field aligns to the input's boundary, so the result's rim follows it."""
    with tempfile.TemporaryDirectory(prefix="instant_meshes_") as folder:
        source, result = Path(folder, "in.obj"), Path(folder, "out.obj")
        with source.open("w") as out:
            np.savetxt(out, positions, fmt="v %.9g %.9g %.9g")
            np.savetxt(out, triangles + 1, fmt="f %d %d %d")
        with _c_stdout_silenced():
            pyinstantmeshes.remesh_file(
                str(source),
                str(result),
                target_face_count=faces,
                align_to_boundaries=open_rim,
                deterministic=True,
            )
        return read_obj(result.read_text())


def read_obj(text: str) -> Polygons:
    """Vertices and polygons of an OBJ (`f 1//1 2//1 ...`: the vertex index before the slash)."""
    vertices: list[list[float]] = []
    sizes: list[int] = []
    corners: list[int] = []
    for line in text.splitlines():
        fields = line.split()
        if not fields:
            continue
        if fields[0] == "v":
            vertices.append([float(value) for value in fields[1:4]])
        elif fields[0] == "f":
            sizes.append(len(fields) - 1)
            corners.extend(int(corner.split("/")[0]) - 1 for corner in fields[1:])
    if not sizes:
        raise StepError(ErrorCode.INTERNAL, "instant_meshes: Instant Meshes returned no faces")
    return Polygons(
        np.asarray(vertices, np.float64), np.asarray(sizes, np.int64), np.asarray(corners, np.int64)
    )


@contextmanager
def _c_stdout_silenced() -> Iterator[None]:
    """Instant Meshes logs every stage to C's stdout, which carries the CLI's results."""
    with _C_STDOUT:
        sys.stdout.flush()
        saved = os.dup(1)
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, 1)
            yield
        finally:
            ctypes.CDLL(None).fflush(None)  # what C buffered goes to /dev/null, not the real stdout
            os.dup2(saved, 1)
            os.close(saved)
            os.close(devnull)
