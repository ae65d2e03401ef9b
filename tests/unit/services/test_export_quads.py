"""Quads from the quad retopo backends survive to the FBX: Mesh.quad_count through GLB and export."""

from __future__ import annotations

import os
from dataclasses import replace
from functools import cache

import numpy as np
import pytest
from scipy.spatial import cKDTree

from assetcore.blender import bpy_available, shared_blender
from assetcore.geometry import meshops
from assetcore.geometry.gltf import read_glb, unpack_glb, write_glb
from assetcore.geometry.model import Mesh, Model
from assetcore.proto.v1 import job_pb2
from assetcore.worker.backend import InputFile, StepError, StepOutput
from services.anim.step import STEP as ANIM
from services.export.step import STEP as EXPORT
from services.retopo.backends.instant_meshes import InstantMeshesBackend
from services.retopo.unwrap import unwrap
from services.rig.step import STEP as RIG
from tests.support import retopo_meshes
from tests.support.creature_meshes import humanoid_mesh
from tests.support.fbx_polygons import fbx_polygons
from tests.support.gltf_validator import assert_valid_glb
from tests.support.retopo_meshes import retopo_request
from tests.support.steps import no_progress, run_step_function, step_request
from tests.support.synthetic_models import box_mesh

os.environ.setdefault("OMP_NUM_THREADS", "1")

needs_blender = pytest.mark.skipif(not bpy_available(), reason="bpy (Blender as a module) is not installed")


@cache
def retopo_output() -> StepOutput:
    """instant_meshes on a small asymmetric blob: a quad-dominant LOD0, decimated LOD1 and LOD2."""
    request = retopo_request(retopo_meshes.lopsided_blob(), {"face_target": 400, "texture_size": 256})
    return run_step_function(InstantMeshesBackend(), request, no_progress)


def _file(output: StepOutput, name: str) -> bytes:
    return next(file.data for file in output.files if file.name == name)


def test_the_quad_lod0_glb_records_its_quads_and_stays_validator_clean() -> None:
    output = retopo_output()
    lod0 = read_glb(_file(output, "mesh")).mesh
    assert lod0.quad_count == output.metrics["quads"] > 0
    corners = lod0.faces[: 2 * lod0.quad_count].reshape(-1, 6)
    # each pair is one quad: its two triangles share a diagonal (two corner positions)
    first, second = lod0.positions[corners[:, :3]], lod0.positions[corners[:, 3:]]
    shared = (np.abs(first[:, :, None] - second[:, None, :]).max(axis=3) < 1e-6).sum(axis=(1, 2))
    assert (shared == 2).all()
    assert_valid_glb(_file(output, "mesh"), strict=True)
    assert read_glb(_file(output, "lod1")).mesh.quad_count == 0, "decimated LODs are triangles"


def test_unwrap_splits_vertices_but_keeps_the_face_order() -> None:
    positions, faces = meshops.weld(box_mesh().positions, box_mesh().faces)  # 8 shared corners
    layout = unwrap(np.asarray(positions, np.float64), np.asarray(faces, np.int64), 256)
    assert len(layout.source_vertex) > len(positions), "the seams split vertices"
    np.testing.assert_array_equal(layout.source_vertex[layout.faces], faces)


def test_quad_count_round_trips_and_old_glbs_read_as_zero() -> None:
    mesh = box_mesh()
    assert read_glb(write_glb(Model(mesh=mesh))).mesh.quad_count == 0
    quads = Mesh(positions=mesh.positions, faces=mesh.faces, name="box", quad_count=6)
    document, _ = unpack_glb(write_glb(Model(mesh=quads)))
    assert document["meshes"][0]["primitives"][0]["extras"] == {"quads": 6}  # type: ignore[index]
    assert read_glb(write_glb(Model(mesh=quads))).mesh.quad_count == 6
    assert read_glb(write_glb(Model(mesh=quads), draco=True)).mesh.quad_count == 0, "Draco reorders"
    with pytest.raises(ValueError, match="quad_count"):
        write_glb(Model(mesh=Mesh(positions=mesh.positions, faces=mesh.faces, quad_count=7)))


def test_a_bad_quads_extra_is_an_invalid_input_naming_the_field() -> None:
    data = write_glb(Model(mesh=Mesh(positions=box_mesh().positions, faces=box_mesh().faces, quad_count=6)))
    with pytest.raises(StepError, match=r"extras\.quads"):
        read_glb(data.replace(b'"quads":6', b'"quads":9'))


def _fbx_of(glb: bytes, backend: str) -> bytes:
    job = job_pb2.JobInput(
        prompt=job_pb2.Prompt(concept="a blob"), export=job_pb2.ExportOptions(formats=["glb", "fbx"])
    )
    inputs = {"mesh": InputFile(name="mesh", media_type="model/gltf-binary", data=glb, sha256="")}
    instance = EXPORT.backends[backend].create()
    instance.load()
    output = run_step_function(instance, step_request("export", job, None, 1, inputs), no_progress)
    return _file(output, "fbx")


@needs_blender
@pytest.mark.blender
@pytest.mark.parametrize("backend", ["gltf", "blender"])
def test_the_fbx_of_a_quad_lod0_has_its_quads(backend: str) -> None:
    lod0 = read_glb(_file(retopo_output(), "mesh")).mesh
    fbx = shared_blender().call(fbx_polygons, _fbx_of(_file(retopo_output(), "mesh"), backend))
    sizes = np.asarray(fbx["sizes"])
    assert len(sizes) == lod0.face_count - lod0.quad_count  # each pair became one polygon
    assert (sizes == 4).sum() == lod0.quad_count and set(sizes.tolist()) <= {3, 4}
    assert (sizes == 4).mean() >= 0.9
    positions = np.asarray(fbx["positions"])
    assert cKDTree(positions).query(lod0.positions)[0].max() < 1e-5, "every vertex is in the FBX"
    assert cKDTree(lod0.positions).query(positions)[0].max() < 1e-5, "and nothing else"


@needs_blender
@pytest.mark.blender
def test_the_fbx_of_a_decimated_lod_stays_triangles() -> None:
    lod1 = read_glb(_file(retopo_output(), "lod1")).mesh
    fbx = shared_blender().call(fbx_polygons, _fbx_of(_file(retopo_output(), "lod1"), "gltf"))
    assert fbx["sizes"] == [3] * lod1.face_count


def test_rig_and_anim_keep_the_faces_in_order_and_the_quad_count() -> None:
    mesh = replace(humanoid_mesh(), quad_count=10)  # metadata only: rig and anim must pass it on
    job = job_pb2.JobInput(constraints=job_pb2.Constraints(rig_type=job_pb2.RIG_TYPE_HUMANOID))
    inputs = {"mesh": InputFile("mesh", "model/gltf-binary", write_glb(Model(mesh=mesh)), "")}
    rigged = _file(
        run_step_function(RIG.backends["cpu"].create(), step_request("rig", job, {}, 1, inputs)), "rigged"
    )
    inputs = {"rigged": InputFile("rigged", "model/gltf-binary", rigged, "")}
    request = step_request("anim", job_pb2.JobInput(), {}, 1, inputs)
    animated = _file(run_step_function(ANIM.backends["procedural"].create(), request), "animated")
    for data in (rigged, animated):
        back = read_glb(data).mesh
        np.testing.assert_array_equal(back.faces, mesh.faces)
        assert back.quad_count == 10
