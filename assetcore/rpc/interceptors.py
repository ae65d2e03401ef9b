"""Server interceptors: authentication, authorization and error-to-status mapping, in one place.

A service declares once, in a table, what each of its methods requires (a role, or "worker");
`AuthInterceptor` authenticates the call's bearer token, checks the requirement and hands the
principal to the handler (`current_principal`). Handlers raise ApiError (or let a database
error escape); `ErrorStatusInterceptor` turns whatever escapes into a gRPC status with
details (assetcore/rpc/status.py). Both wrap unary and server-streaming methods alike.

Install them outermost first: `[ErrorStatusInterceptor(...), AuthInterceptor(...)]`.
Services not named (gRPC health, reflection) pass through untouched. A protected service's
method missing from the table is refused at construction (and, should one slip through, per
call): a new method is never accidentally open.
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from contextvars import ContextVar
from typing import Any, Generic, Protocol, TypeVar

import grpc
from google.protobuf.descriptor import ServiceDescriptor

from assetcore.errors import PermissionDenied
from assetcore.rpc.channel import token_from_metadata
from assetcore.rpc.status import to_api_error, to_status

P = TypeVar("P")
Unary = Callable[[Any, Any], Awaitable[Any]]  # (request, grpc.aio.ServicerContext) -> response
Streaming = Callable[[Any, Any], Any]  # -> an async iterator of responses (or a coroutine using write)

_PRINCIPAL: ContextVar[object | None] = ContextVar("assetcore_rpc_principal", default=None)


def current_principal(kind: type[P]) -> P:
    """The principal AuthInterceptor authenticated for the call being handled."""
    principal = _PRINCIPAL.get()
    if not isinstance(principal, kind):
        # Fail closed: a handler served without the interceptor must not run unauthenticated.
        raise RuntimeError(f"no authenticated {kind.__name__} for this call (is AuthInterceptor installed?)")
    return principal


class Authenticator(Protocol[P]):
    async def authenticate(self, token: str | None) -> P:
        """The principal of a bearer token; raises Unauthenticated."""

    def authorize(self, principal: P, requirement: str) -> None:
        """Raises PermissionDenied unless the principal meets the requirement."""


def method_roles(service: ServiceDescriptor, roles: Mapping[str, str]) -> dict[str, str]:
    """The requirement of each method of `service` by full path (/package.Service/Method).

    `roles` maps method names to requirements and must name every method, and only those.
    """
    names = {m.name for m in service.methods}
    missing, unknown = names - set(roles), set(roles) - names
    if missing or unknown:
        raise ValueError(
            f"role table of {service.full_name}: missing {sorted(missing)}, unknown {sorted(unknown)}"
        )
    return {f"/{service.full_name}/{name}": role for name, role in roles.items()}


def _service_of(method: str) -> str:
    return method.split("/")[1] if method.count("/") == 2 else ""


async def _abort(context: Any, exc: BaseException) -> None:
    await context.abort_with_status(to_status(to_api_error(exc)))


async def _responses(result: Any) -> AsyncIterator[Any]:
    """Responses of a server-streaming behaviour: an async generator, or a coroutine that writes."""
    if inspect.isawaitable(result):
        await result
        return
    if hasattr(result, "aclose"):
        async with contextlib.aclosing(result) as items:
            async for item in items:
                yield item
        return
    async for item in result:
        yield item


def _rewrap(
    handler: Any, unary: Callable[[Unary], Unary], streaming: Callable[[Streaming], Streaming]
) -> Any:
    """The handler with its unary-unary or unary-stream behaviour wrapped (others unchanged)."""
    if handler is None or handler.request_streaming:
        return handler
    if handler.response_streaming:
        return grpc.unary_stream_rpc_method_handler(
            streaming(handler.unary_stream),
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )
    return grpc.unary_unary_rpc_method_handler(
        unary(handler.unary_unary),
        request_deserializer=handler.request_deserializer,
        response_serializer=handler.response_serializer,
    )


class ErrorStatusInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[misc]  # grpc is untyped
    """Errors escaping the handlers of `services` → statuses with ErrorInfo/BadRequest details."""

    def __init__(self, services: Iterable[str]) -> None:
        self._services = frozenset(services)

    async def intercept_service(
        self, continuation: Callable[[Any], Awaitable[Any]], handler_call_details: Any
    ) -> Any:
        handler = await continuation(handler_call_details)
        if _service_of(handler_call_details.method) not in self._services:
            return handler
        return _rewrap(handler, self._unary, self._streaming)

    @staticmethod
    def _unary(behavior: Unary) -> Unary:
        async def mapped(request: Any, context: Any) -> Any:
            try:
                return await behavior(request, context)
            except grpc.aio.AbortError:
                raise  # the handler set its own status
            except Exception as exc:
                await _abort(context, exc)

        return mapped

    @staticmethod
    def _streaming(behavior: Streaming) -> Streaming:
        async def mapped(request: Any, context: Any) -> AsyncIterator[Any]:
            try:
                async for response in _responses(behavior(request, context)):
                    yield response
            except grpc.aio.AbortError:
                raise
            except Exception as exc:
                await _abort(context, exc)

        return mapped


class AuthInterceptor(grpc.aio.ServerInterceptor, Generic[P]):  # type: ignore[misc]
    """Authenticates and authorizes calls to the services in `roles` (see `method_roles`)."""

    def __init__(self, authenticator: Authenticator[P], roles: Mapping[str, str]) -> None:
        self._auth = authenticator
        self._roles = dict(roles)
        self._services = frozenset(_service_of(method) for method in roles)

    async def intercept_service(
        self, continuation: Callable[[Any], Awaitable[Any]], handler_call_details: Any
    ) -> Any:
        method = handler_call_details.method
        handler = await continuation(handler_call_details)
        if _service_of(method) not in self._services:
            return handler
        role = self._roles.get(method)
        token = token_from_metadata(handler_call_details.invocation_metadata)
        return _rewrap(handler, self._unary(role, token), self._streaming(role, token))

    async def _authenticated(self, role: str | None, token: str | None, context: Any) -> P:
        try:
            principal = await self._auth.authenticate(token)
            if role is None:
                raise PermissionDenied("this method is not open to any caller")
            self._auth.authorize(principal, role)
            return principal
        except Exception as exc:
            await _abort(context, exc)
            raise  # unreachable: abort raises

    def _unary(self, role: str | None, token: str | None) -> Callable[[Unary], Unary]:
        def wrap(behavior: Unary) -> Unary:
            async def authenticated(request: Any, context: Any) -> Any:
                principal = await self._authenticated(role, token, context)
                reset = _PRINCIPAL.set(principal)
                try:
                    return await behavior(request, context)
                finally:
                    _PRINCIPAL.reset(reset)

            return authenticated

        return wrap

    def _streaming(self, role: str | None, token: str | None) -> Callable[[Streaming], Streaming]:
        def wrap(behavior: Streaming) -> Streaming:
            async def authenticated(request: Any, context: Any) -> AsyncIterator[Any]:
                principal = await self._authenticated(role, token, context)
                reset = _PRINCIPAL.set(principal)
                try:
                    async for response in _responses(behavior(request, context)):
                        yield response
                finally:
                    with contextlib.suppress(ValueError):  # finalized in another context
                        _PRINCIPAL.reset(reset)

            return authenticated

        return wrap
