"""Record ids: a type prefix and a time-ordered random part (ULID-style, Crockford base32).

Time order makes ids usable as pagination cursors; the prefix makes a job id pasted where a
step id belongs a clear input error instead of a silent miss.
"""

from __future__ import annotations

import os
import re
import time

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
_BODY = re.compile(r"^[0-9a-hjkmnp-tv-z]{26}$")
PREFIXES = frozenset({"job", "stp", "att", "ast", "ten", "prj", "key", "evt", "mbr"})


def _encode(value: int, length: int) -> str:
    chars = []
    for _ in range(length):
        value, digit = divmod(value, 32)
        chars.append(_ALPHABET[digit])
    return "".join(reversed(chars))


def new_id(prefix: str) -> str:
    """`<prefix>_` + 10 chars of milliseconds + 16 chars of randomness."""
    if prefix not in PREFIXES:
        raise ValueError(f"unknown id prefix {prefix!r}")
    millis = int(time.time() * 1000)
    return f"{prefix}_{_encode(millis, 10)}{_encode(int.from_bytes(os.urandom(10), 'big'), 16)}"


def is_valid_id(prefix: str, value: str) -> bool:
    head, sep, body = value.partition("_")
    return sep == "_" and head == prefix and bool(_BODY.match(body))
