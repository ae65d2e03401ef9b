"""ApiError <-> gRPC status with google.rpc details (ErrorInfo for the code, BadRequest for the field,
RetryInfo for when a RateLimited call may be retried).

Everything a status carries travels in response trailers (grpc-message, grpc-status-details-bin),
and gRPC limits the size of metadata (8 KiB by default): an error that echoed a huge request
value would overflow it and reach the client as a broken stream instead of the error. So the
message and the field are bounded here, in the one place every server error passes through,
and a quoted value in the message keeps only its first characters (assetcore.errors.shorten_quotes).
"""

from __future__ import annotations

import logging

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from assetcore.errors import BY_GRPC_CODE, ApiError, RateLimited, Unavailable, shorten_quotes

log = logging.getLogger(__name__)
DOMAIN = "assetcore.dev"
MAX_MESSAGE_BYTES = 400  # UTF-8 bytes of grpc-message (percent-encoded on the wire: up to 3x)
MAX_FIELD_BYTES = 200


def bounded(text: str, limit: int) -> str:
    """`text` cut to at most `limit` UTF-8 bytes (ending in an ellipsis when cut)."""
    data = text.encode()
    if len(data) <= limit:
        return text
    return data[: max(0, limit - 3)].decode(errors="ignore") + "\u2026"


def to_api_error(exc: BaseException) -> ApiError:
    """The ApiError a server shows for an exception raised while handling a call.

    ApiErrors are shown as they are; an unreachable or exhausted job store is UNAVAILABLE (the
    client retries); anything else is a bug: logged with its traceback, shown as INTERNAL
    without details.
    """
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, OperationalError | PoolTimeout):
        log.warning("database unavailable: %s", getattr(exc, "orig", None) or exc)
        return Unavailable("the job store is busy or unreachable; retry")
    log.error("unexpected error handling a call", exc_info=exc)
    return ApiError("internal error")


def to_status(error: ApiError) -> grpc.Status:
    message = bounded(shorten_quotes(error.message), MAX_MESSAGE_BYTES)
    details = []
    info = any_pb2.Any()
    info.Pack(error_details_pb2.ErrorInfo(reason=bounded(error.code, MAX_FIELD_BYTES), domain=DOMAIN))
    details.append(info)
    if error.field:
        bad = any_pb2.Any()
        bad.Pack(
            error_details_pb2.BadRequest(
                field_violations=[
                    error_details_pb2.BadRequest.FieldViolation(
                        field=bounded(error.field, MAX_FIELD_BYTES), description=message
                    )
                ]
            )
        )
        details.append(bad)
    if isinstance(error, RateLimited):
        retry = any_pb2.Any()
        delay = duration_pb2.Duration()
        delay.FromNanoseconds(round(error.retry_after_s * 1e9))
        retry.Pack(error_details_pb2.RetryInfo(retry_delay=delay))
        details.append(retry)
    status = status_pb2.Status(code=error.grpc_code.value[0], message=message, details=details)
    return rpc_status.to_status(status)


def from_rpc_error(error: grpc.aio.AioRpcError) -> ApiError:
    """The ApiError a failed call carried (UNAVAILABLE and unknown statuses map to their classes too)."""
    cls = BY_GRPC_CODE.get(error.code(), ApiError)
    code, field, retry_after_s = None, "", None
    status = rpc_status.from_call(error)
    if status is not None:
        for detail in status.details:
            if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
                info = error_details_pb2.ErrorInfo()
                detail.Unpack(info)
                code = info.reason
            elif detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
                bad = error_details_pb2.BadRequest()
                detail.Unpack(bad)
                if bad.field_violations:
                    field = bad.field_violations[0].field
            elif detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
                retry = error_details_pb2.RetryInfo()
                detail.Unpack(retry)
                retry_after_s = retry.retry_delay.ToNanoseconds() / 1e9
    if retry_after_s is not None:
        return RateLimited(
            error.details() or "rate limited", retry_after_s=retry_after_s, field=field, code=code
        )
    if cls is ApiError and code is None:
        code = code_pb2.Code.Name(error.code().value[0])
    return cls(error.details() or error.code().name, field=field, code=code)
