"""The Khronos glTF-Validator (npm `gltf-validator`, pinned in tools/gltf-validator) from tests.

Install it with `npm ci --prefix tools/gltf-validator`. Without node or the npm modules the
calling test is skipped with the reason; with them, every GLB a test makes goes through
`assert_valid_glb`.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

VALIDATOR_DIR = Path(__file__).resolve().parents[2] / "tools" / "gltf-validator"
SCRIPT = VALIDATOR_DIR / "validate.mjs"
ERROR, WARNING = 0, 1  # report severities


def validator_missing_reason() -> str | None:
    """Why the validator cannot run here, or None when it can."""
    if shutil.which("node") is None:
        return "node is not installed (needed for the glTF validator)"
    if not (VALIDATOR_DIR / "node_modules" / "gltf-validator").is_dir():
        return "gltf-validator npm module missing: run `npm ci --prefix tools/gltf-validator`"
    return None


def validate_glb(data: bytes) -> dict[str, Any]:
    """The validator's JSON report for GLB bytes (skips the calling test without the validator)."""
    reason = validator_missing_reason()
    if reason is not None:
        pytest.skip(reason)
    node = shutil.which("node")
    assert node is not None
    result = subprocess.run(
        [node, str(SCRIPT), "-"], input=data, capture_output=True, timeout=120, check=False, cwd=VALIDATOR_DIR
    )
    if result.returncode != 0:
        raise AssertionError(f"glTF validator failed: {result.stderr.decode(errors='replace')}")
    report: dict[str, Any] = json.loads(result.stdout)
    return report


def issues(report: dict[str, Any], severity: int) -> list[str]:
    """The report's messages of one severity as 'CODE at POINTER: message' lines."""
    return [
        f"{m['code']} at {m.get('pointer', '-')}: {m['message']}"
        for m in report["issues"]["messages"]
        if m["severity"] == severity
    ]


def assert_valid_glb(data: bytes, *, strict: bool = False) -> dict[str, Any]:
    """Fail with the validator's messages unless the GLB has 0 errors (strict: and 0 warnings)."""
    report = validate_glb(data)
    problems = issues(report, ERROR) + (issues(report, WARNING) if strict else [])
    assert not problems, "glTF validator:\n" + "\n".join(problems)
    return report
