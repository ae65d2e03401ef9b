"""Page tokens of the list calls: the last id of a page, opaque to clients."""

from __future__ import annotations

import base64

from assetcore.errors import InvalidArgument
from assetcore.ids import is_valid_id

MAX_PAGE = 100


def encode_token(value: str) -> str:
    return base64.urlsafe_b64encode(value.encode()).decode()


def decode_token(token: str, prefix: str) -> str:
    """The id in a page token; InvalidArgument (field page_token) unless it is an id of `prefix`."""
    try:
        value = base64.urlsafe_b64decode(token.encode()).decode()
    except (ValueError, UnicodeDecodeError):
        value = ""
    if not is_valid_id(prefix, value):
        raise InvalidArgument("malformed page token", field="page_token")
    return value
