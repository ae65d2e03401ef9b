"""Errors refused before GraphQL runs (body too large, not a JSON object, wrong method), in the
envelope GraphQL errors use: `{"errors": [{"message": ..., "extensions": {"code": ...}}]}`.

strawberry answers these as plain text; the gateway answers them like every other error, so a
client reads one shape, and a well-formed response keeps the keep-alive connection usable.
"""

from __future__ import annotations

from cross_web import HTTPException  # what strawberry raises to refuse a request
from starlette.responses import JSONResponse

# HTTP statuses strawberry refuses requests with -> the code clients see.
CODES = {400: "BAD_REQUEST", 404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED", 413: "PAYLOAD_TOO_LARGE"}


class RequestRefused(HTTPException):
    """An HTTP-level refusal with its own code (strawberry's own ones get theirs from CODES)."""

    def __init__(self, status_code: int, code: str, reason: str) -> None:
        super().__init__(status_code, reason)
        self.code = code


def error_response(status_code: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"errors": [{"message": message, "extensions": {"code": code}}]}, status_code)


def refusal_response(error: HTTPException) -> JSONResponse:
    code = getattr(error, "code", None) or CODES.get(error.status_code, "BAD_REQUEST")
    return error_response(error.status_code, code, str(error.reason))
