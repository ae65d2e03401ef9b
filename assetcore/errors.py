"""API errors shared by the orchestrator (raises), gRPC (carries) and the gateway (shows).

Each error has a stable string code; input errors name the offending field by its path
(e.g. `input.prompt.concept`). On the wire they are gRPC statuses with google.rpc
ErrorInfo (the code) and BadRequest (the field) details.
"""

from __future__ import annotations

import re

import grpc

ECHO_CHARS = 64  # how much of a caller's value an error message may quote
_LONG_QUOTE = re.compile(rf"(['\"])([^'\"\n]{{{ECHO_CHARS}}})[^'\"\n]+\1")


def excerpt(value: str) -> str:
    """A caller's value as an error message may quote it: its first ECHO_CHARS characters, then "…"."""
    return value if len(value) <= ECHO_CHARS else value[:ECHO_CHARS] + "\u2026"


def shorten_quotes(message: str) -> str:
    """The message with every quoted run longer than ECHO_CHARS cut like `excerpt` (for messages
    built by code that quotes input whole, such as graphql-core's)."""
    return _LONG_QUOTE.sub(lambda m: f"{m.group(1)}{m.group(2)}\u2026{m.group(1)}", message)


class ApiError(Exception):
    grpc_code = grpc.StatusCode.INTERNAL
    code = "INTERNAL"

    def __init__(self, message: str, *, field: str = "", code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        if code is not None:
            self.code = code

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


# Codes of InvalidArgument errors a client may act on (besides INVALID_ARGUMENT):
UNSUPPORTED_SUBJECT = "UNSUPPORTED_SUBJECT"  # the configured tti backend cannot draw the prompt's subject
SAFETY_REJECTED = "SAFETY_REJECTED"  # the content policy refuses the prompt (a flagged image, in a step)


class InvalidArgument(ApiError):
    grpc_code = grpc.StatusCode.INVALID_ARGUMENT
    code = "INVALID_ARGUMENT"


class NotFound(ApiError):
    grpc_code = grpc.StatusCode.NOT_FOUND
    code = "NOT_FOUND"


class Unauthenticated(ApiError):
    grpc_code = grpc.StatusCode.UNAUTHENTICATED
    code = "UNAUTHENTICATED"


class PermissionDenied(ApiError):
    grpc_code = grpc.StatusCode.PERMISSION_DENIED
    code = "PERMISSION_DENIED"


class FailedPrecondition(ApiError):
    grpc_code = grpc.StatusCode.FAILED_PRECONDITION
    code = "FAILED_PRECONDITION"


class ResourceExhausted(ApiError):
    grpc_code = grpc.StatusCode.RESOURCE_EXHAUSTED
    code = "QUOTA_EXCEEDED"


class RateLimited(ApiError):
    """Too many mutations from one API key or tenant; `retry_after_s`: when a token is back
    (a google.rpc.RetryInfo detail on the wire, `extensions.retryAfter` in GraphQL)."""

    grpc_code = grpc.StatusCode.RESOURCE_EXHAUSTED
    code = "RATE_LIMITED"

    def __init__(
        self, message: str, *, retry_after_s: float, field: str = "", code: str | None = None
    ) -> None:
        super().__init__(message, field=field, code=code)
        self.retry_after_s = retry_after_s


class Unavailable(ApiError):
    grpc_code = grpc.StatusCode.UNAVAILABLE
    code = "UNAVAILABLE"


BY_GRPC_CODE: dict[grpc.StatusCode, type[ApiError]] = {
    cls.grpc_code: cls
    for cls in (
        InvalidArgument,
        NotFound,
        Unauthenticated,
        PermissionDenied,
        FailedPrecondition,
        ResourceExhausted,
        Unavailable,
    )
}
