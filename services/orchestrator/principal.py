"""Who calls: a member of a tenant's project with a role, or a step worker (the internal service token)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Principal:
    tenant_id: str
    project_id: str
    role: str
    key_id: str
    member_id: str = ""
    user_id: str = ""
    tenant_admin: bool = False  # admin of the tenant: manages its projects, admin on each of them

    @property
    def is_worker(self) -> bool:
        return self.role == "worker"
