"""Errors as GraphQL clients see them: `extensions.code` always, `extensions.field` for input.

Orchestrator errors carry a code and a field path in protobuf names (input.constraints.poly_budget);
the field is shown in the schema's names (input.constraints.polyBudget). GraphQL's own
validation errors (a bad enum value, an Int out of 32-bit range) get BAD_USER_INPUT and the
field parsed from their message.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from graphql import GraphQLError

from assetcore.errors import ApiError

_CAMEL = re.compile(r"_([a-z0-9])")
_AT_PATH = re.compile(r"at '([^']+)'")
_VARIABLE = re.compile(r"Variable '\$([A-Za-z0-9_]+)'")
_ARGUMENT = re.compile(r"[Aa]rgument '([A-Za-z0-9_]+)'")
_FIELD = re.compile(r"[Ff]ield '([A-Za-z0-9_.]+)'")


def camel_path(path: str) -> str:
    return _CAMEL.sub(lambda m: m.group(1).upper(), path)


def to_graphql(error: ApiError, renames: Mapping[str, str] | None = None) -> GraphQLError:
    """`renames` maps orchestrator fields to the operation's argument names (job_id -> id)."""
    extensions: dict[str, object] = {"code": error.code}
    if error.field:
        field = error.field
        for source, target in (renames or {}).items():
            if field == source or field.startswith(source + "."):
                field = target + field[len(source) :]
        extensions["field"] = camel_path(field)
    return GraphQLError(error.message, extensions=extensions)


def classify(error: GraphQLError) -> None:
    """Give errors without a code one (in place)."""
    extensions = dict(error.extensions or {})
    if "code" in extensions:
        return
    if error.original_error is None:
        extensions["code"] = "BAD_USER_INPUT" if error.locations or "Variable" in error.message else "GRAPHQL_ERROR"
        for pattern in (_AT_PATH, _VARIABLE, _ARGUMENT, _FIELD):
            if match := pattern.search(error.message):
                extensions["field"] = match.group(1)
                break
    else:
        extensions["code"] = "INTERNAL"
    error.extensions = extensions
