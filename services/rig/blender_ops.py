"""Rig work that runs inside the shared Blender child (see assetcore.blender).

`automatic_weights` builds the welded mesh and the fitted skeleton as an armature, parents
them with Blender's automatic (bone heat) weights and reads the vertex groups back. Bone heat
can fail silently (FINISHED, all-zero weights) on some meshes, for some or all vertices:
those vertices are weighted again with envelope weights, with envelopes sized to the mesh.
Only numpy arrays and lists cross the process boundary.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

ReportFn = Callable[[float, str], None]
Floats = npt.NDArray[np.float64]

ENVELOPE_REACH = 0.35  # envelope falloff distance, as a share of the mesh's largest extent


def automatic_weights(
    surface: dict[str, Any], bones: dict[str, Any], *, report: ReportFn
) -> tuple[Floats, int]:
    """Dense (V, J) weights, and how many vertices bone heat left unweighted (those got envelopes).

    `surface`: positions (V, 3), faces (F, 3). `bones`: names, parents, heads, tails (J, 3) and
    deforming (whether each joint takes weights).
    """
    import bpy

    positions = np.asarray(surface["positions"], dtype=np.float64)
    mesh_object = _mesh_object(positions, np.asarray(surface["faces"], dtype=np.int64))
    armature = _armature(bones)
    names = list(bones["names"])
    report(0.2, "bone heat weights")
    _parent(mesh_object, armature, "ARMATURE_AUTO")
    weights = _read_groups(mesh_object, names)
    heat_missing = np.flatnonzero(weights.sum(axis=1) <= 0)
    if len(heat_missing):
        report(0.6, f"envelope weights for {len(heat_missing)} vertices bone heat left unweighted")
        reach = ENVELOPE_REACH * float(np.ptp(positions, axis=0).max())
        for bone in armature.data.bones:
            bone.envelope_distance = reach
            bone.head_radius = bone.tail_radius = 0.25 * bone.length
        mesh_object.parent = None
        for modifier in list(mesh_object.modifiers):
            mesh_object.modifiers.remove(modifier)
        mesh_object.vertex_groups.clear()
        _parent(mesh_object, armature, "ARMATURE_ENVELOPE")
        weights[heat_missing] = _read_groups(mesh_object, names)[heat_missing]
    bpy.data.objects.remove(mesh_object)
    bpy.data.objects.remove(armature)
    return weights, len(heat_missing)


def _mesh_object(positions: Floats, faces: npt.NDArray[np.int64]) -> Any:
    import bpy

    mesh = bpy.data.meshes.new("mesh")
    mesh.from_pydata(positions.tolist(), [], faces.tolist())
    mesh.validate()
    mesh_object = bpy.data.objects.new("mesh", mesh)
    bpy.context.scene.collection.objects.link(mesh_object)
    return mesh_object


def _armature(bones: dict[str, Any]) -> Any:
    import bpy

    names, parents, deforming = bones["names"], bones["parents"], bones["deforming"]
    heads = np.asarray(bones["heads"], dtype=np.float64)
    tails = np.asarray(bones["tails"], dtype=np.float64)

    data = bpy.data.armatures.new("armature")
    armature = bpy.data.objects.new("armature", data)
    bpy.context.scene.collection.objects.link(armature)
    bpy.context.view_layer.objects.active = armature
    armature.select_set(True)
    bpy.ops.object.mode_set(mode="EDIT")
    edit_bones: list[Any] = []
    for index, name in enumerate(names):
        bone = data.edit_bones.new(name)
        bone.head = tuple(heads[index])
        tail = np.asarray(tails[index], dtype=np.float64)
        if np.linalg.norm(tail - heads[index]) < 1e-5:  # Blender drops zero-length bones
            tail = heads[index] + np.array([0.0, 1e-3, 0.0])
        bone.tail = tuple(tail)
        bone.use_deform = deforming[index]
        bone.use_connect = False
        if parents[index] >= 0:
            bone.parent = edit_bones[parents[index]]
        edit_bones.append(bone)
    bpy.ops.object.mode_set(mode="OBJECT")
    return armature


def _parent(mesh_object: Any, armature: Any, kind: str) -> None:
    import bpy

    for candidate in bpy.context.view_layer.objects:
        candidate.select_set(candidate in (mesh_object, armature))
    bpy.context.view_layer.objects.active = armature
    selected = [mesh_object, armature]
    with bpy.context.temp_override(
        object=armature, active_object=armature, selected_objects=selected, selected_editable_objects=selected
    ):
        bpy.ops.object.parent_set(type=kind)


def _read_groups(mesh_object: Any, names: list[str]) -> Floats:
    """Dense (V, J) weights from the mesh's vertex groups (groups named after the joints)."""
    joint_of_group = {
        group.index: names.index(group.name) for group in mesh_object.vertex_groups if group.name in names
    }
    weights = np.zeros((len(mesh_object.data.vertices), len(names)))
    for vertex in mesh_object.data.vertices:
        for element in vertex.groups:
            joint = joint_of_group.get(element.group)
            if joint is not None:
                weights[vertex.index, joint] = element.weight
    return weights
