"""What the deployment's step workers offer, as they registered it (RegisterWorker).

A worker registers once its backend has loaded: its step, backend, version and the features
available where it runs (FBX only where bpy is installed). The latest registration of each
(step, backend) wins. CreateJob reads the offers (cached for a few seconds) to refuse a job
that needs what no worker of a step offers. A step no worker has registered for yet (scaled
to zero, just deployed) is not checked: its worker still refuses the task with a typed error.
"""

from __future__ import annotations

import json
import time

from sqlalchemy import Connection, delete, insert, select

from assetcore.db.database import Database
from assetcore.db.schema import worker_offers
from assetcore.errors import InvalidArgument
from assetcore.proto.v1 import orchestrator_pb2
from services.orchestrator.validation import Offer

CACHE_TTL_S = 5.0
MAX_FEATURES = 64


class OfferBook:
    def __init__(self, db: Database, ttl_s: float = CACHE_TTL_S) -> None:
        self._db = db
        self._ttl_s = ttl_s
        self._cached: dict[str, Offer] | None = None
        self._expires = 0.0

    async def register(self, request: orchestrator_pb2.RegisterWorkerRequest) -> None:
        if not request.step or not request.backend:
            raise InvalidArgument("step and backend are required", field="step")
        if len(request.features) > MAX_FEATURES:
            raise InvalidArgument(f"more than {MAX_FEATURES} features", field="features")
        row = {
            "step": request.step[:40],
            "backend": request.backend[:60],
            "version": request.backend_version[:120],
            "features": json.dumps(sorted({f[:60] for f in request.features})),
            "worker_id": request.worker_id[:200],
            "registered_at": time.time(),
        }

        def upsert(conn: Connection) -> None:
            conn.execute(
                delete(worker_offers).where(
                    worker_offers.c.step == row["step"], worker_offers.c.backend == row["backend"]
                )
            )
            conn.execute(insert(worker_offers), row)

        await self._db.write(upsert)
        self._cached = None

    async def current(self) -> dict[str, Offer]:
        now = time.monotonic()
        if self._cached is None or now >= self._expires:
            rows = await self._db.read(lambda conn: conn.execute(select(worker_offers)).all())
            backends: dict[str, list[str]] = {}
            features: dict[str, set[str]] = {}
            for row in rows:
                backends.setdefault(row.step, []).append(row.backend)
                features.setdefault(row.step, set()).update(json.loads(row.features))
            self._cached = {
                step: Offer(tuple(sorted(names)), frozenset(features[step]))
                for step, names in backends.items()
            }
            self._expires = now + self._ttl_s
        return self._cached
