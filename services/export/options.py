"""The export plan: the job's export options (formats, engine, Draco, KTX2) and the step's own.

Step options (JobInput.step_options["export"]), all optional:
- "end_joints": "keep" | "strip" — override the preset's handling of *_End leaf joints;
- "fbx_leaf_bones": bool — override whether Blender appends leaf bones to FBX chains;
- "bone_prefix": "" | "mixamorig:" — name humanoid joints as Mixamo does (mixamorig:LeftUpLeg), in
  GLB and FBX alike, for every engine (Godot's profile renaming gives way to it);
- "rest_pose": "a_pose" | "t_pose" — override the preset's humanoid rest pose (a_pose: the rig's,
  as the concept stands; t_pose: arms straight out; assetcore.geometry.rest_pose);
- "oriented_joints": bool — override whether joints get rest rotations with +Y along each bone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal, Self

from pydantic import Field

from assetcore.proto.v1 import job_pb2
from assetcore.steps.options import Flag, OptionError, StepOptions
from assetcore.worker.backend import StepRequest
from services.export.presets import PRESETS, EnginePreset, words

FORMATS = ("glb", "fbx")
NAME_WORDS = 4  # words of the prompt that name an asset without a job name
FALLBACK_NAME = "asset"
_ARTICLES = frozenset({"a", "an", "the", "some"})


class ExportOptions(StepOptions):
    end_joints: Literal["keep", "strip"] | None = Field(
        None, description="Override the engine preset's handling of *_End leaf joints."
    )
    fbx_leaf_bones: Flag | None = Field(None, description="Override whether FBX chains get leaf bones.")
    bone_prefix: Literal["", "mixamorig:"] = Field(
        "",
        description="Name humanoid joints as Mixamo does ('mixamorig:' + Hips, LeftUpLeg, ...); "
        "the manifest's bone maps follow the names.",
    )
    rest_pose: Literal["a_pose", "t_pose"] | None = Field(
        None,
        description="Override the engine preset's humanoid rest pose: 'a_pose' (the rig's, as the concept "
        "stands) or 't_pose' (arms straight out along the sides); clips look the same in either.",
    )
    oriented_joints: Flag | None = Field(
        None,
        description="Override whether joints get rest rotations with +Y along each bone (+Z to the "
        "front); clips look the same either way.",
    )

    @classmethod
    def resolve(cls, job: job_pb2.JobInput, params: Mapping[str, Any]) -> Self:
        for i, fmt in enumerate(job.export.formats):
            if fmt.strip().lower() not in FORMATS:
                raise OptionError(
                    f"input.export.formats[{i}]",
                    f"unknown export format {fmt!r} (known: {', '.join(FORMATS)})",
                )
        if job.export.engine.strip().lower() not in PRESETS:
            known = ", ".join(name for name in PRESETS if name)
            raise OptionError("input.export.engine", f"unknown engine {job.export.engine!r} (known: {known})")
        return super().resolve(job, params)


def requested_formats(job: job_pb2.JobInput) -> list[str]:
    return list(dict.fromkeys(fmt.strip().lower() for fmt in job.export.formats)) or ["glb"]


def fill_defaults(job: job_pb2.JobInput) -> None:
    """The resolved job lists its formats (GLB when none) once each, and its engine in lowercase."""
    formats = requested_formats(job)
    del job.export.formats[:]
    job.export.formats.extend(formats)
    job.export.engine = job.export.engine.strip().lower()


class BlenderGlbOptions(StepOptions):
    """The blender backend's own check: Blender's glTF exporter writes no KHR_texture_basisu."""

    @classmethod
    def resolve(cls, job: job_pb2.JobInput, params: Mapping[str, Any]) -> Self:
        if job.export.ktx2:
            raise OptionError(
                "input.export.ktx2",
                "the blender export backend cannot write KTX2 textures; use the gltf backend",
            )
        return super().resolve(job, params)


def needs(job: job_pb2.JobInput, options: StepOptions) -> dict[str, str]:
    """FBX needs an exporter that can write it (Blender); KTX2 one that encodes Basis Universal."""
    wanted = {"ktx2": "input.export.ktx2"} if job.export.ktx2 else {}
    for i, fmt in enumerate(job.export.formats):
        if fmt.strip().lower() == "fbx":
            return {"fbx": f"input.export.formats[{i}]", **wanted}
    return wanted


@dataclass(frozen=True)
class ExportPlan:
    preset: EnginePreset
    base_name: str  # the asset's name before the preset styles it ("wooden chest")
    fbx: bool
    draco: bool
    ktx2: bool  # GLB textures get KTX2 copies (services.export.ktx2); FBX keeps PNG

    @property
    def engine(self) -> str:
        return self.preset.label


def export_plan(request: StepRequest) -> ExportPlan:
    options = request.options_as(ExportOptions)
    preset = PRESETS[request.job.export.engine.strip().lower()]
    if options.end_joints is not None:
        preset = replace(preset, strip_end_joints=options.end_joints == "strip")
    if options.fbx_leaf_bones is not None:
        preset = replace(preset, fbx=replace(preset.fbx, add_leaf_bones=options.fbx_leaf_bones))
    if options.bone_prefix:
        preset = replace(preset, bone_prefix=options.bone_prefix, humanoid_joint_names={})
    if options.rest_pose is not None:
        preset = replace(preset, t_pose=options.rest_pose == "t_pose")
    if options.oriented_joints is not None:
        preset = replace(preset, oriented_joints=options.oriented_joints)
    return ExportPlan(
        preset=preset,
        base_name=asset_base_name(request),
        fbx="fbx" in requested_formats(request.job),
        draco=request.job.export.draco,
        ktx2=request.job.export.ktx2,
    )


def asset_base_name(request: StepRequest) -> str:
    """The job's name, else the first few words of the prompt's concept (articles dropped)."""
    job = request.job
    named = words(job.name)
    if named:
        return " ".join(named)
    concept = [word for word in words(job.prompt.concept) if word not in _ARTICLES]
    return " ".join(concept[:NAME_WORDS]) or FALLBACK_NAME
