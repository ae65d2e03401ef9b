"""ApiError <-> gRPC status with google.rpc details (ErrorInfo for the code, BadRequest for the field)."""

from __future__ import annotations

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from assetcore.errors import BY_GRPC_CODE, ApiError

DOMAIN = "assetcore.dev"


def to_status(error: ApiError) -> grpc.Status:
    details = []
    info = any_pb2.Any()
    info.Pack(error_details_pb2.ErrorInfo(reason=error.code, domain=DOMAIN))
    details.append(info)
    if error.field:
        bad = any_pb2.Any()
        bad.Pack(
            error_details_pb2.BadRequest(
                field_violations=[
                    error_details_pb2.BadRequest.FieldViolation(field=error.field, description=error.message)
                ]
            )
        )
        details.append(bad)
    status = status_pb2.Status(code=error.grpc_code.value[0], message=error.message, details=details)
    return rpc_status.to_status(status)


def from_rpc_error(error: grpc.aio.AioRpcError) -> ApiError:
    """The ApiError a failed call carried (UNAVAILABLE and unknown statuses map to their classes too)."""
    cls = BY_GRPC_CODE.get(error.code(), ApiError)
    code, field = None, ""
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
    if cls is ApiError and code is None:
        code = code_pb2.Code.Name(error.code().value[0])
    return cls(error.details() or error.code().name, field=field, code=code)
