#!/usr/bin/env python
"""Write tiny random-weight models for every ML backend into DIR, in the model store's layout.

    scripts/make_tiny_models.py DIR [NAME ...]
    ASSETCORE_MODEL_DIR=DIR assetcore generate "a giant spider" --type prop --backend tti=sdxl ...

The shapes and images such models make are meaningless; the code paths, files, types and
sizes are production's. See docs/models.md for the real weights.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assetcore.config import Settings
from assetcore.models.tiny import build_tiny_store
from assetcore.steps.catalog import load_catalog


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("directory", type=Path)
    parser.add_argument("names", nargs="*", help="only these models (default: all)")
    args = parser.parse_args()
    started = time.perf_counter()
    manifests = build_tiny_store(args.directory, load_catalog(tuple(Settings().plugins)), args.names or None)
    for manifest in manifests:
        print(f"{manifest.name:20} {manifest.total_bytes() / 1e6:8.2f} MB  {len(manifest.files)} files")
    print(f"{len(manifests)} models in {args.directory} ({time.perf_counter() - started:.1f} s)")


if __name__ == "__main__":
    main()
