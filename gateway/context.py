"""Per-request context: the caller's API key, the orchestrator client, URL signing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from strawberry.types import Info

from assetcore.adapters import Signer
from assetcore.errors import Unauthenticated
from assetcore.rpc.client import OrchestratorApi
from gateway.subscriptions import SubscriptionSlots


@dataclass
class Gateway:
    """What the app's lifespan owns and every request shares."""

    api: OrchestratorApi
    signer: Signer
    url_ttl_s: int
    subscriptions: SubscriptionSlots


@dataclass
class RequestContext:
    gateway: Gateway
    headers: dict[str, str]
    base_url: str
    connection_params: dict[str, Any] | None = None

    @property
    def api(self) -> OrchestratorApi:
        return self.gateway.api

    def sign(self, blob_key: str) -> str:
        return self.gateway.signer.sign(blob_key, self.gateway.url_ttl_s, self.base_url)

    def api_key(self) -> str:
        """From `Authorization: Bearer <key>` / `X-API-Key`, or the websocket's connection_init payload."""
        sources: list[dict[str, Any]] = [self.headers]
        if self.connection_params:
            sources.insert(0, {k.lower(): v for k, v in self.connection_params.items()})
        for source in sources:
            auth = source.get("authorization")
            if isinstance(auth, str) and auth.startswith("Bearer ") and auth[7:].strip():
                return auth[7:].strip()
            key = source.get("x-api-key")
            if isinstance(key, str) and key.strip():
                return key.strip()
        raise Unauthenticated("missing API key (Authorization: Bearer <key>)")


def context_of(info: Info) -> RequestContext:
    context = info.context
    if isinstance(context, dict):  # subscriptions: strawberry stores connection params on a dict context
        ctx: RequestContext = context["ctx"]
        ctx.connection_params = context.get("connection_params")
        return ctx
    return context  # type: ignore[no-any-return]
