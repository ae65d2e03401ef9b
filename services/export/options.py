"""The export plan: the job's export options and the step's params, validated.

Step params (JobInput.step_options["export"]), all optional:
- "end_joints": "keep" | "strip" — override the preset's handling of *_End leaf joints;
- "fbx_leaf_bones": bool — override whether Blender appends leaf bones to FBX chains.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from assetcore.worker.backend import ErrorCode, StepError, StepRequest
from assetcore.worker.params import StepParams
from services.export.presets import PRESETS, EnginePreset, words

FORMATS = ("glb", "fbx")
END_JOINTS = ("keep", "strip")
PARAMS = ("end_joints", "fbx_leaf_bones")
NAME_WORDS = 4  # words of the prompt that name an asset without a job name
FALLBACK_NAME = "asset"
_ARTICLES = frozenset({"a", "an", "the", "some"})


@dataclass(frozen=True)
class ExportPlan:
    preset: EnginePreset
    base_name: str  # the asset's name before the preset styles it ("wooden chest")
    fbx: bool
    draco: bool

    @property
    def engine(self) -> str:
        return self.preset.label


def export_plan(request: StepRequest) -> ExportPlan:
    """Validate export options and params; StepError(INVALID_PARAMS) names the bad field."""
    options = request.job.export
    formats = [fmt.strip().lower() for fmt in options.formats] or ["glb"]
    unknown = sorted(set(formats) - set(FORMATS))
    if unknown:
        raise _invalid(f"export.formats: unknown format(s) {unknown}; expected some of {list(FORMATS)}")
    engine = options.engine.strip().lower()
    if engine not in PRESETS:
        raise _invalid(f"export.engine: unknown engine {options.engine!r}; expected one of {sorted(PRESETS)}")
    preset = _with_overrides(PRESETS[engine], request.params)
    return ExportPlan(
        preset=preset, base_name=asset_base_name(request), fbx="fbx" in formats, draco=options.draco
    )


def _with_overrides(preset: EnginePreset, params: Mapping[str, Any]) -> EnginePreset:
    options = StepParams("export", params, PARAMS)
    if "end_joints" in options:
        preset = replace(preset, strip_end_joints=options.choice("end_joints", "keep", END_JOINTS) == "strip")
    if "fbx_leaf_bones" in options:
        preset = replace(
            preset, fbx=replace(preset.fbx, add_leaf_bones=options.flag("fbx_leaf_bones", False))
        )
    return preset


def asset_base_name(request: StepRequest) -> str:
    """The job's name, else the first few words of the prompt's concept (articles dropped)."""
    job = request.job
    named = words(job.name)
    if named:
        return " ".join(named)
    concept = [word for word in words(job.prompt.concept) if word not in _ARTICLES]
    return " ".join(concept[:NAME_WORDS]) or FALLBACK_NAME


def _invalid(message: str) -> StepError:
    return StepError(ErrorCode.INVALID_PARAMS, message)
