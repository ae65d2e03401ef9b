"""The triposr backend on a tiny random-weight TripoSR, loaded exactly as production loads it."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import torch

from assetcore.config import MlSettings
from assetcore.geometry import meshops
from assetcore.geometry.gltf import read_glb
from assetcore.models.store import ModelError, ModelStore
from assetcore.proto.v1 import job_pb2
from assetcore.worker.backend import BackendContext, InputFile, StepOutput, StepRequest
from services.image3d.backends.triposr import TriposrBackend
from services.image3d.step import STEP
from services.image3d.triposr.checkpoint import to_current, to_published
from services.image3d.triposr.config import PUBLISHED_CONFIG, parse_config
from services.image3d.triposr.network import Triposr
from tests.support import concept_images
from tests.support.multiview_images import back_green_views, green_shares
from tests.support.steps import run_step_function, step_request
from tests.support.tiny_models import TinyModels

pytestmark = pytest.mark.ml

# Key prefixes and shapes of the published model.ckpt (transformers 4.x ViT names).
PUBLISHED_SHAPES = {
    "image_tokenizer.model.embeddings.cls_token": (1, 1, 768),
    "image_tokenizer.model.embeddings.position_embeddings": (1, 197, 768),
    "image_tokenizer.model.embeddings.patch_embeddings.projection.weight": (768, 3, 16, 16),
    "image_tokenizer.model.encoder.layer.11.attention.attention.query.weight": (768, 768),
    "image_tokenizer.model.encoder.layer.11.attention.output.dense.weight": (768, 768),
    "image_tokenizer.model.encoder.layer.11.intermediate.dense.weight": (3072, 768),
    "image_tokenizer.model.encoder.layer.11.output.dense.weight": (768, 3072),
    "image_tokenizer.model.encoder.layer.11.layernorm_before.weight": (768,),
    "image_tokenizer.model.layernorm.weight": (768,),
    "image_tokenizer.model.pooler.dense.weight": (768, 768),
    "tokenizer.embeddings": (3, 1024, 32, 32),
    "backbone.norm.weight": (1024,),
    "backbone.proj_in.weight": (1024, 1024),
    "backbone.transformer_blocks.15.attn1.to_q.weight": (1024, 1024),
    "backbone.transformer_blocks.15.attn1.to_out.0.bias": (1024,),
    "backbone.transformer_blocks.15.attn2.to_k.weight": (1024, 768),
    "backbone.transformer_blocks.15.attn2.to_v.weight": (1024, 768),
    "backbone.transformer_blocks.15.norm3.weight": (1024,),
    "backbone.transformer_blocks.15.ff.net.0.proj.weight": (8192, 1024),
    "backbone.transformer_blocks.15.ff.net.2.weight": (1024, 4096),
    "backbone.proj_out.weight": (1024, 1024),
    "post_processor.upsample.weight": (1024, 40, 2, 2),
    "decoder.layers.0.weight": (64, 120),
    "decoder.layers.16.weight": (64, 64),
    "decoder.layers.18.weight": (4, 64),
    "decoder.layers.18.bias": (4,),
}
PUBLISHED_KEY_COUNT = 200 + 16 * 20 + 6 + 1 + 2 + 20  # ViT, 16 blocks, backbone ends, triplane, up, MLP
PARAMS = {"marching_cubes_resolution": 32, "chunk_size": 4096}


def backend(root: Path) -> TriposrBackend:
    return TriposrBackend(BackendContext(ModelStore(root), MlSettings(device="cpu", threads=1)))


def request(*, views: bytes | None = None, seed: int = 1) -> StepRequest:
    inputs = {"image": InputFile("image", "image/png", concept_images.humanoid_png(64), "0" * 64)}
    if views is not None:
        inputs["views"] = InputFile("views", "image/png", views, "0" * 64)
    job = job_pb2.JobInput(prompt=job_pb2.Prompt(concept="a knight"))
    return step_request("image3d", job, PARAMS, seed, inputs, backend="triposr")


@pytest.fixture(scope="module")
def loaded(tiny_models: TinyModels) -> TriposrBackend:
    made = backend(tiny_models.require("triposr"))
    made.load()
    return made


@pytest.fixture(scope="module")
def output(loaded: TriposrBackend) -> StepOutput:
    return run_step_function(loaded, request())  # the step function runs the image3d gate


def test_the_published_layout_key_for_key() -> None:
    with torch.device("meta"):
        model = Triposr(parse_config(PUBLISHED_CONFIG, Path("/nonexistent")))
    published = to_published(model.state_dict())
    assert len(published) == PUBLISHED_KEY_COUNT
    for key, shape in PUBLISHED_SHAPES.items():
        assert tuple(published[key].shape) == shape, key
    assert not any(".layers." in k or "q_proj" in k for k in published if k.startswith("image_tokenizer"))
    assert set(to_current(published)) == set(model.state_dict())


def test_the_gate_passes_on_one_closed_coloured_component(output: StepOutput) -> None:
    mesh = read_glb(output.files[0].data).mesh
    positions, faces = meshops.weld(mesh.positions, mesh.faces)
    assert meshops.is_closed_manifold(faces) and meshops.components(faces, len(positions))[0] == 1
    assert meshops.signed_volume(positions, faces) > 0
    assert mesh.colors is not None and mesh.colors.shape == (mesh.vertex_count, 4)
    assert output.metrics["height_m"] == pytest.approx(1.8, rel=1e-4)  # a knight: a humanoid's height
    assert abs(float(mesh.positions[:, 1].min())) < 1e-6  # standing on the ground
    assert output.preview_png is not None and output.preview_png.startswith(b"\x89PNG")


def test_a_fixed_seed_gives_identical_glbs_and_the_version_names_the_weights(
    loaded: TriposrBackend, output: StepOutput
) -> None:
    again = run_step_function(loaded, request())
    assert again.files[0].data == output.files[0].data
    stored = loaded._context.store.verified("triposr")
    assert loaded.describe().version == f"1+{stored.fingerprint}"


def test_views_colour_the_back(loaded: TriposrBackend, output: StepOutput) -> None:
    coloured = run_step_function(loaded, request(views=back_green_views()))
    back, front = green_shares(coloured.files[0].data)  # only the views behind the subject are green
    # The tiny model's surface is a noisy random blob, full of cavities no camera sees.
    assert back > 0.15 and front < 0.01
    shape = read_glb(coloured.files[0].data).mesh.positions.shape
    assert read_glb(output.files[0].data).mesh.positions.shape == shape


def test_a_checkpoint_that_does_not_match_its_manifest_refuses(
    tiny_models: TinyModels, tmp_path: Path
) -> None:
    source = tiny_models.require("triposr") / "triposr"
    copy = tmp_path / "triposr"
    copy.mkdir()
    for path in source.rglob("*"):
        if path.is_file():
            target = copy / path.relative_to(source)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(path.read_bytes())
    ckpt = copy / "model.ckpt"
    data = bytearray(ckpt.read_bytes())
    data[-100] ^= 0xFF
    ckpt.write_bytes(bytes(data))
    with pytest.raises(ModelError, match=r"model\.ckpt has sha256"):
        backend(tmp_path).load()


def test_the_tiny_model_is_deterministic(tiny_models: TinyModels, tmp_path: Path) -> None:
    from services.image3d.triposr.tiny import build_triposr

    build_triposr(tmp_path)
    manifest = json.loads((tiny_models.require("triposr") / "triposr" / "manifest.json").read_text())
    hashes = {f["path"]: f["sha256"] for f in manifest["files"]}
    assert hashes["model.ckpt"] == hashlib.sha256((tmp_path / "model.ckpt").read_bytes()).hexdigest()


def test_the_backend_options_are_declared() -> None:
    model = STEP.options_model("triposr")
    assert model().model_dump()["marching_cubes_resolution"] == 256
