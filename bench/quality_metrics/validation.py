"""The Khronos glTF validator's error and warning counts for a GLB (through the tests' runner)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from tests.support.gltf_validator import ERROR, WARNING, validate_glb, validator_missing_reason


def validator_summary(data: bytes) -> dict[str, Any]:
    """Errors, warnings and the count of each message code; `missing` says why it could not run."""
    reason = validator_missing_reason()
    if reason is not None:
        return {"missing": reason}
    messages = validate_glb(data)["issues"]["messages"]
    return {
        "errors": sum(m["severity"] == ERROR for m in messages),
        "warnings": sum(m["severity"] == WARNING for m in messages),
        "codes": dict(Counter(m["code"] for m in messages if m["severity"] in (ERROR, WARNING))),
    }
