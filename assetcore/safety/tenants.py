"""Each tenant's prompt policy, built once from settings (tenant lists live in settings for now)."""

from __future__ import annotations

from collections.abc import Sequence

from assetcore.config import SafetySettings, TenantSafety
from assetcore.safety.policy import Category, PromptPolicy, default_table


class PolicyBook:
    """The policies of every configured tenant and the default one, built (and so checked) up front."""

    def __init__(
        self, safety: SafetySettings, deployment_deny_terms: Sequence[str], table: Sequence[Category] = ()
    ) -> None:
        categories = table or default_table()

        def build(tenant: TenantSafety) -> PromptPolicy:
            return PromptPolicy(
                categories,
                allow_terms=tenant.allow_terms,
                allow_categories=tenant.allow_categories,
                deny_terms=tenant.deny_terms,
                deployment_deny_terms=deployment_deny_terms,
            )

        self._default = build(TenantSafety())
        self._tenants = {tenant_id: build(lists) for tenant_id, lists in safety.tenants.items()}

    def for_tenant(self, tenant_id: str) -> PromptPolicy:
        return self._tenants.get(tenant_id, self._default)
