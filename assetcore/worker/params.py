"""A step's advanced options (JobInput.step_options[step]), read with typed, named errors.

Every problem is StepError(INVALID_PARAMS) with the option's path (`retopo.texture_size`).
Options arrive through a protobuf Struct, so integers come as floats (5000.0); `integer`
accepts those and refuses 5000.5, booleans and strings.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any, TypeVar

from assetcore.worker.backend import ErrorCode, StepError

T = TypeVar("T")


def invalid(field: str, problem: str) -> StepError:
    return StepError(ErrorCode.INVALID_PARAMS, f"{field}: {problem}")


def checked_integer(field: str, value: object, low: int, high: int) -> int:
    """`value` (an option, or a job field) as an integer within low..high, else INVALID_PARAMS."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid(field, f"expected an integer, got {value!r}")
    if not low <= value <= high:
        raise invalid(field, f"{value} is outside {low}..{high}")
    return value


class StepParams:
    def __init__(self, step: str, params: Mapping[str, Any], known: Collection[str]) -> None:
        unknown = sorted(set(params) - set(known))
        if unknown:
            raise StepError(
                ErrorCode.INVALID_PARAMS,
                f"{step}.{unknown[0]}: unknown option (known: {', '.join(sorted(known)) or 'none'})",
            )
        self.step = step
        self._params = params

    def error(self, key: str, problem: str) -> StepError:
        return invalid(f"{self.step}.{key}", problem)

    def __contains__(self, key: str) -> bool:
        return key in self._params

    def integer(self, key: str, default: int, low: int, high: int) -> int:
        return checked_integer(f"{self.step}.{key}", self._params.get(key, default), low, high)

    def number(self, key: str, default: T, low: float, high: float) -> float | T:
        value = self._params.get(key, default)
        if value is default:
            return default
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.error(key, f"expected a number, got {value!r}")
        if not low <= value <= high:
            raise self.error(key, f"{value} is outside {low}..{high}")
        return float(value)

    def choice(self, key: str, default: str, choices: Collection[str]) -> str:
        value = self._params.get(key, default)
        if value not in choices:
            raise self.error(key, f"{value!r} is not one of {', '.join(map(str, choices))}")
        return str(value)

    def flag(self, key: str, default: bool) -> bool:
        value = self._params.get(key, default)
        if not isinstance(value, bool):
            raise self.error(key, f"expected true or false, got {value!r}")
        return value

    def text(self, key: str, default: str) -> str:
        value = self._params.get(key, default)
        if not isinstance(value, str):
            raise self.error(key, f"expected a string, got {value!r}")
        return value
