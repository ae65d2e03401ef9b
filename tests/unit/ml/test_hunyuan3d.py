"""The hunyuan3d backend on a tiny random-weight Hunyuan3D-2, loaded exactly as production loads it."""

from __future__ import annotations

import copy
import shutil
from pathlib import Path
from typing import Any

import pytest
import safetensors.torch
import torch
import yaml  # type: ignore[import-untyped]  # no stubs installed (types-PyYAML)

from assetcore.config import MlSettings
from assetcore.geometry import meshops
from assetcore.geometry.gltf import read_glb
from assetcore.ml.runtime import placement
from assetcore.ml.torchvision_compat import ensure_torchvision_importable
from assetcore.models.manifest import file_sha256
from assetcore.models.store import ModelError, ModelStore, StoredModel
from assetcore.proto.v1 import job_pb2
from assetcore.worker.backend import (
    BackendContext,
    ErrorCode,
    InputFile,
    StepCancelled,
    StepError,
    StepOutput,
)
from services.image3d.backends.hunyuan3d import MODEL, Hunyuan3dBackend
from services.image3d.hunyuan import checkpoint
from services.image3d.hunyuan.pipeline import load_pipeline
from services.image3d.hunyuan.tiny import CONFIG
from services.image3d.step import STEP
from tests.support import concept_images
from tests.support.multiview_images import back_green_views, green_shares
from tests.support.steps import run_step_function, step_request
from tests.support.tiny_models import TinyModels

pytestmark = pytest.mark.ml

PARAMS = {"octree_resolution": 40, "inference_steps": 3, "num_chunks": 4096}
# tencent/Hunyuan3D-2 hunyuan3d-dit-v2-0/config.yaml: the sizes that differ from the tiny one.
PUBLISHED_SIZES = {
    "model": {"in_channels": 64, "context_in_dim": 1536, "hidden_size": 1024, "num_heads": 16,
              "depth": 16, "depth_single_blocks": 32, "axes_dim": [64]},
    "vae": {"num_latents": 3072, "embed_dim": 64, "heads": 16, "width": 1024, "num_decoder_layers": 16},
    "dino": {"hidden_size": 1536, "image_size": 518, "num_attention_heads": 24, "num_hidden_layers": 40},
}  # fmt: skip
# Keys and shapes of the published model.fp16.safetensors (transformers-4 DINOv2 names).
PUBLISHED_SHAPES = {
    "model.latent_in.weight": (1024, 64),
    "model.cond_in.weight": (1024, 1536),
    "model.double_blocks.15.img_attn.qkv.weight": (3072, 1024),
    "model.single_blocks.31.linear1.weight": (7168, 1024),
    "model.final_layer.linear.weight": (64, 1024),
    "vae.post_kl.weight": (1024, 64),
    "vae.transformer.resblocks.15.attn.c_qkv.weight": (3072, 1024),
    "vae.geo_decoder.query_proj.weight": (1024, 51),
    "vae.geo_decoder.output_proj.weight": (1, 1024),
    "conditioner.main_image_encoder.model.embeddings.position_embeddings": (1, 1370, 1536),
    "conditioner.main_image_encoder.model.encoder.layer.39.attention.attention.query.weight": (1536, 1536),
    "conditioner.main_image_encoder.model.encoder.layer.39.attention.output.dense.weight": (1536, 1536),
    "conditioner.main_image_encoder.model.encoder.layer.39.mlp.weights_in.weight": (8192, 1536),
    "conditioner.main_image_encoder.model.encoder.layer.39.mlp.weights_out.weight": (1536, 4096),
}


def backend(root: Path | None) -> Hunyuan3dBackend:
    return Hunyuan3dBackend(BackendContext(ModelStore(root), MlSettings(device="cpu", threads=1)))


def request(*, seed: int = 1, views: bytes | None = None, params: dict[str, Any] | None = None) -> Any:
    inputs = {"image": InputFile("image", "image/png", concept_images.humanoid_png(64), "0" * 64)}
    if views is not None:
        inputs["views"] = InputFile("views", "image/png", views, "0" * 64)
    job = job_pb2.JobInput(prompt=job_pb2.Prompt(concept="a knight"))
    return step_request(
        "image3d", job, PARAMS if params is None else params, seed, inputs, backend="hunyuan3d"
    )


@pytest.fixture(scope="module")
def loaded(tiny_models: TinyModels) -> Hunyuan3dBackend:
    made = backend(tiny_models.require(MODEL))
    made.load()
    return made


@pytest.fixture(scope="module")
def output(loaded: Hunyuan3dBackend) -> StepOutput:
    return run_step_function(loaded, request())  # the step function runs the image3d gate


def published_config() -> dict[str, Any]:
    config = copy.deepcopy(CONFIG)
    config["model"]["params"].update(PUBLISHED_SIZES["model"])
    config["vae"]["params"].update(PUBLISHED_SIZES["vae"])
    encoder = config["conditioner"]["params"]["main_image_encoder"]["kwargs"]
    encoder["config"].update(PUBLISHED_SIZES["dino"])
    encoder["image_size"] = 518
    return config


def test_the_published_layout_key_for_key() -> None:
    ensure_torchvision_importable()
    from hy3dgen.shapegen.pipelines import instantiate_from_config

    config = published_config()
    with torch.device("meta"):
        parts = {name: instantiate_from_config(config[name]) for name in checkpoint.PARTS}
    states = {name: module.state_dict() for name, module in parts.items()}
    installed = states["conditioner"]
    states["conditioner"] = checkpoint.to_published_names(installed)
    published = checkpoint.join_parts(states)
    for key, shape in PUBLISHED_SHAPES.items():
        assert tuple(published[key].shape) == shape, key
    assert not any("q_proj" in k or "gate_proj" in k for k in published)
    back = checkpoint.to_installed_names(checkpoint.split_parts(published)["conditioner"], installed.keys())
    assert {k: tuple(v.shape) for k, v in back.items()} == {k: tuple(v.shape) for k, v in installed.items()}


def test_the_tiny_folder_is_laid_out_as_published(tiny_models: TinyModels) -> None:
    folder = tiny_models.require(MODEL) / MODEL
    config = yaml.safe_load((folder / "config.yaml").read_text())
    assert config["model"]["target"] == "hy3dgen.shapegen.models.Hunyuan3DDiT"
    assert config["conditioner"]["params"]["main_image_encoder"]["type"] == "DinoImageEncoder"
    weights = safetensors.torch.load_file(str(folder / "model.fp16.safetensors"))
    assert {key.partition(".")[0] for key in weights} == set(checkpoint.PARTS)
    assert {tensor.dtype for tensor in weights.values()} == {torch.float16}
    assert any(".attention.attention.query." in key for key in weights)
    assert any(".mlp.weights_in." in key for key in weights)


def test_the_gate_passes_on_one_closed_coloured_real_sized_component(output: StepOutput) -> None:
    mesh = read_glb(output.files[0].data).mesh
    positions, faces = meshops.weld(mesh.positions, mesh.faces)
    assert meshops.is_closed_manifold(faces) and meshops.components(faces, len(positions))[0] == 1
    assert meshops.signed_volume(positions, faces) > 0
    assert mesh.colors is not None and mesh.colors.shape == (mesh.vertex_count, 4)
    assert output.metrics["height_m"] == pytest.approx(1.8, rel=1e-4)  # a knight: a humanoid's height
    assert abs(float(mesh.positions[:, 1].min())) < 1e-6  # standing on the ground
    assert 0.0 < output.metrics["inside_share"] < 1.0
    assert output.preview_png is not None and output.preview_png.startswith(b"\x89PNG")


def test_a_fixed_seed_gives_identical_glbs_and_the_version_names_the_weights(
    loaded: Hunyuan3dBackend, output: StepOutput
) -> None:
    again = run_step_function(loaded, request())
    assert again.files[0].data == output.files[0].data
    other = run_step_function(loaded, request(seed=2))
    assert other.files[0].data != output.files[0].data  # the seed draws the initial noise
    stored = loaded._context.store.verified(MODEL)
    assert loaded.describe().version == f"1+{stored.fingerprint}"
    assert backend(None).describe().version == "1+absent"


def test_views_colour_the_back(loaded: Hunyuan3dBackend) -> None:
    coloured = run_step_function(loaded, request(views=back_green_views()))
    back, front = green_shares(coloured.files[0].data)  # only the views behind the subject are green
    assert back > 0.5 and front < 0.01


@pytest.mark.parametrize("stop_at", ["denoising step 1/", "decoding"])
def test_cancellation_stops_at_the_next_report(loaded: Hunyuan3dBackend, stop_at: str) -> None:
    messages: list[str] = []

    def progress(fraction: float, message: str = "", preview_png: bytes | None = None) -> None:
        messages.append(message)
        if message.startswith(stop_at):
            raise StepCancelled()

    with pytest.raises(StepCancelled):
        loaded.run(request(), progress)
    assert messages[-1].startswith(stop_at)
    assert sum(m.startswith(stop_at) for m in messages) == 1
    assert not any(m.startswith("extracting") for m in messages)


def test_a_missing_weights_file_refuses_to_load_naming_it(tiny_models: TinyModels, tmp_path: Path) -> None:
    shutil.copytree(tiny_models.require(MODEL) / MODEL, tmp_path / MODEL)
    (tmp_path / MODEL / "model.fp16.safetensors").unlink()
    with pytest.raises(ModelError, match=r"model\.fp16\.safetensors is missing"):
        backend(tmp_path).load()


def test_weights_that_do_not_fit_the_config_refuse_naming_the_file(
    tiny_models: TinyModels, tmp_path: Path
) -> None:
    shutil.copytree(tiny_models.require(MODEL) / MODEL, tmp_path / MODEL)
    config_path = tmp_path / MODEL / "config.yaml"
    config = yaml.safe_load(config_path.read_text())
    config["vae"]["params"]["num_decoder_layers"] = 2
    config_path.write_text(yaml.safe_dump(config))
    stored = StoredModel(ModelStore(tmp_path).manifest(MODEL), tmp_path / MODEL)  # past the manifest check
    with pytest.raises(ModelError, match=r"model\.fp16\.safetensors: the 'vae' weights do not fit"):
        load_pipeline(stored, placement(MlSettings(device="cpu", threads=1)))


def test_the_ckpt_variant_loads_the_same_weights(tiny_models: TinyModels, tmp_path: Path) -> None:
    source = tiny_models.require(MODEL) / MODEL
    shutil.copytree(source, tmp_path / MODEL, ignore=shutil.ignore_patterns("*.safetensors"))
    parts = checkpoint.split_parts(safetensors.torch.load_file(str(source / "model.fp16.safetensors")))
    torch.save(parts, tmp_path / MODEL / "model.fp16.ckpt")
    stored = StoredModel(ModelStore(tmp_path).manifest(MODEL), tmp_path / MODEL)
    pipeline = load_pipeline(stored, placement(MlSettings(device="cpu", threads=1)))
    expected = parts["vae"]["geo_decoder.output_proj.bias"].float()
    assert torch.equal(pipeline.vae.geo_decoder.output_proj.bias, expected)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"octree_resolution": 8}, "octree_resolution"),
        ({"inference_steps": 2.5}, "inference_steps"),
        ({"guidance_scale": "high"}, "guidance_scale"),
        ({"num_chunks": 0}, "num_chunks"),
        ({"octree_resolutoin": 64}, "octree_resolutoin"),
    ],
)
def test_options_are_validated(params: dict[str, Any], field: str) -> None:
    with pytest.raises(StepError) as raised:
        request(params=params)
    assert raised.value.code == ErrorCode.INVALID_PARAMS and field in raised.value.message


def test_the_backend_options_are_declared() -> None:
    defaults = STEP.options_model("hunyuan3d")().model_dump()
    assert (defaults["octree_resolution"], defaults["inference_steps"], defaults["guidance_scale"]) == (
        256,
        50,
        5.0,
    )


def test_the_tiny_model_is_deterministic(tiny_models: TinyModels, tmp_path: Path) -> None:
    from services.image3d.hunyuan.tiny import build_hunyuan3d

    build_hunyuan3d(tmp_path)
    manifest = ModelStore(tiny_models.require(MODEL)).manifest(MODEL)
    hashes = {entry.path: entry.sha256 for entry in manifest.files}
    for name in ("config.yaml", "model.fp16.safetensors"):
        assert hashes[name] == file_sha256(tmp_path / name), name
