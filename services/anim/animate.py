"""The anim step's work: rigged GLB -> procedural clips (+ a retargeted BVH clip) -> animated GLB.

A mesh without a skeleton (a static rig) passes through unchanged.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from assetcore.geometry.gltf import read_glb, write_glb
from assetcore.geometry.model import Clip, Model
from assetcore.geometry.preview import render_mesh_preview, render_model_preview
from assetcore.geometry.skeleton import skeleton_kind
from assetcore.worker.backend import ErrorCode, OutputFile, Progress, StepError, StepOutput, StepRequest
from services.anim.body import measure_body
from services.anim.bvh import parse_bvh
from services.anim.clips import build_clips, select_clips
from services.anim.options import AnimPlan, anim_plan
from services.anim.retarget import retarget
from services.anim.skinning import posed_model

GLB_MEDIA_TYPE = "model/gltf-binary"
PREVIEW_CLIPS = ("walk", "attack", "idle")  # the first present gives the preview pose
PREVIEW_AT = 0.3  # share of the clip's length


def animate(request: StepRequest, progress: Progress) -> StepOutput:
    options = anim_plan(request)
    data = request.inputs["rigged"].data
    model = read_glb(data)
    if model.skeleton is None or model.skin is None:
        return StepOutput(
            files=[OutputFile("animated", GLB_MEDIA_TYPE, data)],
            preview_png=render_mesh_preview(model.mesh),
            notes=["anim: the mesh has no skeleton (a static rig); it passes through without clips"],
            metrics={"clips": 0.0},
        )
    notes: list[str] = []
    clips = _procedural(model, options, notes)
    progress(0.6, f"{len(clips)} clips generated")
    if options.bvh:
        clips.append(_from_bvh(model, options, notes))
        progress(0.8, f"BVH retargeted as {options.bvh_name!r}")
    animated = replace(model, clips=clips)
    return StepOutput(
        files=[OutputFile("animated", GLB_MEDIA_TYPE, write_glb(animated))],
        preview_png=_preview(animated),
        notes=notes,
        metrics={
            "clips": float(len(clips)),
            "frames": float(sum(clip.frame_count for clip in clips)),
            "seconds": float(sum(clip.duration for clip in clips)),
            "joints": float(model.skeleton.joint_count),
        },
    )


def _procedural(model: Model, options: AnimPlan, notes: list[str]) -> list[Clip]:
    assert model.skeleton is not None
    kind = skeleton_kind(model.skeleton)
    if kind is None:
        if options.bvh and not options.clips:
            notes.append("anim: the skeleton follows neither joint convention; only the BVH clip is made")
            return []
        raise StepError(
            ErrorCode.INVALID_INPUT,
            "rigged: the skeleton follows neither the humanoid nor the quadruped joint names; "
            "no clips can be made",
        )
    names = select_clips(kind, options.clips)
    return build_clips(measure_body(model, kind), names, float(options.fps), options.in_place)


def _from_bvh(model: Model, options: AnimPlan, notes: list[str]) -> Clip:
    assert model.skeleton is not None
    if skeleton_kind(model.skeleton) == "quadruped":
        raise StepError(ErrorCode.INVALID_PARAMS, "animation.bvh: BVH retargeting needs a humanoid skeleton")
    motion = parse_bvh(options.bvh)
    return retarget(
        motion,
        model.skeleton,
        fps=float(options.fps),
        in_place=options.in_place,
        name=options.bvh_name,
        notes=notes,
    )


def _preview(model: Model) -> bytes:
    clip = next((c for name in PREVIEW_CLIPS for c in model.clips if c.name == name), None)
    if clip is None and model.clips:
        clip = model.clips[0]
    if clip is None:
        return render_model_preview(model)
    frame = int(np.floor(PREVIEW_AT * (clip.frame_count - 1)))
    return render_model_preview(posed_model(model, clip, frame))
