"""The CDK app: `cdk synth` / `cdk deploy` in deploy/ (cdk.json runs `python -m deploy.app`).

Stacks are environment-agnostic (no account or region at synth), so synth works offline.
Context knobs (-c key=value) are listed in deploy/stacks/topology.py and docs/deploy.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import aws_cdk as cdk

from deploy.stacks.compute import ComputeStack
from deploy.stacks.data import DataStack
from deploy.stacks.image import ImageStack
from deploy.stacks.network import NetworkStack
from deploy.stacks.topology import DeployConfig

# Cross-stack references keep the producer's export until the consumer drops it.
DEFAULT_CONTEXT = {"@aws-cdk/core:defaultCrossStackReferences": "strong"}


def build_app(context: Mapping[str, Any] | None = None, outdir: str | None = None) -> cdk.App:
    app = cdk.App(context={**DEFAULT_CONTEXT, **(context or {})}, outdir=outdir)
    config = DeployConfig.from_context(app)
    network = NetworkStack(app, "AssetCoreNetwork", nat_gateways=config.nat_gateways)
    data = DataStack(app, "AssetCoreData", vpc=network.vpc, config=config)
    ImageStack(app, "AssetCoreImage", vpc=network.vpc, data=data, config=config)
    ComputeStack(app, "AssetCoreCompute", vpc=network.vpc, data=data, config=config)
    cdk.Tags.of(app).add("project", config.prefix)
    return app


if __name__ == "__main__":
    build_app().synth()
