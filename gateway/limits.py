"""Per-request limits of the GraphQL API, as validation rules (GatewayLimits in assetcore/config.py).

strawberry ships the token, depth and alias checks (MaxTokensLimiter's parser option,
QueryDepthLimiter, MaxAliasesLimiter) and graphql-core the introspection one
(NoSchemaIntrospectionCustomRule); their errors carry no code, so their rules run here against
a validation context that adds one. Two rules are this module's own: the cost of paginated
list fields (strawberry has no cost analysis) and subscriptions only over a websocket (over
HTTP a subscription would run as a query and fail with a null root).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
    get_named_type,
    get_operation_ast,
    value_from_ast,
)
from graphql.validation import ASTValidationRule, NoSchemaIntrospectionCustomRule
from strawberry.extensions import MaxAliasesLimiter, QueryDepthLimiter, SchemaExtension

from assetcore.config import GatewayLimits

TOO_COMPLEX = "QUERY_TOO_COMPLEX"
INTROSPECTION_DISABLED = "INTROSPECTION_DISABLED"
SUBSCRIPTION_OVER_HTTP = "SUBSCRIPTION_OVER_HTTP"
# graphql-core's parser stops at max_tokens with a syntax error; this is how it reads.
_TOO_MANY_TOKENS = re.compile(r"Document contains more than \d+ tokens")


def limit_code(error: GraphQLError) -> str | None:
    """The code of a limit error raised without one (the parser's token limit), else None."""
    return TOO_COMPLEX if _TOO_MANY_TOKENS.search(error.message) else None


class _CodingContext:
    """A ValidationContext whose reported errors get `code` (other attributes pass through)."""

    def __init__(self, context: ValidationContext, code: str) -> None:
        self._context = context
        self._code = code

    def report_error(self, error: GraphQLError) -> None:
        error.extensions = {**(error.extensions or {}), "code": self._code}
        self._context.report_error(error)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._context, name)


def coded(rule: type[ASTValidationRule], code: str) -> type[ASTValidationRule]:
    """`rule` with `code` on every error it reports."""

    class Coded(rule):  # type: ignore[valid-type, misc]  # a class made at run time
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(_CodingContext(context, code))

    Coded.__name__ = f"Coded{rule.__name__}"
    return Coded


class SubscriptionOverHttp(ValidationRule):
    def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
        if node.operation == OperationType.SUBSCRIPTION:
            self.report_error(
                GraphQLError(
                    "subscriptions run over a websocket (graphql-transport-ws) at /graphql, not over HTTP",
                    node,
                    extensions={"code": SUBSCRIPTION_OVER_HTTP},
                )
            )


def list_cost(
    schema: GraphQLSchema, document: DocumentNode, operation_name: str | None, variables: Mapping[str, Any]
) -> int:
    """Σ over the operation's paginated fields (those taking `first`) of the product of the page
    sizes along their path: what the answer may hold at most, in list items."""
    operation = get_operation_ast(document, operation_name)
    root = schema.get_root_type(operation.operation) if operation is not None else None
    if operation is None or root is None:
        return 0
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    return _CostWalk(schema, fragments, variables).cost(operation.selection_set, root, 1, frozenset())


class _CostWalk:
    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: Mapping[str, FragmentDefinitionNode],
        variables: Mapping[str, Any],
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = dict(variables)

    def cost(self, selections: SelectionSetNode, parent: Any, multiplier: int, seen: frozenset[str]) -> int:
        total = 0
        for selection in selections.selections:
            if isinstance(selection, FieldNode):
                total += self._field(selection, parent, multiplier, seen)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                inner = self.schema.get_type(condition.name.value) if condition else parent
                total += self.cost(selection.selection_set, inner, multiplier, seen)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if fragment is not None and name not in seen:
                    inner = self.schema.get_type(fragment.type_condition.name.value)
                    total += self.cost(fragment.selection_set, inner, multiplier, seen | {name})
        return total

    def _field(self, node: FieldNode, parent: Any, multiplier: int, seen: frozenset[str]) -> int:
        if not isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
            return 0
        field = parent.fields.get(node.name.value)
        if field is None:
            return 0
        total = 0
        if "first" in field.args:
            multiplier *= self._page_size(node, field.args["first"])
            total += multiplier
        if node.selection_set is not None:
            total += self.cost(node.selection_set, get_named_type(field.type), multiplier, seen)
        return total

    def _page_size(self, node: FieldNode, argument: Any) -> int:
        given = next((a.value for a in node.arguments or () if a.name.value == "first"), None)
        if given is None:
            value = argument.default_value
        else:
            value = value_from_ast(given, argument.type, self.variables)
        return value if isinstance(value, int) and value > 0 else 0


def cost_rule(
    max_cost: int, operation_name: str | None, variables: Mapping[str, Any]
) -> type[ValidationRule]:
    class ListCost(ValidationRule):
        def enter_document(self, node: DocumentNode, *_: Any) -> None:
            cost = list_cost(self.context.schema, node, operation_name, variables)
            if cost > max_cost:
                self.report_error(
                    GraphQLError(
                        f"the operation may return {cost} list items; the limit is {max_cost}"
                        " (the product of `first` along each paginated field's path, summed)",
                        extensions={"code": TOO_COMPLEX},
                    )
                )

    return ListCost


class RequestLimits(SchemaExtension):
    """Installs the limits' rules on each operation (made by `request_limits`)."""

    def __init__(self, limits: GatewayLimits, rules: Sequence[type[ASTValidationRule]]) -> None:
        self.limits = limits
        self.rules = tuple(rules)

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context
        context.parse_options["max_tokens"] = self.limits.max_tokens
        rules = [
            *self.rules,
            cost_rule(self.limits.max_list_cost, context.operation_name, context.variables or {}),
        ]
        if not isinstance(context.context, dict):  # HTTP: websocket contexts are dicts (gateway/app.py)
            rules.append(SubscriptionOverHttp)
        context.validation_rules = (*context.validation_rules, *rules)
        yield


def request_limits(limits: GatewayLimits) -> Callable[[], RequestLimits]:
    """The schema extension factory enforcing `limits` (strawberry makes one per operation)."""
    rules = [
        coded(QueryDepthLimiter(max_depth=limits.max_depth).validation_rules[0], TOO_COMPLEX),
        coded(MaxAliasesLimiter(limits.max_aliases).validation_rules[0], TOO_COMPLEX),
    ]
    if not limits.introspection:
        rules.append(coded(NoSchemaIntrospectionCustomRule, INTROSPECTION_DISABLED))
    return lambda: RequestLimits(limits, rules)
