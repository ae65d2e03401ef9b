"""export.ktx2: KTX2 (Basis Universal) copies of the GLB textures, per KHR_texture_basisu."""

from __future__ import annotations

import io
import struct
from dataclasses import replace
from typing import Any

import alktx2
import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from assetcore import generate
from assetcore.cli import main
from assetcore.errors import FailedPrecondition, InvalidArgument
from assetcore.geometry.gltf import read_glb, unpack_glb, write_glb
from assetcore.geometry.model import Model
from assetcore.proto.v1 import job_pb2
from assetcore.steps.catalog import load_catalog
from assetcore.worker.backend import StepOutput
from gateway.inputs import CreateAssetJobInput, ExportInput, PromptInput, to_job_input
from services.export.ktx2 import BASISU, KTX2_MEDIA_TYPE, add_ktx2_textures, encode_ktx2
from services.orchestrator.validation import Offer, resolve_input
from tests.support.gltf_validator import ERROR, WARNING, validate_glb
from tests.support.steps import run_step_function, step_request
from tests.support.synthetic_models import box_mesh, creature_model
from tests.unit.services.test_export import _files, _glb_input, _manifest, _progress

KTX2_IDENTIFIER = b"\xabKTX 20\xbb\r\n\x1a\n"
BASIS_LZ, ZSTANDARD = 1, 2  # KTX2 supercompressionScheme
KHR_DF_TRANSFER_LINEAR, KHR_DF_TRANSFER_SRGB = 1, 2
MEAN_TOLERANCE = 3.0  # of 255, per channel: ETC1S is lossy, but keeps a painted texture's average
# glTF-Validator 2.0.0-dev.3.10 (the newest release) predates KHR_texture_basisu
# (KhronosGroup/glTF-Validator#177): it warns about every image/ktx2 image, and only about them.
VALIDATOR_KTX2_WARNINGS = ("VALUE_NOT_IN_LIST", "IMAGE_UNRECOGNIZED_FORMAT")


def _job(**export: Any) -> job_pb2.JobInput:
    return job_pb2.JobInput(prompt=job_pb2.Prompt(concept="a knight"), export=job_pb2.ExportOptions(**export))


def _painted_box() -> Model:
    """A box with a smooth 64x64 texture, like a baked one (a hard two-colour checker is ETC1S's
    worst case: one chroma per 4x4 block)."""
    ramp = np.linspace(0.0, 255.0, 64)
    pixels = np.stack(np.broadcast_arrays(ramp[None, :], ramp[:, None], np.full((64, 64), 90.0)), axis=-1)
    out = io.BytesIO()
    Image.fromarray(pixels.astype(np.uint8)).save(out, format="PNG")
    return Model(mesh=replace(box_mesh(textured=True), texture_png=out.getvalue()))


def _export(models: dict[str, Model], **export: Any) -> StepOutput:
    request = step_request(
        "export", _job(**export), None, 1, {n: _glb_input(n, write_glb(m)) for n, m in models.items()}
    )
    return run_step_function(load_catalog().steps["export"].backends["gltf"].create(), request, _progress)


def _image_bytes(glb: bytes, index: int) -> bytes:
    document, binary = unpack_glb(glb)
    assert binary is not None
    view = document["bufferViews"][document["images"][index]["bufferView"]]  # type: ignore[index]
    return binary[view.get("byteOffset", 0) : view.get("byteOffset", 0) + view["byteLength"]]


def _ktx2_header(ktx2: bytes) -> tuple[int, int, int, int]:
    """(width, height, levels, supercompressionScheme) from the KTX2 header."""
    assert ktx2.startswith(KTX2_IDENTIFIER)
    _format, _type_size, width, height, _depth, _layers, _faces, levels, scheme = struct.unpack_from(
        "<9I", ktx2, 12
    )
    return width, height, levels, scheme


def _mean_rgb(png: bytes) -> np.ndarray[Any, Any]:
    with Image.open(io.BytesIO(png)) as image:
        pixels = np.asarray(image.convert("RGB"), np.float64).reshape(-1, 3)
    mean: np.ndarray[Any, Any] = pixels.mean(axis=0)
    return mean


def _assert_validator_clean(glb: bytes, ktx2_images: list[int]) -> None:
    """0 errors; the only warnings are the validator's known two per KTX2 image (see above)."""
    report = validate_glb(glb)
    messages = report["issues"]["messages"]
    assert [m for m in messages if m["severity"] == ERROR] == []
    warnings = sorted((m["code"], m["pointer"]) for m in messages if m["severity"] == WARNING)
    expected = sorted(
        [("VALUE_NOT_IN_LIST", f"/images/{i}/mimeType") for i in ktx2_images]
        + [("IMAGE_UNRECOGNIZED_FORMAT", f"/images/{i}") for i in ktx2_images]
    )
    assert warnings == expected


def test_ktx2_export_adds_basisu_copies_beside_the_png_textures() -> None:
    lod = _painted_box()
    model = creature_model("humanoid")
    model.mesh = replace(model.mesh, texture_png=lod.mesh.texture_png)
    output = _export({"animated": model, "lod1": lod}, ktx2=True, draco=True)
    files = _files(output)
    for name, source in (("glb", model), ("lod1_glb", lod)):
        glb = files[name].data
        document: dict[str, Any] = unpack_glb(glb)[0]
        assert document["extensionsUsed"] == ["KHR_draco_mesh_compression", BASISU]
        assert BASISU not in document["extensionsRequired"], "the PNG stays as the fallback"
        [texture] = document["textures"]
        ktx2_index = texture["extensions"][BASISU]["source"]
        assert document["images"][texture["source"]]["mimeType"] == "image/png"
        assert document["images"][ktx2_index]["mimeType"] == KTX2_MEDIA_TYPE
        ktx2 = _image_bytes(glb, ktx2_index)
        png = _image_bytes(glb, texture["source"])
        width, height, levels, scheme = _ktx2_header(ktx2)
        with Image.open(io.BytesIO(png)) as image:
            assert (width, height) == image.size
        assert scheme == BASIS_LZ, "base colour is ETC1S, supercompressed with BasisLZ"
        assert levels == int(np.log2(max(width, height))) + 1, "the full mip chain"
        info = alktx2.inspect_ktx2(ktx2)
        assert info["is_etc1s"] and info["is_srgb"]
        decoded, media_type = alktx2.decode_ktx2_to_bytes(ktx2)
        assert media_type == "image/png"
        assert np.abs(_mean_rgb(decoded) - _mean_rgb(png)).max() <= MEAN_TOLERANCE
        _assert_validator_clean(glb, [ktx2_index])
        assert read_glb(glb).mesh.texture_png == source.mesh.texture_png, "plain readers get the PNG"
    assert _manifest(output)["gltf"]["ktx2"] is True


def test_without_the_option_the_glb_has_no_ktx2() -> None:
    glb = _files(_export({"mesh": Model(mesh=box_mesh(textured=True))}))["glb"].data
    document: dict[str, Any] = unpack_glb(glb)[0]
    assert "extensionsUsed" not in document and len(document["images"]) == 1


def test_data_textures_are_linear_uastc_with_zstandard() -> None:
    png = box_mesh(textured=True).texture_png
    assert png is not None
    document: dict[str, Any] = {
        "asset": {"version": "2.0"},
        "materials": [{"normalTexture": {"index": 0}}],
        "textures": [{"source": 0}],
        "images": [{"bufferView": 0, "mimeType": "image/png"}],
        "bufferViews": [{"buffer": 0, "byteLength": len(png)}],
        "buffers": [{"byteLength": len(png) + (-len(png) % 4)}],
    }
    binary = add_ktx2_textures(document, png)
    assert list(document)[:2] == ["asset", "extensionsUsed"]
    view = document["bufferViews"][document["images"][1]["bufferView"]]
    assert view["byteOffset"] % 4 == 0 and document["buffers"][0]["byteLength"] >= len(binary)
    ktx2 = binary[view["byteOffset"] : view["byteOffset"] + view["byteLength"]]
    assert _ktx2_header(ktx2)[3] == ZSTANDARD
    info = alktx2.inspect_ktx2(ktx2)
    assert info["is_uastc"] and not info["is_srgb"]
    assert info["dfd_transfer_func"] == KHR_DF_TRANSFER_LINEAR
    assert encode_ktx2(png, linear=True) == ktx2, "reproducible byte for byte"


def test_blender_backend_rejects_ktx2_naming_the_field() -> None:
    catalog = load_catalog()
    with pytest.raises(InvalidArgument) as raised:
        resolve_input(_job(ktx2=True), catalog, {"export": "blender"})
    assert raised.value.field == "input.export.ktx2" and "gltf backend" in str(raised.value)
    assert resolve_input(_job(ktx2=True), catalog)[0].export.ktx2


def test_a_deployment_whose_export_workers_lack_ktx2_refuses_it() -> None:
    without = {"export": Offer(("blender",), frozenset({"glb", "draco", "fbx"}))}
    with pytest.raises(FailedPrecondition) as raised:
        resolve_input(_job(ktx2=True), load_catalog(), None, without)
    assert raised.value.code == "FEATURE_UNAVAILABLE" and raised.value.field == "input.export.ktx2"


def test_fbx_gets_the_png_only_glb(monkeypatch: pytest.MonkeyPatch) -> None:
    handed: list[bytes] = []

    def fake_blender(func: Any, glb: bytes, *args: Any) -> bytes:
        handed.append(glb)
        return b"Kaydara FBX Binary"

    monkeypatch.setattr("services.export.backends.gltf.run_in_blender", fake_blender)
    model = Model(mesh=box_mesh(textured=True))
    files = _files(_export({"mesh": model}, ktx2=True, formats=["glb", "fbx"]))
    assert BASISU in unpack_glb(files["glb"].data)[0]["extensionsUsed"]  # type: ignore[operator]
    [plain] = handed
    document: dict[str, Any] = unpack_glb(plain)[0]
    assert "extensionsUsed" not in document
    assert [image["mimeType"] for image in document["images"]] == ["image/png"]


def test_cli_flag_and_graphql_field_set_the_job_field(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    jobs: list[job_pb2.JobInput] = []

    async def fake_generate(settings: Any, job: job_pb2.JobInput, *args: Any) -> int:
        jobs.append(job)
        return 0

    monkeypatch.setattr(generate, "run_generate", fake_generate)
    for flags in (["--ktx2"], []):
        result = CliRunner().invoke(main, ["generate", "a knight", "-o", str(tmp_path), *flags])
        assert result.exit_code == 0, result.output
    assert [job.export.ktx2 for job in jobs] == [True, False]
    given = CreateAssetJobInput(prompt=PromptInput(concept="a knight"), export=ExportInput(ktx2=True))
    assert to_job_input(given).export.ktx2
