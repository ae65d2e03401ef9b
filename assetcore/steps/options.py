"""Step options: one pydantic model per step, parsed once, handed to the backend typed.

Options arrive in JobInput.step_options[step], a protobuf Struct, so every number is a
float: `Integer` accepts 5000.0 and refuses 5000.5, booleans and strings; `Number` refuses
booleans and strings. Models forbid unknown keys, so a typo is an error naming the key.

A model may also read the job itself (the retopo face target defaults to the job's poly
budget, the anim step reads job.animation): override `StepOptions.resolve`, and raise
`OptionError` with the field's full path (`input.animation.clips[2]`) for job fields.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Self

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError

from assetcore.proto.v1 import job_pb2


class OptionError(ValueError):
    """A problem with a job field a step reads; `field` is its full path from the request, `code`
    the API error code when INVALID_ARGUMENT is too vague for a client to act on."""

    def __init__(self, field: str, message: str, *, code: str | None = None) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
        self.code = code


def whole_number(value: object) -> object:
    if isinstance(value, bool | str):
        raise ValueError(f"expected an integer, got {value!r}")
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError(f"expected an integer, got {value!r}")
        return int(value)
    return value


def real_number(value: object) -> object:
    if isinstance(value, bool | str):
        raise ValueError(f"expected a number, got {value!r}")
    return value


def _plain_string(value: object) -> object:
    if not isinstance(value, str):
        raise ValueError(f"expected a string, got {value!r}")
    return value


def _plain_bool(value: object) -> object:
    if not isinstance(value, bool):
        raise ValueError(f"expected true or false, got {value!r}")
    return value


Integer = Annotated[int, BeforeValidator(whole_number)]
Number = Annotated[float, BeforeValidator(real_number)]
Text = Annotated[str, BeforeValidator(_plain_string)]
Flag = Annotated[bool, BeforeValidator(_plain_bool)]
# An optional bounded value: put the bounds before the validator, so that the JSON Schema shows
# them as minimum/maximum: Annotated[int, Field(ge=1, le=9), BeforeValidator(whole_number)] | None


class StepOptions(BaseModel):
    """Base of every step's options model: frozen, unknown keys refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @classmethod
    def resolve(cls, job: job_pb2.JobInput, params: Mapping[str, Any]) -> Self:
        """The options of one job: `params` are JobInput.step_options[step] as plain values."""
        return cls.model_validate(dict(params))


class NoOptions(StepOptions):
    """For steps without options."""


def option_problems(exc: ValidationError) -> list[tuple[str, str]]:
    """(dotted path inside the step's options, message) for each problem pydantic found."""
    problems = []
    for error in exc.errors(include_url=False):
        path = ".".join(str(part) for part in error["loc"])
        message = str(error["msg"])
        if error["type"] == "extra_forbidden":
            message = "unknown option"
        elif message.startswith("Value error, "):
            message = message.removeprefix("Value error, ")
        problems.append((path, message))
    return problems
