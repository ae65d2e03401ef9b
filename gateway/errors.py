"""Errors as GraphQL clients see them: `extensions.code` always, `extensions.field` for input.

Orchestrator errors carry a code and a field path in protobuf names
(input.constraints.poly_budget); the field is shown in the schema's names
(input.constraints.polyBudget). GraphQL's own input errors (a bad enum value, an Int out of
32-bit range, a missing required field) get BAD_USER_INPUT and the field they concern: from
the message for variables, from the document for inline literals.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from graphql import DocumentNode, GraphQLError, Node, Visitor, visit
from graphql.language import ArgumentNode, ListValueNode, ObjectFieldNode

from assetcore.errors import ApiError

_CAMEL = re.compile(r"_([a-z0-9])")
_VARIABLE_AT = re.compile(r"Variable '\$([A-Za-z0-9_]+)' (?:has|got) invalid value(?: at ([.\w\[\]]+))?")


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


class _PathFinder(Visitor):
    """Records the visitor path (keys from the document root) of one node."""

    def __init__(self, target: Node) -> None:
        super().__init__()
        self.target = target
        self.keys: list[Any] | None = None

    def enter(self, node: Any, key: Any, parent: Any, path: Any, ancestors: Any) -> Any:
        if node is self.target:
            self.keys = list(path)
            return False
        return None


def _literal_field(error: GraphQLError, document: DocumentNode | None) -> str | None:
    """The argument.field[index] path of an inline literal the error points at."""
    if document is None or not error.nodes:
        return None
    finder = _PathFinder(error.nodes[0])
    visit(document, finder)
    if finder.keys is None:
        return None
    parts: list[str] = []
    node: Any = document
    in_list = False
    for key in finder.keys:
        if isinstance(key, int):
            node = node[key]
            if in_list and parts:
                parts[-1] += f"[{key}]"
        else:
            in_list = isinstance(node, ListValueNode) and key == "values"
            node = getattr(node, key)
        if isinstance(node, ArgumentNode | ObjectFieldNode):
            parts.append(node.name.value)
    return ".".join(parts) or None


def classify(error: GraphQLError, document: DocumentNode | None = None) -> None:
    """Give an error without a code one (in place), and the field for input errors."""
    extensions = dict(error.extensions or {})
    if "code" in extensions:
        return
    match = _VARIABLE_AT.search(error.message)
    if match is not None:
        extensions["code"] = "BAD_USER_INPUT"
        extensions["field"] = match.group(1) + (match.group(2) or "")
    elif error.original_error is None or isinstance(error.original_error, GraphQLError):
        extensions["code"] = "BAD_USER_INPUT" if error.locations else "GRAPHQL_ERROR"
        if (field := _literal_field(error, document)) is not None:
            extensions["field"] = field
    else:
        extensions["code"] = "INTERNAL"
    error.extensions = extensions
