"""Engine presets: what each engine's importer expects from our files.

GLB is the same for every engine in axes and units: glTF mandates metres, +Y up and a
subject facing +Z, and every engine's glTF importer converts from that itself (Unreal's
Interchange importer scales metres to its centimetres, Godot and Unity's glTFast keep
metres). So for GLB a preset only changes names and which leaf joints are kept.

FBX declares its own axis system and unit; Blender's exporter writes them from these options:

| preset  | FBX axes (forward, up) | FBX units                           | leaf bones | end joints |
|---------|------------------------|-------------------------------------|------------|------------|
| generic | -Z, Y                  | metres (unit scale in the file)     | added      | kept       |
| unity   | -Z, Y                  | metres ("FBX All": Unity's "Convert | none       | kept       |
|         |                        | Units" imports at scale 1, not 100) |            |            |
| unreal  | -Z, Y (UE converts)    | centimetres in the vertex data      | none       | stripped   |
| godot   | -Z, Y                  | metres                              | none       | kept       |

- Leaf bones: Blender's FBX exporter can append an "_end" bone to every chain so that
  DCC tools get the bone lengths back; engines do not need them (Unreal lists them as real
  bones), so only the generic preset adds them.
- End joints: the rig's Mixamo-style *_End leaves (HeadTop_End, LeftToe_End) carry no
  weights. Unity's Humanoid mapper and Godot's bone map ignore them; Unreal's skeleton keeps
  every bone, so they are stripped there.
- Naming: Unreal follows Epic's asset naming conventions (SK_ skeletal mesh, SM_ static
  mesh, A_ animation sequence, M_ material, T_..._D base-colour texture); the FBX armature
  object is called "Armature", which Unreal's FBX importer drops instead of adding an extra
  root bone. Unity takes PascalCase names and maps Mixamo joint names to its Humanoid avatar
  as they are. Godot takes snake_case names, imports animations whose name ends in "_loop"
  as looping, and humanoid joints are renamed to its SkeletonProfileHumanoid names so that
  retargeting needs no bone map. The generic preset keeps the pipeline's own names in
  snake_case.
- Bone maps: for a humanoid, the manifest maps the joints to Unity's Humanoid avatar (unity),
  Godot's SkeletonProfileHumanoid (godot) or both (generic), checked against the profile's
  hierarchy (services.export.bone_maps); Unreal retargets through its own IK Rig assets.
- The "mixamorig:" option (export.bone_prefix) names humanoid joints exactly as a Mixamo download
  does (mixamorig:Hips, mixamorig:LeftUpLeg), for every engine: Godot then keeps Mixamo's names
  and its manifest's bone map does the retargeting.
- Rest pose (export.rest_pose; assetcore.geometry.rest_pose): Unity's Humanoid avatar wants a
  T-pose (its Configure step reports "Character not in T-Pose" and "Enforce T-Pose" rewrites the
  avatar's pose otherwise) and Godot's SkeletonProfileHumanoid reference pose is a T-pose, so both
  export humanoids in a T-pose; Unreal 5's Manny/Quinn stand in an A-pose, so Unreal and the
  generic preset keep the rig's A-pose. Quadrupeds keep their rest.
- Oriented joints (export.oriented_joints): Godot's retargeting ("Overwrite Axis") expects each
  bone's +Y along the bone, as its profile's bones are, so Godot gets oriented joints; Unity's
  Humanoid computes its own muscle frames and Unreal and FBX (Blender orients FBX bones itself)
  take the identity rests as they are.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from services.export.bone_maps import GODOT_HUMANOID, UNITY_HUMANOID

Case = Literal["snake", "pascal"]

# Mixamo-style joint names (the rig step's, fingers included) -> Godot SkeletonProfileHumanoid names
GODOT_HUMANOID_JOINTS = {
    mixamo: bone for mixamo, bone in GODOT_HUMANOID.joint_bones.items() if mixamo != bone
}


@dataclass(frozen=True)
class FbxOptions:
    """Blender FBX exporter settings of a preset (see bpy.ops.export_scene.fbx)."""

    axis_forward: str = "-Z"
    axis_up: str = "Y"
    apply_scale_options: str = "FBX_SCALE_ALL"  # metres; FBX_SCALE_NONE bakes centimetres
    add_leaf_bones: bool = False
    units: str = "m"


# Texture suffixes beside the base colour's (EnginePreset.texture_suffix), per map: metallic and
# roughness are the FBX's single-channel copies of the metallic-roughness map (see blender_ops).
# The metallic-roughness map keeps R at 1 (no occlusion), so it is a valid ORM texture too.
SNAKE_MAPS = {
    "normal": "_normal",
    "metallic_roughness": "_metallic_roughness",
    "metallic": "_metallic",
    "roughness": "_roughness",
}
PASCAL_MAPS = {
    "normal": "_Normal",
    "metallic_roughness": "_MetallicRoughness",
    "metallic": "_Metallic",
    "roughness": "_Roughness",
}
UNREAL_MAPS = {"normal": "_N", "metallic_roughness": "_ORM", "metallic": "_M", "roughness": "_R"}


@dataclass(frozen=True)
class EnginePreset:
    engine: str  # "" (generic), "unity", "unreal", "godot"
    case: Case
    skinned_prefix: str = ""
    static_prefix: str = ""
    clip_prefix: str = ""  # followed by the asset name (Unreal: A_Knight_Walk)
    material_prefix: str = ""
    material_suffix: str = ""
    texture_prefix: str = ""
    texture_suffix: str = "_base_color"
    map_suffixes: dict[str, str] = field(default_factory=lambda: dict(SNAKE_MAPS))  # the other maps'
    loop_suffix: str = ""
    strip_end_joints: bool = False
    humanoid_joint_names: dict[str, str] = field(default_factory=dict)
    bone_prefix: str = ""  # put before every humanoid joint name ("mixamorig:")
    bone_profiles: tuple[str, ...] = ()  # services.export.bone_maps.PROFILES keys the manifest maps to
    t_pose: bool = False  # humanoids rest in a T-pose (else the rig's A-pose)
    oriented_joints: bool = False  # joints' rest rotations put +Y along each bone
    armature_name: str = "Armature"
    fbx: FbxOptions = FbxOptions()

    @property
    def label(self) -> str:
        return self.engine or "generic"

    def asset_name(self, base: str, *, skinned: bool) -> str:
        prefix = self.skinned_prefix if skinned else self.static_prefix
        return prefix + cased(base, self.case)

    def clip_name(self, asset_base: str, clip: str, *, loop: bool) -> str:
        name = cased(clip, self.case) or "clip"
        if self.clip_prefix:
            name = f"{self.clip_prefix}{cased(asset_base, self.case)}_{name}"
        if loop and self.loop_suffix and not name.lower().endswith(self.loop_suffix.lower()):
            name += self.loop_suffix
        return name

    def material_name(self, asset_base: str) -> str:
        return f"{self.material_prefix}{cased(asset_base, self.case)}{self.material_suffix}"

    def texture_name(self, asset_base: str, role: str = "base_color") -> str:
        """The texture of one map (base_color or a map_suffixes key)."""
        suffix = self.texture_suffix if role == "base_color" else self.map_suffixes[role]
        return f"{self.texture_prefix}{cased(asset_base, self.case)}{suffix}"

    def joint_name(self, name: str, *, humanoid: bool) -> str:
        if not humanoid:
            return name
        return self.bone_prefix + self.humanoid_joint_names.get(name, name)


PRESETS: dict[str, EnginePreset] = {
    "": EnginePreset(
        engine="",
        case="snake",
        material_suffix="_material",
        bone_profiles=(UNITY_HUMANOID.key, GODOT_HUMANOID.key),
        fbx=FbxOptions(add_leaf_bones=True),
    ),
    "unity": EnginePreset(
        engine="unity",
        case="pascal",
        material_suffix="_Material",
        texture_suffix="_BaseColor",
        map_suffixes=PASCAL_MAPS,
        bone_profiles=(UNITY_HUMANOID.key,),
        t_pose=True,
    ),
    "unreal": EnginePreset(
        engine="unreal",
        case="pascal",
        skinned_prefix="SK_",
        static_prefix="SM_",
        clip_prefix="A_",
        material_prefix="M_",
        texture_prefix="T_",
        texture_suffix="_D",
        map_suffixes=UNREAL_MAPS,
        strip_end_joints=True,
        fbx=FbxOptions(apply_scale_options="FBX_SCALE_NONE", units="cm"),
    ),
    "godot": EnginePreset(
        engine="godot",
        case="snake",
        material_suffix="_material",
        loop_suffix="_loop",
        humanoid_joint_names=GODOT_HUMANOID_JOINTS,
        bone_profiles=(GODOT_HUMANOID.key,),
        t_pose=True,
        oriented_joints=True,
    ),
}

_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")


def words(text: str) -> list[str]:
    """The words of a name in any case style: 'RunFast', 'run_fast', 'run fast' -> run, fast."""
    return [word.lower() for word in _WORD.findall(text)]


def cased(text: str, case: Case) -> str:
    parts = words(text)
    if case == "snake":
        return "_".join(parts)
    return "".join(part.capitalize() for part in parts)
