"""How many jobEvents streams each API key has open on this gateway, and the cap on them.

Per process: behind N gateway replicas a key may hold N times the cap. Keys are held as
digests, never in the clear.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

from assetcore.errors import ResourceExhausted


class SubscriptionSlots:
    def __init__(self, per_key: int) -> None:
        self.per_key = per_key
        self._open: Counter[str] = Counter()

    @contextmanager
    def hold(self, api_key: str) -> Iterator[None]:
        """One slot of `api_key` while the block runs; QUOTA_EXCEEDED when all are taken."""
        digest = hashlib.sha256(api_key.encode()).hexdigest()
        if self._open[digest] >= self.per_key:
            raise ResourceExhausted(
                f"this key has {self._open[digest]} subscriptions open; the limit is {self.per_key}"
                " (gateway_limits.max_subscriptions_per_key)"
            )
        self._open[digest] += 1
        try:
            yield
        finally:
            self._open[digest] -= 1
            if not self._open[digest]:
                del self._open[digest]
