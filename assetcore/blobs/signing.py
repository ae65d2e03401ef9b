"""HMAC-signed, expiring file URLs for the local profile (the gateway serves /files/<key>).

A URL is `<base>/files/<key>?exp=<unix seconds>&sig=<hex>`, where sig is
HMAC-SHA256(secret, "<key>\\n<exp>"). Anyone holding the URL may download until it expires,
like an S3 presigned or CloudFront signed URL; without it, the key alone gets nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from urllib.parse import quote


class UrlSigner:
    def __init__(self, secret: str, base_url: str | None = None) -> None:
        """`base_url` pins the URL prefix; without it URLs use the base each request came in on."""
        self._secret = secret.encode()
        self._base_url = base_url.rstrip("/") if base_url else None

    def _signature(self, key: str, expires: int) -> str:
        return hmac.new(self._secret, f"{key}\n{expires}".encode(), hashlib.sha256).hexdigest()

    def sign(self, key: str, ttl_s: int, base_url: str = "") -> str:
        expires = int(time.time()) + ttl_s
        base = self._base_url or base_url.rstrip("/")
        return f"{base}/files/{quote(key)}?exp={expires}&sig={self._signature(key, expires)}"

    def verify(self, key: str, expires: str, signature: str) -> bool:
        """True when the signature matches and the URL has not expired."""
        try:
            expires_at = int(expires)
        except ValueError:
            return False
        if expires_at < time.time():
            return False
        return hmac.compare_digest(self._signature(key, expires_at), signature)
