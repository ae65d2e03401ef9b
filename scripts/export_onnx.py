#!/usr/bin/env python
"""Export a stored SDXL pipeline's UNet and VAE decoder to ONNX, check them, and store the result.

    scripts/export_onnx.py [--model-dir DIR] [--name sdxl-base] [--latent-size 128] [--threads N]

Reads <model dir>/<name> (verified against its manifest), writes <model dir>/<name>-onnx
(unet/model.onnx, vae_decoder/model.onnx, checks.json and a manifest.json) and prints the
checks: max |onnx - torch| per part against the tolerance in assetcore/ml/onnx_export.py.
Exit 1 when a check fails (nothing is stored then). The full UNet needs ~30 GB of RAM to export.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assetcore.config import Settings
from assetcore.ml.onnx_export import export_sdxl
from assetcore.models.manifest import describe_folder, write_manifest
from assetcore.models.store import ModelStore


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model-dir", type=Path, default=Settings().model_dir, help="[ASSETCORE_MODEL_DIR]")
    parser.add_argument("--name", default="sdxl-base")
    parser.add_argument("--latent-size", type=int, default=128, help="export shape (128 latents = 1024 px)")
    parser.add_argument("--threads", type=int, help="onnxruntime threads for the check")
    args = parser.parse_args()
    if args.model_dir is None:
        parser.error("no model store: pass --model-dir or set ASSETCORE_MODEL_DIR")
    stored = ModelStore(args.model_dir).verified(args.name)
    target = args.model_dir / f"{args.name}-onnx"
    scratch = args.model_dir / f".{args.name}-onnx.building"
    shutil.rmtree(scratch, ignore_errors=True)
    try:
        checks = export_sdxl(stored.folder, scratch, latent_size=args.latent_size, threads=args.threads)
    except ValueError as exc:
        shutil.rmtree(scratch, ignore_errors=True)
        print(f"export_onnx: check failed: {exc}", file=sys.stderr)
        return 1
    report = [c.as_dict() for c in checks]
    (scratch / "checks.json").write_text(json.dumps(report, indent=2) + "\n")
    manifest = stored.manifest
    write_manifest(
        scratch,
        describe_folder(
            scratch,
            name=target.name,
            version=f"{manifest.version}+onnx.{stored.fingerprint}",
            licence=manifest.licence,
            source=f"ONNX export of {args.name} ({manifest.source}) by scripts/export_onnx.py",
        ),
    )
    shutil.rmtree(target, ignore_errors=True)
    scratch.rename(target)
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
