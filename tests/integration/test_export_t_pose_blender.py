"""Blender reads the T-pose exports right: FBX and GLB armatures rest with horizontal upper arms
and play the clip with the hands where the A-pose export puts them."""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from assetcore.blender import bpy_available, shared_blender
from assetcore.geometry.gltf import write_glb
from assetcore.proto.v1 import job_pb2
from assetcore.worker.backend import InputFile
from services.export.step import STEP
from tests.support.a_pose_models import a_pose_model
from tests.support.steps import run_step_function, step_request

pytestmark = [
    pytest.mark.blender,
    pytest.mark.skipif(not bpy_available(), reason="bpy (Blender as a module) is not installed"),
]
FRAMES = (3, 9)  # clip frames compared (Blender numbers them from 0 here: the importers start there)
HAND_TOLERANCE = 1e-3  # metres: joints are posed exactly; FBX stores float32 curves baked per frame


def armature_facts(data: bytes, kind: str, *, report: Callable[[float, str], None]) -> dict[str, Any]:
    """Run in the Blender child: import the file; the left upper arm's rest head and tail and the
    left hand's world position on FRAMES of the first action (metres, Blender's Z up)."""
    import bpy

    bpy.ops.wm.read_factory_settings(use_empty=True)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"asset.{kind}"
        path.write_bytes(data)
        if kind == "fbx":
            bpy.ops.import_scene.fbx(filepath=str(path))
        else:
            bpy.ops.import_scene.gltf(filepath=str(path))
    (armature,) = [ob for ob in bpy.data.objects if ob.type == "ARMATURE"]
    arm = armature.data.bones["LeftArm"]
    action = bpy.data.actions[0]
    armature.animation_data.action = action
    if action.slots:
        armature.animation_data.action_slot = action.slots[0]
    start = int(action.frame_range[0])
    hands = []
    for frame in FRAMES:
        bpy.context.scene.frame_set(start + frame)
        hands.append(list(armature.matrix_world @ armature.pose.bones["LeftHand"].head))
    return {
        "arm": [list(armature.matrix_world @ arm.head_local), list(armature.matrix_world @ arm.tail_local)],
        "hands": hands,
    }


def _export(**params: Any) -> dict[str, bytes]:
    job = job_pb2.JobInput(
        prompt=job_pb2.Prompt(concept="a knight"), export=job_pb2.ExportOptions(formats=["glb", "fbx"])
    )
    data = write_glb(a_pose_model(clips=("walk",)))
    glb = InputFile("animated", "model/gltf-binary", data, hashlib.sha256(data).hexdigest())
    backend = STEP.backends["gltf"].create()
    output = run_step_function(backend, step_request("export", job, params, 1, {"animated": glb}))
    return {file.name: file.data for file in output.files}


@pytest.mark.parametrize("kind", ["fbx", "glb"])
def test_t_pose_exports_rest_with_level_arms_and_play_like_the_a_pose(kind: str) -> None:
    a_pose = shared_blender().call(armature_facts, _export(rest_pose="a_pose")[kind], kind)
    t_pose = shared_blender().call(
        armature_facts, _export(rest_pose="t_pose", oriented_joints=True)[kind], kind
    )
    head, tail = (np.array(point) for point in t_pose["arm"])
    assert tail[0] - head[0] > 0.15  # the subject's left stays +X
    assert abs(tail[2] - head[2]) < 1e-3 and abs(tail[1] - head[1]) < 1e-3  # level, straight out
    np.testing.assert_allclose(t_pose["hands"], a_pose["hands"], atol=HAND_TOLERANCE)
    assert not np.allclose(a_pose["hands"][0], a_pose["hands"][1], atol=0.01)  # the frames differ
