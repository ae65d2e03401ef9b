"""Export work that runs inside the shared Blender child (see assetcore.blender).

Each function gets our GLB (written by assetcore.geometry.gltf), imports it into the empty
scene with Blender's glTF importer and writes the file Blender's exporters make of it. Only
picklable data crosses the process boundary: bytes in, bytes out, settings as a dict.

Blender's FBX exporter stamps the current time into the file, derives object ids from
Python's per-process randomized `hash` and records the absolute path of the embedded texture;
`_reproducible_fbx` pins the first two for the duration of an export and `_work_folder` names
the scratch folder after its content, so that the same GLB gives the same FBX bytes (on
machines that share a temp directory path).

glTF holds triangles only; `_join_quads` makes the quads our GLB records (Mesh.quad_count:
triangles 2i and 2i + 1 are quad i) polygons again before the FBX is written.

Materials are what Blender's glTF importer builds: base colour, a Normal Map node, and the
metallic-roughness image through a Separate Color node (B -> Metallic, G -> Roughness, non-colour
data). Blender's FBX exporter writes only textures linked straight into a BSDF input, so
`_single_channel_maps` gives Metallic and Roughness their own greyscale copies of the map's
channels before the FBX is written (FBX ReflectionFactor and ShininessExponent, which Blender's
FBX importer reads back as those inputs). Every image is embedded under its own name, which the
GLB gives it (the preset's texture names, per map).
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from assetcore.geometry.gltf import unpack_glb
from assetcore.geometry.gltf_constants import EXTRA_QUADS

ReportFn = Callable[[float, str], None]
FIXED_TIME = datetime.datetime(2000, 1, 1)
WELD_DISTANCE = 1e-6  # metres: a quad's corners that glTF split at a UV seam are one vertex again


def glb_to_fbx(glb: bytes, settings: dict[str, Any], *, report: ReportFn) -> bytes:
    """FBX of the GLB, clips as one take each (named after the clip), textures embedded."""
    import bpy

    with _work_folder(glb, settings) as folder:
        _import_glb(glb, folder, settings)
        _join_quads(_quad_count(glb))
        _single_channel_maps(settings)
        report(0.5, "writing FBX")
        armatures = [ob for ob in bpy.data.objects if ob.type == "ARMATURE"]
        animated = any(ob.animation_data and ob.animation_data.nla_tracks for ob in armatures)
        for armature in armatures:
            if armature.animation_data:
                armature.animation_data.action = None  # one take per NLA strip (the importer's, muted)
                for track in armature.animation_data.nla_tracks:
                    track.mute = False
        target = folder / "asset.fbx"
        with _reproducible_fbx():
            bpy.ops.export_scene.fbx(
                filepath=str(target),
                object_types={"ARMATURE", "MESH"},
                use_mesh_modifiers=False,
                mesh_smooth_type="FACE",
                add_leaf_bones=settings["add_leaf_bones"],
                primary_bone_axis="Y",
                secondary_bone_axis="X",
                armature_nodetype="NULL",
                bake_anim=animated,
                bake_anim_use_all_bones=True,
                bake_anim_use_nla_strips=True,
                bake_anim_use_all_actions=False,
                bake_anim_force_startend_keying=True,
                bake_anim_simplify_factor=0.0,
                path_mode="COPY",
                embed_textures=True,
                axis_forward=settings["axis_forward"],
                axis_up=settings["axis_up"],
                apply_unit_scale=True,
                apply_scale_options=settings["apply_scale_options"],
                global_scale=1.0,
            )
        return target.read_bytes()


def glb_via_blender(glb: bytes, settings: dict[str, Any], *, report: ReportFn) -> bytes:
    """The GLB as Blender's glTF exporter writes it (one animation per clip, optional Draco)."""
    import bpy

    with _work_folder(glb, settings) as folder:
        _import_glb(glb, folder, settings)
        report(0.5, "writing GLB")
        target = folder / "asset.glb"
        bpy.ops.export_scene.gltf(
            filepath=str(target),
            export_format="GLB",
            export_yup=True,
            export_apply=False,
            export_texcoords=True,
            export_normals=True,
            export_vertex_color="ACTIVE",
            export_materials="EXPORT",
            export_image_format="AUTO",
            export_skins=True,
            export_animations=True,
            export_animation_mode="ACTIONS",
            export_force_sampling=True,
            export_frame_step=1,
            export_anim_slide_to_zero=True,
            export_extras=False,
            export_armature_object_remove=True,
            export_cameras=False,
            export_lights=False,
            export_draco_mesh_compression_enable=settings["draco"],
        )
        return target.read_bytes()


def _import_glb(glb: bytes, folder: Path, settings: dict[str, Any]) -> None:
    """Our GLB into the scene at the clips' frame rate; the armature renamed per preset."""
    import bpy

    source = folder / "source.glb"
    source.write_bytes(glb)
    fps = float(settings["fps"])
    scene = bpy.context.scene
    scene.render.fps = max(1, round(fps))
    scene.render.fps_base = scene.render.fps / fps
    bpy.ops.import_scene.gltf(filepath=str(source), bone_heuristic="TEMPERANCE", disable_bone_shape=True)
    for ob in bpy.data.objects:
        if ob.type == "ARMATURE":
            ob.name = ob.data.name = settings["armature_name"]
    for image in bpy.data.images:  # named by the GLB (services.export.exporter.engine_glb)
        image.filepath_raw = f"//{image.name}.png"  # the file name FBX embeds it under


def _single_channel_maps(settings: dict[str, Any]) -> None:
    """Link greyscale copies of the metallic-roughness image's B and G channels straight into
    Metallic and Roughness (see the module docstring), in place of the Separate Color node."""
    import bpy

    channels = (("Metallic", 2, "metallic_texture_name"), ("Roughness", 1, "roughness_texture_name"))
    for material in bpy.data.materials:
        tree = material.node_tree
        bsdfs = [] if tree is None else [n for n in tree.nodes if n.bl_idname == "ShaderNodeBsdfPrincipled"]
        for bsdf in bsdfs:
            for socket_name, channel, name_key in channels:
                source = _separated_image(bsdf.inputs[socket_name])
                if source is None:
                    continue
                node = tree.nodes.new("ShaderNodeTexImage")
                node.image = _channel_image(source.image, channel, settings[name_key])
                node.location = (source.location.x, source.location.y - 300.0 * (channel + 1))
                if source.inputs["Vector"].is_linked:  # the same UV map as the source
                    tree.links.new(source.inputs["Vector"].links[0].from_socket, node.inputs["Vector"])
                tree.links.new(node.outputs["Color"], bsdf.inputs[socket_name])


def _separated_image(socket: Any) -> Any:
    """The image node feeding `socket` through a Separate Color node, or None."""
    if not socket.is_linked:
        return None
    separate = socket.links[0].from_node
    if separate.bl_idname != "ShaderNodeSeparateColor" or not separate.inputs[0].is_linked:
        return None
    source = separate.inputs[0].links[0].from_node
    return source if source.bl_idname == "ShaderNodeTexImage" and source.image is not None else None


def _channel_image(image: Any, channel: int, name: str) -> Any:
    """A packed greyscale non-colour copy of one channel of `image`."""
    import bpy

    width, height = image.size
    pixels = np.empty(width * height * 4, np.float32)
    image.pixels.foreach_get(pixels)
    grey = pixels.reshape(-1, 4)[:, channel]
    copy = bpy.data.images.new(name, width, height, alpha=False, is_data=True)
    copy.colorspace_settings.is_data = True
    copy.pixels.foreach_set(np.column_stack([grey, grey, grey, np.ones_like(grey)]).reshape(-1))
    copy.filepath_raw = f"//{copy.name}.png"
    copy.file_format = "PNG"
    copy.pack()
    return copy


def _quad_count(glb: bytes) -> int:
    """The quads our GLB (written by assetcore.geometry.gltf, one primitive) records."""
    document, _ = unpack_glb(glb)
    meshes: list[dict[str, Any]] = document.get("meshes", [])  # type: ignore[assignment]
    return int(meshes[0]["primitives"][0].get("extras", {}).get(EXTRA_QUADS, 0)) if meshes else 0


def _join_quads(quads: int) -> None:
    """Join the imported mesh's triangles 2i and 2i + 1 (i < quads) into one quad each.

    Blender's glTF importer keeps the triangle order. A pair's triangles lie in different
    UV charts when a seam runs along the diagonal; glTF split their shared corners, so those
    are welded first (Blender keeps UVs per corner). Pairs are tracked through the weld with a
    face layer, since welding may rebuild faces; a pair without a shared edge stays two triangles.
    """
    import bmesh
    import bpy

    meshes = [ob.data for ob in bpy.data.objects if ob.type == "MESH"]
    if quads == 0 or len(meshes) != 1 or len(meshes[0].polygons) < 2 * quads:
        return
    bm = bmesh.new()
    bm.from_mesh(meshes[0])
    bm.faces.ensure_lookup_table()
    pair_layer = bm.faces.layers.int.new("assetcore_quad")
    for index, face in enumerate(bm.faces):
        face[pair_layer] = index // 2 if index < 2 * quads else -1
    split = {
        vertex
        for index in range(quads)
        if not _shared_edges(bm.faces[2 * index], bm.faces[2 * index + 1])
        for face in (bm.faces[2 * index], bm.faces[2 * index + 1])
        for vertex in face.verts
    }
    if split:
        bmesh.ops.remove_doubles(bm, verts=sorted(split, key=lambda v: v.index), dist=WELD_DISTANCE)
    pairs: dict[int, list[Any]] = {}
    for face in bm.faces:
        if face[pair_layer] >= 0:
            pairs.setdefault(face[pair_layer], []).append(face)
    diagonals = [
        edges[0] for pair in pairs.values() if len(pair) == 2 and len(edges := _shared_edges(*pair)) == 1
    ]
    bmesh.ops.dissolve_edges(bm, edges=diagonals, use_verts=False, use_face_split=False)
    bm.faces.layers.int.remove(pair_layer)
    bm.to_mesh(meshes[0])
    bm.free()
    meshes[0].update()


def _shared_edges(first: Any, second: Any) -> list[Any]:
    return [edge for edge in first.edges if edge in set(second.edges)]


@contextlib.contextmanager
def _work_folder(glb: bytes, settings: dict[str, Any]) -> Iterator[Path]:
    """A scratch folder named after the work, not at random: FBX records absolute texture paths."""
    digest = hashlib.sha256(glb + repr(sorted(settings.items())).encode()).hexdigest()[:16]
    folder = Path(tempfile.gettempdir()) / f"assetcore-export-{digest}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def _reproducible_fbx() -> Iterator[None]:
    """Pin the FBX exporter's timestamp and object ids (both otherwise vary run to run)."""
    from io_scene_fbx import export_fbx_bin, fbx_utils  # type: ignore[import-not-found]  # Blender add-on

    write_header = export_fbx_bin.fbx_header_elements

    def header_at_fixed_time(root: Any, scene_data: Any, time: Any = None) -> Any:
        return write_header(root, scene_data, time=FIXED_TIME)

    fbx_utils._keys_to_uuids.clear()
    fbx_utils._uuids_to_keys.clear()
    export_fbx_bin.fbx_header_elements = header_at_fixed_time
    fbx_utils.hash = _stable_hash  # shadows the builtin inside fbx_utils only
    try:
        yield
    finally:
        export_fbx_bin.fbx_header_elements = write_header
        del fbx_utils.hash


def _stable_hash(key: object) -> int:
    return int.from_bytes(hashlib.sha256(repr(key).encode()).digest()[:8], "little", signed=True)
