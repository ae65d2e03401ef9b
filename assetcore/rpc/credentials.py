"""Worker credentials: tokens derived from the internal secret, scoped to one tenant or to all.

Format: `wkr1.<scope>.<mac>`, where scope is a tenant id or `*` (every tenant) and mac is
base64url(HMAC-SHA256(internal secret, "assetcore/worker/v1\\n" + scope)) without padding.

- The step workers present `wkr1.*.<mac>` to the orchestrator: its worker methods
  (StartStep, CompleteStep, ...) act on any tenant's steps, so they need the all-tenant scope.
- A direct StepService.Run call (a canary, an internal tool) presents a credential; the
  tenant the step reads and writes under is the credential's when it is scoped, and must be
  named by the task only under `*`. Input blobs must lie in that tenant's prefix.
- Only holders of the internal secret can mint tokens (`mint_worker_token`); a token does not
  reveal the secret, and a tenant-scoped one cannot be widened. Rotating the secret revokes
  every token.
- The raw internal secret is still accepted as the all-tenant credential (`accept_raw`), so
  workers of the previous release keep working through a rolling deploy.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass
from functools import lru_cache

from assetcore.errors import InvalidArgument, PermissionDenied, Unauthenticated

VERSION = "wkr1"
ALL_TENANTS = "*"
_TENANT = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_CONTEXT = b"assetcore/worker/v1\n"


def is_tenant_id(value: str) -> bool:
    """A tenant id that is safe inside blob keys and tokens (no separators)."""
    return bool(_TENANT.match(value))


@lru_cache(maxsize=1024)
def _mac(secret: str, scope: str) -> str:
    """The scope's signature (memoized: every worker call is verified, by few scopes)."""
    digest = hmac.new(secret.encode(), _CONTEXT + scope.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def mint_worker_token(secret: str, tenant: str = ALL_TENANTS) -> str:
    """A worker credential for `tenant` (or every tenant), signed with the internal secret."""
    if not secret:
        raise ValueError("the internal secret is empty")
    if tenant != ALL_TENANTS and not is_tenant_id(tenant):
        raise ValueError(f"not a tenant id: {tenant[:80]!r}")
    return f"{VERSION}.{tenant}.{_mac(secret, tenant)}"


@dataclass(frozen=True)
class WorkerScope:
    """An authenticated worker credential: the tenant it may act for, or every tenant."""

    tenant: str

    @property
    def all_tenants(self) -> bool:
        return self.tenant == ALL_TENANTS

    def tenant_for(self, requested: str, field: str = "task.tenant_id") -> str:
        """The tenant a call acts for: the scope's own, or (all-tenant scope) the one requested."""
        if self.all_tenants:
            if not requested:
                raise InvalidArgument("name the tenant to act for", field=field)
            if not is_tenant_id(requested):
                raise InvalidArgument("malformed tenant id", field=field)
            return requested
        if requested and requested != self.tenant:
            raise PermissionDenied("the worker credential is scoped to another tenant", field=field)
        return self.tenant


def verify_worker_token(secret: str, token: str, *, accept_raw: bool = True) -> WorkerScope | None:
    """The scope of a worker credential; None when `token` is not one (e.g. an API key).

    Raises Unauthenticated for a token in the worker format whose signature does not match.
    """
    if accept_raw and secret and hmac.compare_digest(token.encode(), secret.encode()):
        return WorkerScope(ALL_TENANTS)
    if not token.startswith(VERSION + "."):
        return None
    parts = token.split(".")
    if len(parts) != 3:
        raise Unauthenticated("malformed worker credential")
    _, scope, mac = parts
    if scope != ALL_TENANTS and not is_tenant_id(scope):
        raise Unauthenticated("malformed worker credential")
    if not secret or not hmac.compare_digest(mac.encode(), _mac(secret, scope).encode()):
        raise Unauthenticated("invalid worker credential")
    return WorkerScope(scope)


class WorkerAuthenticator:
    """Authentication of services that only workers call (StepService): worker credentials only."""

    def __init__(self, secret: str) -> None:
        self._secret = secret

    async def authenticate(self, token: str | None) -> WorkerScope:
        if not token:
            raise Unauthenticated("missing worker credential (authorization: Bearer wkr1...)")
        scope = verify_worker_token(self._secret, token)
        if scope is None:
            raise Unauthenticated("this service accepts worker credentials only")
        return scope

    def authorize(self, principal: WorkerScope, requirement: str) -> None:
        if requirement != "worker":
            raise PermissionDenied(f"unknown requirement {requirement!r}")
