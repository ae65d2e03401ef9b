"""GET /files/<key>: blob downloads by HMAC-signed, expiring URL (local profile).

A missing, expired or wrong signature and a missing blob all answer 404 alike, so a URL
never reveals whether another tenant's key exists.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from assetcore.blobs.base import BlobNotFound, BlobStore, BlobStoreError, media_type_for
from assetcore.blobs.signing import UrlSigner


def file_route(signer: UrlSigner, blobs: BlobStore):  # type: ignore[no-untyped-def]
    async def download(request: Request) -> Response:
        key = request.path_params["key"]
        expires = request.query_params.get("exp", "")
        signature = request.query_params.get("sig", "")
        if not signer.verify(key, expires, signature):
            return PlainTextResponse("not found", status_code=404)
        try:
            data = await blobs.get(key)
        except (BlobNotFound, BlobStoreError):
            return PlainTextResponse("not found", status_code=404)
        filename = key.rsplit("/", 1)[-1]
        return Response(
            data,
            media_type=media_type_for(key),
            headers={
                "Content-Disposition": f'attachment; filename="{filename}"',
                "Cache-Control": "private, max-age=3600",
            },
        )

    return download
