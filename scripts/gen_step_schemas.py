"""Writes docs/step-options.schema.json from the installed step declarations.

python scripts/gen_step_schemas.py           regenerate
python scripts/gen_step_schemas.py --check   exit 1 when the committed file is stale
"""

from __future__ import annotations

import sys
from pathlib import Path

from assetcore.steps.catalog import load_catalog
from assetcore.steps.schema import render

TARGET = Path(__file__).resolve().parents[1] / "docs" / "step-options.schema.json"


def main() -> int:
    text = render(load_catalog())
    if "--check" in sys.argv[1:]:
        if not TARGET.exists() or TARGET.read_text() != text:
            print(f"{TARGET} is stale: run python scripts/gen_step_schemas.py", file=sys.stderr)
            return 1
        return 0
    TARGET.write_text(text)
    print(f"wrote {TARGET}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
