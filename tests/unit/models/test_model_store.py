"""The model store: manifests, verification, `assetcore models list/verify/pull` (S3 on moto's server)."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

import boto3
import pytest
from click.testing import CliRunner

from assetcore.cli import main
from assetcore.models.manifest import MANIFEST, describe_folder, write_manifest
from assetcore.models.pull import pull_models
from assetcore.models.store import ModelError, ModelStore


def make_model(root: Path, name: str = "demo", files: dict[str, bytes] | None = None) -> Path:
    folder = root / name
    for path, data in (files or {"unet/weights.bin": b"w" * 1000, "config.json": b"{}"}).items():
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / path).write_bytes(data)
    write_manifest(folder, describe_folder(folder, name=name, version="1.0", licence="MIT", source="test"))
    return folder


def test_a_stored_model_verifies_and_names_its_files(tmp_path: Path) -> None:
    make_model(tmp_path)
    store = ModelStore(tmp_path)
    stored = store.verified("demo")
    assert store.names() == ["demo"]
    assert sorted(f.path for f in stored.manifest.files) == ["config.json", "unet/weights.bin"]
    assert len(stored.fingerprint) == 12
    assert stored.file("config.json").read_bytes() == b"{}"


@pytest.mark.parametrize(
    ("damage", "expected"),
    [
        (lambda p: p.unlink(), "weights.bin is missing (expected 1000 bytes)"),
        (lambda p: p.write_bytes(b"w" * 10), "weights.bin has 10 bytes, expected 1000 (truncated"),
        (lambda p: p.write_bytes(b"x" * 1000), "weights.bin has sha256"),
    ],
    ids=["missing", "truncated", "wrong-hash"],
)
def test_a_damaged_file_is_refused_naming_it(tmp_path: Path, damage: object, expected: str) -> None:
    folder = make_model(tmp_path)
    damage(folder / "unet" / "weights.bin")  # type: ignore[operator]
    with pytest.raises(ModelError, match="model 'demo'") as error:
        ModelStore(tmp_path).verified("demo")
    assert str(folder / "unet" / "weights.bin") in str(error.value)
    assert expected in str(error.value)


def test_missing_models_and_stores_say_what_to_do(tmp_path: Path) -> None:
    assert "does not exist (install it: docs/models.md)" in (ModelStore(tmp_path).missing("sdxl-base") or "")
    assert "set ASSETCORE_MODEL_DIR" in (ModelStore(None).missing("sdxl-base") or "")
    folder = make_model(tmp_path, "other")
    (folder / MANIFEST).write_text('{"name": "other"}')
    assert "is not a valid manifest" in (ModelStore(tmp_path).missing("other") or "")


def test_the_fingerprint_changes_with_the_weights(tmp_path: Path) -> None:
    before = make_model(tmp_path / "a", files={"w.bin": b"1"})
    after = make_model(tmp_path / "b", files={"w.bin": b"2"})
    first = ModelStore(before.parent).verified("demo").fingerprint
    assert first != ModelStore(after.parent).verified("demo").fingerprint


def test_cli_lists_and_verifies(tmp_path: Path) -> None:
    folder = make_model(tmp_path)
    runner = CliRunner()
    listed = runner.invoke(main, ["models", "list", "--model-dir", str(tmp_path)])
    assert listed.exit_code == 0, listed.output
    assert "demo" in listed.output and "MIT" in listed.output
    assert runner.invoke(main, ["models", "verify", "--model-dir", str(tmp_path)]).exit_code == 0
    (folder / "config.json").write_bytes(b"{ }")
    failed = runner.invoke(main, ["models", "verify", "--model-dir", str(tmp_path)])
    assert failed.exit_code == 1
    assert "config.json has 3 bytes, expected 2" in failed.output


def test_cli_writes_a_manifest_that_verifies(tmp_path: Path) -> None:
    folder = tmp_path / "esrgan-x4"
    folder.mkdir()
    (folder / "RealESRGAN_x4plus.pth").write_bytes(b"weights")
    args = ["models", "manifest", str(folder), "--version", "0.2.5", "--licence", "BSD-3-Clause"]
    result = CliRunner().invoke(main, [*args, "--source", "https://example.invalid/esrgan"])
    assert result.exit_code == 0, result.output
    assert "esrgan-x4: 1 files" in result.output
    stored = ModelStore(tmp_path).verified("esrgan-x4")
    assert (stored.manifest.version, stored.manifest.licence) == ("0.2.5", "BSD-3-Clause")


def test_cli_without_a_store_is_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ASSETCORE_MODEL_DIR", raising=False)
    result = CliRunner().invoke(main, ["models", "list"])
    assert result.exit_code == 2
    assert "set ASSETCORE_MODEL_DIR" in result.output


def _bucket_with(endpoint: str, source: Path) -> tuple[object, str]:
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    bucket = f"models-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    for path in source.rglob("*"):
        if path.is_file():
            s3.upload_file(str(path), bucket, f"weights/{path.relative_to(source).as_posix()}")
    return s3, f"s3://{bucket}/weights"


def test_pull_downloads_only_what_changed(tmp_path: Path, moto_endpoint: str) -> None:
    make_model(tmp_path / "remote")
    make_model(tmp_path / "remote", "second", {"model.ckpt": b"c" * 300})
    s3, uri = _bucket_with(moto_endpoint, tmp_path / "remote")
    store = ModelStore(tmp_path / "local")
    first = pull_models(store, uri, s3)
    assert first.models == ["demo", "second"]
    assert sorted(first.downloaded) == ["demo/config.json", "demo/unet/weights.bin", "second/model.ckpt"]
    store.verified("demo")
    (tmp_path / "local" / "demo" / "config.json").write_bytes(b"[]")
    second = pull_models(store, uri, s3, ["demo"])
    assert second.downloaded == ["demo/config.json"] and second.kept == ["demo/unet/weights.bin"]
    store.verified("demo")


def test_pull_refuses_a_remote_file_that_does_not_match_its_manifest(
    tmp_path: Path, moto_endpoint: str
) -> None:
    make_model(tmp_path / "remote")
    s3, uri = _bucket_with(moto_endpoint, tmp_path / "remote")
    bucket = uri.split("/")[2]
    s3.put_object(Bucket=bucket, Key="weights/demo/config.json", Body=b"[]")  # type: ignore[attr-defined]
    store = ModelStore(tmp_path / "local")
    with pytest.raises(ModelError, match=r"demo/config\.json has sha256"):
        pull_models(store, uri, s3)
    assert store.missing("demo") is not None  # no manifest: the half-pulled model is not "present"
    assert not list((tmp_path / "local" / "demo").glob(".config.json.*"))  # no scratch file left
    with pytest.raises(ModelError, match="has no model"):
        pull_models(store, uri, s3, ["nope"])


def test_cli_pull(tmp_path: Path, moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> None:
    make_model(tmp_path / "remote")
    _, uri = _bucket_with(moto_endpoint, tmp_path / "remote")
    monkeypatch.setenv("ASSETCORE_AWS__ENDPOINT_URL", moto_endpoint)
    args = ["models", "pull", "--from", uri, "--model-dir", str(tmp_path / "local")]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "1 models in" in result.output and "2 files downloaded" in result.output
    ModelStore(tmp_path / "local").verified("demo")


@pytest.mark.ml
def test_make_tiny_models_writes_verified_models(tmp_path: Path) -> None:
    script = Path(__file__).resolve().parents[3] / "scripts" / "make_tiny_models.py"
    result = subprocess.run(
        [sys.executable, str(script), str(tmp_path), "matte", "esrgan-x4"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "2 models in" in result.stdout
    store = ModelStore(tmp_path)
    assert store.names() == ["esrgan-x4", "matte"]
    assert all(store.verified(name).manifest.version == "tiny-random" for name in store.names())
