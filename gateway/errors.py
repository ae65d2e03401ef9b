"""Errors as GraphQL clients see them: `extensions.code` always, `extensions.field` for input.

One schema extension (`ErrorMapping`) gives every error of every result its code, after the
resolvers ran, so resolvers never wrap calls: they raise ApiError (or let the orchestrator
client's ApiError through) and the extension maps it.

- ApiError: its code, and its field (a RateLimited error also `retryAfter`: seconds, rounded up).
  Orchestrator fields are protobuf paths of the request (input.constraints.poly_budget,
  job_id); they are shown in this API's names: renamed to the
  operation's argument names per root field (job_id -> id of `job(id:)`, see schema.py's
  ARGUMENTS) and camel-cased (input.constraints.polyBudget).
- GraphQL's own input errors (a bad enum value, an Int out of 32-bit range, a missing
  required field) get BAD_USER_INPUT and the field they concern: from the message for
  variables, from the document for inline literals.
- Limit errors raised without a code (the parser's token limit) get theirs (gateway/limits.py).
- Anything else is INTERNAL (and logged by the schema's process_errors).

Every message is bounded, and a quoted value in it keeps only its first characters: graphql-core
quotes what a client sent (a field name, a variable's value) whole.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
from typing import Any

from graphql import DocumentNode, GraphQLError, Node, OperationDefinitionNode, Visitor, visit
from graphql.language import ArgumentNode, FieldNode, InlineFragmentNode, ListValueNode, ObjectFieldNode
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionResult as StrawberryExecutionResult

from assetcore.errors import ApiError, RateLimited, shorten_quotes
from assetcore.rpc.status import MAX_MESSAGE_BYTES, bounded
from gateway.limits import limit_code

_CAMEL = re.compile(r"_([a-z0-9])")
_VARIABLE_AT = re.compile(r"Variable '\$([A-Za-z0-9_]+)' (?:has|got) invalid value(?: at ([.\w\[\]]+))?")
Renames = Mapping[str, Mapping[str, str]]  # root field -> {orchestrator field path: argument name}


# Fields whose values are JSON scalars: keys below them are the caller's own, not schema names.
JSON_FIELDS = ("input.step_options",)


def camel_path(path: str) -> str:
    """The path in GraphQL's names; below a JSON field the caller's keys stay as given."""
    for json_field in JSON_FIELDS:
        if path.startswith(json_field + "."):
            head, tail = json_field, path[len(json_field) :]
            return _CAMEL.sub(lambda m: m.group(1).upper(), head) + tail
    return _CAMEL.sub(lambda m: m.group(1).upper(), path)


def api_field(field: str, renames: Mapping[str, str] | None = None) -> str:
    """An orchestrator field path in this API's names (`renames` maps paths to argument names)."""
    for source, target in (renames or {}).items():
        if field == source or field.startswith(source + "."):
            field = target + field[len(source) :]
            break
    return camel_path(field)


def short_message(message: str) -> str:
    return bounded(shorten_quotes(message), MAX_MESSAGE_BYTES)


def retry_extensions(error: ApiError) -> dict[str, object]:
    """`retryAfter` (whole seconds, at least 1) for a RateLimited error; {} for others."""
    if not isinstance(error, RateLimited):
        return {}
    return {"retryAfter": max(1, math.ceil(error.retry_after_s))}


def to_graphql(error: ApiError, renames: Mapping[str, str] | None = None) -> GraphQLError:
    """A standalone GraphQL error for an ApiError (code, and the field in this API's names)."""
    extensions: dict[str, object] = {"code": error.code, **retry_extensions(error)}
    if error.field:
        extensions["field"] = api_field(error.field, renames)
    return GraphQLError(short_message(error.message), extensions=extensions)


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
    """Give an error that is not an ApiError and has no code one (in place), and its field."""
    extensions = dict(error.extensions or {})
    if "code" in extensions:
        return
    match = _VARIABLE_AT.search(error.message)
    if (code := limit_code(error)) is not None:
        extensions["code"] = code
    elif match is not None:
        extensions["code"] = "BAD_USER_INPUT"
        extensions["field"] = match.group(1) + (match.group(2) or "")
    elif error.original_error is None or isinstance(error.original_error, GraphQLError):
        extensions["code"] = "BAD_USER_INPUT" if error.locations else "GRAPHQL_ERROR"
        if (field := _literal_field(error, document)) is not None:
            extensions["field"] = field
    else:
        extensions["code"] = "INTERNAL"
    error.extensions = extensions


def is_unexpected(error: GraphQLError) -> bool:
    """An error no rule produced (a bug): worth a log line with its traceback."""
    original = error.original_error
    return original is not None and not isinstance(original, ApiError | GraphQLError)


def _root_fields(document: DocumentNode | None) -> Iterator[FieldNode]:
    """The root fields of the document's operations (through inline fragments)."""
    if document is None:
        return
    pending = [
        selection
        for definition in document.definitions
        if isinstance(definition, OperationDefinitionNode)
        for selection in definition.selection_set.selections
    ]
    while pending:
        node = pending.pop(0)
        if isinstance(node, FieldNode):
            yield node
        elif isinstance(node, InlineFragmentNode):
            pending.extend(node.selection_set.selections)


def _root_field(error: GraphQLError, document: DocumentNode | None) -> str | None:
    """The name of the root field an error belongs to (its path's first key, or the only one)."""
    roots = list(_root_fields(document))
    if error.path:
        key = error.path[0]
        for node in roots:
            if (node.alias.value if node.alias else node.name.value) == key:
                return node.name.value
    return roots[0].name.value if len(roots) == 1 else None


def map_error(error: GraphQLError, document: DocumentNode | None, renames: Renames) -> GraphQLError:
    """The error as clients see it (a new error for an ApiError; others classified in place)."""
    original = error.original_error
    if not isinstance(original, ApiError) or "code" in (error.extensions or {}):
        classify(error, document)
        error.message = short_message(error.message)
        return error
    extensions: dict[str, Any] = {
        **(error.extensions or {}),
        "code": original.code,
        **retry_extensions(original),
    }
    if original.field:
        root = _root_field(error, document)
        extensions["field"] = api_field(original.field, renames.get(root or ""))
    return GraphQLError(
        short_message(original.message),
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=original,
        extensions=extensions,
    )


class ErrorMapping(SchemaExtension):
    """Maps the errors of each result (see the module's docstring); `renames` per root field.

    Install as a factory: `extensions=[lambda: ErrorMapping(renames)]`.
    """

    def __init__(self, renames: Renames | None = None) -> None:
        self._renames: Renames = renames or {}
        self._streamed = False

    def _map(self, result: Any) -> None:
        errors = getattr(result, "errors", None)
        if errors:
            document = self.execution_context.graphql_document
            result.errors = [map_error(e, document, self._renames) for e in errors]

    def on_operation(self) -> Iterator[None]:
        self._streamed = False
        yield
        if self._streamed:  # each streamed result was mapped on its way out
            return
        result = self.execution_context.result
        if isinstance(result, StrawberryExecutionResult) or hasattr(result, "errors"):
            self._map(result)
        elif (initial := getattr(result, "initial_result", None)) is not None:
            self._map(initial)

    def on_stream_result(self, result: Any) -> Iterator[None]:
        self._streamed = True
        self._map(result)
        yield None
