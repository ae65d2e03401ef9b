"""Fill the model store from an S3 prefix of the same layout: `assetcore models pull`.

    s3://bucket/prefix/<name>/manifest.json   and the files it lists, beside it

Production bakes the weights into the GPU AMI (deploy/) and pulls only what changed at
startup. A file is downloaded only when the local copy's size or sha256 differs, into a
temporary name that is renamed once its hash matches; the manifest is written last, so a
pull that dies half-way leaves a model the store reports as missing, never one that looks
complete with a bad file.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from assetcore.models.manifest import MANIFEST, ModelFile, ModelManifest, file_sha256, write_manifest
from assetcore.models.store import ModelError, ModelStore


@dataclass
class PullReport:
    models: list[str] = field(default_factory=list)
    downloaded: list[str] = field(default_factory=list)  # "<model>/<path>"
    kept: list[str] = field(default_factory=list)  # already present with the right hash


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """(bucket, prefix without a trailing slash) of s3://bucket/prefix."""
    parsed = urlparse(uri)
    if parsed.scheme != "s3" or not parsed.netloc:
        raise ValueError(f"expected s3://bucket/prefix, got {uri!r}")
    return parsed.netloc, parsed.path.strip("/")


def pull_models(
    store: ModelStore,
    uri: str,
    s3: Any,  # a boto3 S3 client
    names: Iterable[str] | None = None,
    log: Callable[[str], None] = lambda _: None,
) -> PullReport:
    bucket, prefix = parse_s3_uri(uri)
    available = _remote_models(s3, bucket, prefix)
    wanted = sorted(available) if names is None else list(names)
    unknown = [n for n in wanted if n not in available]
    if unknown:
        raise ModelError(
            f"{uri} has no model(s) {', '.join(unknown)} (it has: {', '.join(sorted(available))})"
        )
    report = PullReport()
    for name in wanted:
        key = _key(prefix, name, MANIFEST)
        manifest = ModelManifest.model_validate_json(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
        if manifest.name != name:
            raise ModelError(f"s3://{bucket}/{key} describes {manifest.name!r}, not {name!r}")
        folder = store.folder(name)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / MANIFEST).unlink(missing_ok=True)  # incomplete until every file matches
        for entry in manifest.files:
            label = f"{name}/{entry.path}"
            if _matches(folder / entry.path, entry):
                report.kept.append(label)
                continue
            log(f"downloading {label} ({entry.size / 1e6:.1f} MB)")
            _download(s3, bucket, _key(prefix, name, entry.path), folder / entry.path, entry)
            report.downloaded.append(label)
        write_manifest(folder, manifest)
        report.models.append(name)
    return report


def _remote_models(s3: Any, bucket: str, prefix: str) -> set[str]:
    names: set[str] = set()
    paginator = s3.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket, Prefix=f"{prefix}/" if prefix else ""):
        for item in page.get("Contents", []):
            relative = item["Key"][len(prefix) + 1 :] if prefix else item["Key"]
            model, _, rest = relative.partition("/")
            if rest == MANIFEST:
                names.add(model)
    return names


def _key(prefix: str, name: str, path: str) -> str:
    return f"{prefix}/{name}/{path}" if prefix else f"{name}/{path}"


def _matches(path: Path, entry: ModelFile) -> bool:
    return path.is_file() and path.stat().st_size == entry.size and file_sha256(path) == entry.sha256


def _download(s3: Any, bucket: str, key: str, target: Path, entry: ModelFile) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, scratch = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    os.close(fd)
    try:
        s3.download_file(bucket, key, scratch)
        actual = file_sha256(Path(scratch))
        if actual != entry.sha256:
            raise ModelError(f"s3://{bucket}/{key} has sha256 {actual}, its manifest says {entry.sha256}")
        os.replace(scratch, target)
    finally:
        Path(scratch).unlink(missing_ok=True)
