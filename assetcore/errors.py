"""API errors shared by the orchestrator (raises), gRPC (carries) and the gateway (shows).

Each error has a stable string code; input errors name the offending field by its path
(e.g. `input.prompt.concept`). On the wire they are gRPC statuses with google.rpc
ErrorInfo (the code) and BadRequest (the field) details.
"""

from __future__ import annotations

import grpc


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
