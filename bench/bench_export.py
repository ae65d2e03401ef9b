"""Benchmark of the export step on its default backend: prints one JSON object.

The input is a 15k-face textured character skinned to a 25-joint humanoid skeleton with six
clips (the acceptance target: export in <= 0.5 s). Timed: the whole step (read the input GLB,
conform to the preset, write GLB + two LODs, manifest, preview) per engine, with and
without Draco, and FBX through Blender when bpy is installed (Blender's start excluded).

Usage: python bench/bench_export.py [--repeat N]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import resource
import statistics
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root: tests.support

from assetcore.blender import bpy_available, shared_blender
from assetcore.geometry.gltf import write_glb
from assetcore.geometry.model import Model
from assetcore.proto.v1 import job_pb2
from assetcore.worker.backend import InputFile, StepRequest
from services.export.step import STEP
from tests.support.synthetic_models import creature_model

CLIPS = ("idle", "walk", "run", "jump", "attack", "wave")
SEGMENTS = 35  # 6 sides x 35^2 quads x 2 = 14,700 triangles


def character_inputs() -> tuple[dict[str, InputFile], Model]:
    model = creature_model("humanoid", segments=SEGMENTS, clips=CLIPS)
    lod1 = creature_model("humanoid", segments=SEGMENTS // 2 + 1, clips=())
    lod2 = creature_model("humanoid", segments=SEGMENTS // 4 + 1, clips=())
    files = {
        name: InputFile(name, "model/gltf-binary", write_glb(m), "")
        for name, m in (("animated", model), ("lod1", lod1), ("lod2", lod2))
    }
    return files, model


def time_step(
    inputs: dict[str, InputFile], *, engine: str, draco: bool, fbx: bool, repeat: int
) -> dict[str, Any]:
    job = job_pb2.JobInput(
        prompt=job_pb2.Prompt(concept="a knight in red armor"),
        export=job_pb2.ExportOptions(engine=engine, draco=draco, formats=["glb", "fbx"] if fbx else ["glb"]),
    )
    request = StepRequest(step="export", job=job, params={}, seed=1, inputs=inputs)
    backend = STEP.backends[STEP.default_backend]()
    backend.load()
    STEP.run(backend, request, lambda *args, **kwargs: None)  # warm-up (and Blender's start)
    seconds = []
    for _ in range(repeat):
        start = time.perf_counter()
        output = STEP.run(backend, request, lambda *args, **kwargs: None)
        seconds.append(time.perf_counter() - start)
    sizes = {file.name: len(file.data) for file in output.files}
    return {
        "engine": engine or "generic",
        "draco": draco,
        "fbx": fbx,
        "median_s": round(statistics.median(seconds), 4),
        "max_s": round(max(seconds), 4),
        "bytes": sizes,
    }


@contextlib.contextmanager
def stdout_to_stderr() -> Iterator[None]:
    """Keep stdout for the JSON result: Blender's child process prints progress to it."""
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    inputs, model = character_inputs()
    runs = [
        time_step(inputs, engine=engine, draco=draco, fbx=False, repeat=args.repeat)
        for engine in ("", "unity", "unreal", "godot")
        for draco in (False, True)
    ]
    if bpy_available():
        with stdout_to_stderr():
            runs.append(time_step(inputs, engine="unreal", draco=False, fbx=True, repeat=args.repeat))
            shared_blender().close()
    print(
        json.dumps(
            {
                "benchmark": "export",
                "backend": STEP.default_backend,
                "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
                "input": {
                    "faces": model.mesh.face_count,
                    "vertices": model.mesh.vertex_count,
                    "joints": model.skeleton.joint_count if model.skeleton else 0,
                    "clips": len(model.clips),
                    "frames": sum(clip.frame_count for clip in model.clips),
                },
                "target_s": 0.5,
                "runs": runs,
                "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
