"""Retopo benchmark: the default backend (`decimate`) against `instant_meshes` and `blender`.

Meshes of about 150k triangles: the acceptance prompts' subjects (knight, wolf, chest) drawn
by the tti step's procedural backend and reconstructed by image3d at the resolution that
gives that many triangles, and a marching-cubes torus knot. Each case runs in a fresh
process, so that its peak RSS is its own. Prints one JSON object:

  remesh_s     LOD0 only, from the prepared (repaired, symmetrised) source: the manifold3d
               simplification, Instant Meshes (with its input simplification and count
               search), or the Blender call (voxel remesh + QuadriFlow; Blender started)
  prepare_s    reading, repairing and symmetrising the input
  step_s       the whole step: the above plus LOD1/LOD2, three unwraps and bakes, GLBs,
               preview and the quality gates
  hausdorff    symmetric Hausdorff distance between LOD0 and the input, over the input's
               bounding-box diagonal (20k surface samples each way); mean_distance likewise
  quad_share   quads / faces of LOD0;  face_error  (faces - target) / target
  min_angle    smallest corner angle (degrees) of LOD0's polygons: quads as quads (their two
               triangles joined again), triangles as triangles, other polygons as their fan
               triangles; sliver_share  share of those polygons with a corner under 5 degrees
  peak_rss_mb  the worker process; blender_peak_rss_mb the Blender child

Usage: python bench/bench_retopo.py [--target 5000] [--triangles 150000] [--skip-blender]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import resource
import sys
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import numpy.typing as npt
from scipy.spatial import cKDTree
from skimage import measure

from assetcore.blender import bpy_available, shared_blender
from assetcore.geometry import meshops
from assetcore.geometry.gltf import read_glb, write_glb
from assetcore.geometry.model import Mesh, Model
from assetcore.proto.v1 import job_pb2
from assetcore.steps.runner import prepare_request, run_step
from assetcore.worker.backend import InputFile
from services.image3d.step import STEP as IMAGE3D
from services.retopo.backends import blender, decimate, instant_meshes
from services.retopo.options import RetopoOptions
from services.retopo.pipeline import LowPoly
from services.retopo.source import read_source
from services.retopo.step import STEP as RETOPO
from services.tti.step import STEP as TTI

PROMPTS = {
    "knight": "a knight in red armor with a round shield",
    "wolf": "a grey wolf",
    "chest": "a wooden treasure chest",
}
SAMPLES = 20_000
SEED = 7


def no_progress(fraction: float, message: str = "", preview_png: bytes | None = None) -> None:
    """Never cancels."""


def inflated(prompt: str, triangles: int) -> bytes:
    """The prompt's concept image reconstructed at the resolution closest to `triangles`."""
    job = job_pb2.JobInput(prompt=job_pb2.Prompt(concept=prompt))
    tti = prepare_request(TTI, TTI.default_backend, job=job, params={}, seed=SEED, inputs={})
    image = run_step(TTI, TTI.backend(TTI.default_backend).create(), tti, no_progress)
    inputs = {"image": InputFile("image", "image/png", image.files[0].data, "")}
    resolution, mesh = 192, b""
    for _ in range(3):
        request = prepare_request(
            IMAGE3D, "inflate", job=job, params={"resolution": resolution}, seed=SEED, inputs=inputs
        )
        output = run_step(IMAGE3D, IMAGE3D.backend("inflate").create(), request, no_progress)
        mesh = output.files[0].data
        better = int(np.clip(round(resolution * np.sqrt(triangles / output.metrics["faces"])), 64, 384))
        if better == resolution:
            break
        resolution = better
    return mesh


def torus_knot(triangles: int) -> bytes:
    """A (2, 3) torus knot tube meshed by marching cubes, about `triangles` triangles."""
    t = np.linspace(0.0, 2.0 * np.pi, 3000, endpoint=False)
    curve = np.column_stack(
        [(2 + np.cos(3 * t)) * np.cos(2 * t), (2 + np.cos(3 * t)) * np.sin(2 * t), np.sin(3 * t)]
    )
    resolution = int(150 * np.sqrt(triangles / 142_000))
    axis = np.linspace(-3.6, 3.6, resolution)
    grid = np.stack(np.meshgrid(axis, axis, axis[np.abs(axis) < 1.8], indexing="ij"), axis=-1)
    distance, _ = cKDTree(curve).query(grid.reshape(-1, 3))
    volume = (0.55 - distance).reshape(grid.shape[:3]).astype(np.float32)
    vertices, faces, _, _ = measure.marching_cubes(volume, 0.0, spacing=(axis[1] - axis[0],) * 3)
    positions = (vertices - vertices.mean(axis=0)) * 0.25 + (0.0, 1.0, 0.0)
    mesh = Mesh(positions=positions.astype(np.float32), faces=faces[:, ::-1].astype(np.uint32))
    return write_glb(Model(mesh=mesh))


def hausdorff(first: Mesh, second: Mesh) -> tuple[float, float]:
    """(symmetric Hausdorff distance, mean distance), both over the first's bounding-box diagonal."""
    diagonal = float(np.linalg.norm(np.ptp(first.positions, axis=0)))
    distances = []
    for a, b in ((first, second), (second, first)):
        points = meshops.sample_surface(a.positions, a.faces, SAMPLES, seed=1)
        distances.append(meshops.SurfaceIndex(b.positions, b.faces, candidates=16).closest(points).distances)
    both = np.concatenate(distances)
    return float(both.max() / diagonal), float(both.mean() / diagonal)


def corner_angles(lowpoly: LowPoly) -> list[npt.NDArray[np.float64]]:
    """Each polygon's corner angles in degrees, one (F, k) array per corner count k. Quad i is
    triangles 2i and 2i + 1 (services/retopo/polygons.py), so it is joined again first."""
    triangles = lowpoly.triangles
    first, second = triangles[0 : 2 * lowpoly.quads : 2], triangles[1 : 2 * lowpoly.quads : 2]
    split_ac = second[:, 0] == first[:, 0]
    quads = np.column_stack(
        [first[:, 0], first[:, 1], np.where(split_ac, first[:, 2], second[:, 1]), second[:, 2]]
    )
    return [_angles(lowpoly.positions, quads), _angles(lowpoly.positions, triangles[2 * lowpoly.quads :])]


def _angles(positions: npt.NDArray[np.float64], polygons: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
    corner = positions[polygons]
    previous = np.roll(corner, 1, axis=1) - corner
    following = np.roll(corner, -1, axis=1) - corner
    cosine = (previous * following).sum(axis=2) / np.maximum(
        np.linalg.norm(previous, axis=2) * np.linalg.norm(following, axis=2), 1e-30
    )
    return np.asarray(np.degrees(np.arccos(np.clip(cosine, -1.0, 1.0))), np.float64)


def run_case(name: str, data: bytes, backend_name: str, target: int) -> dict[str, Any]:
    """One mesh on one backend, in this (fresh) process."""
    request = prepare_request(
        RETOPO,
        backend_name,
        job=job_pb2.JobInput(constraints=job_pb2.Constraints(poly_budget=target)),
        params={},
        seed=SEED,
        inputs={"mesh": InputFile("mesh", "model/gltf-binary", data, "")},
    )
    backend = RETOPO.backend(backend_name).create()
    backend.load()
    started = time.perf_counter()
    source = read_source(data, request.options_as(RetopoOptions).symmetry)
    prepare_s = time.perf_counter() - started
    started = time.perf_counter()
    if backend_name == "blender":
        lowpoly = blender.remesh(source, target, no_progress, seed=SEED)
    elif backend_name == "instant_meshes":
        lowpoly = instant_meshes.remesh(source, target, no_progress)
    else:
        lowpoly = decimate.remesh(source, target, no_progress)
    remesh_s = time.perf_counter() - started
    started = time.perf_counter()
    output = run_step(RETOPO, backend, request, no_progress)
    step_s = time.perf_counter() - started
    lod0 = read_glb(output.files[0].data).mesh
    distance, mean = hausdorff(read_glb(data).mesh, lod0)
    metrics = output.metrics
    smallest = np.concatenate([angles.min(axis=1) for angles in corner_angles(lowpoly) if len(angles)])
    result = {
        "mesh": name,
        "backend": backend_name,
        "source_triangles": int(metrics["input_faces"]),
        "symmetric": bool(metrics["symmetric"]),
        "target": target,
        "faces": int(metrics["faces"]),
        "triangles": int(metrics["triangles"]),
        "quad_share": round(metrics["quads"] / metrics["faces"], 3),
        "face_error": round((metrics["faces"] - target) / target, 4),
        "lod_faces": [int(metrics["lod1_faces"]), int(metrics["lod2_faces"])],
        "prepare_s": round(prepare_s, 3),
        "remesh_s": round(remesh_s, 3),
        "step_s": round(step_s, 3),
        "hausdorff": round(distance, 5),
        "mean_distance": round(mean, 6),
        "min_angle": round(float(smallest.min()), 2),
        "sliver_share": round(float((smallest < 5.0).mean()), 4),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    if backend_name == "blender":
        shared_blender().close()
        result["blender_peak_rss_mb"] = round(
            resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1
        )
    return result


def _case_process(connection: Connection, *args: Any) -> None:
    os.dup2(2, 1)  # Blender writes to fd 1 (also from its own child): keep stdout for the JSON
    connection.send(run_case(*args))
    connection.close()


def in_fresh_process(name: str, data: bytes, backend_name: str, target: int) -> dict[str, Any]:
    """`run_case` in a new (non-daemon: it may start Blender) process."""
    context = multiprocessing.get_context("spawn")
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=_case_process, args=(sender, name, data, backend_name, target))
    process.start()
    sender.close()
    result: dict[str, Any] = receiver.recv()
    process.join()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--target", type=int, default=5000)
    parser.add_argument("--triangles", type=int, default=150_000)
    parser.add_argument("--skip-blender", action="store_true")
    args = parser.parse_args()
    meshes = {name: inflated(prompt, args.triangles) for name, prompt in PROMPTS.items()}
    meshes["torus_knot"] = torus_knot(args.triangles)
    backends = ["decimate", "instant_meshes"]
    backends += [] if args.skip_blender or not bpy_available() else ["blender"]
    cases = []
    for name, data in meshes.items():
        for backend_name in backends:
            cases.append(in_fresh_process(name, data, backend_name, args.target))
            print(json.dumps(cases[-1]), file=sys.stderr)
    report = {
        "benchmark": "retopo",
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "system": platform.platform(),
        },
        "target_faces": args.target,
        "cases": cases,
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
