#!/usr/bin/env python3
"""Regenerate the committed gRPC/protobuf stubs in assetcore/proto/ from protos/.

    python scripts/gen_protos.py           # rewrite the stubs
    python scripts/gen_protos.py --check   # exit 1 (and list files) when the stubs are stale

protoc names generated imports after the proto package (`from assetcore.v1 import ...`);
the stubs live under `assetcore.proto.v1`, so imports are rewritten to that package.
"""

from __future__ import annotations

import argparse
import filecmp
import re
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROTO_ROOT = ROOT / "protos"
PROTO_DIR = PROTO_ROOT / "assetcore" / "v1"
STUB_DIR = ROOT / "assetcore" / "proto" / "v1"
IMPORT_RE = re.compile(r"^from assetcore\.v1 import ", re.MULTILINE)


def generate(out_dir: Path) -> None:
    import grpc_tools
    from grpc_tools import protoc

    well_known = Path(grpc_tools.__file__).parent / "_proto"
    with tempfile.TemporaryDirectory() as raw:
        protos = sorted(str(p.relative_to(PROTO_ROOT)) for p in PROTO_DIR.glob("*.proto"))
        args = [
            "protoc",
            f"-I{PROTO_ROOT}",
            f"-I{well_known}",
            f"--python_out={raw}",
            f"--pyi_out={raw}",
            f"--grpc_python_out={raw}",
            *protos,
        ]
        if protoc.main(args) != 0:
            raise SystemExit("protoc failed")
        out_dir.mkdir(parents=True, exist_ok=True)
        for produced in sorted((Path(raw) / "assetcore" / "v1").iterdir()):
            text = IMPORT_RE.sub("from assetcore.proto.v1 import ", produced.read_text())
            (out_dir / produced.name).write_text(text)
    (out_dir / "__init__.py").write_text('"""Generated stubs: run scripts/gen_protos.py, never edit."""\n')


def stale_files(current: Path, fresh: Path) -> list[str]:
    names = {p.name for p in current.glob("*.py*")} | {p.name for p in fresh.glob("*.py*")}
    return sorted(
        n
        for n in names
        if not (current / n).exists()
        or not (fresh / n).exists()
        or not filecmp.cmp(current / n, fresh / n, shallow=False)
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--check", action="store_true", help="only report stale stubs")
    args = parser.parse_args()
    if not args.check:
        if STUB_DIR.exists():
            shutil.rmtree(STUB_DIR)
        generate(STUB_DIR)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        generate(Path(tmp))
        stale = stale_files(STUB_DIR, Path(tmp))
    if stale:
        print("stale generated stubs (run scripts/gen_protos.py):", *stale, sep="\n  ")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
