"""What runs where: per-step sizing and scaling targets, and the app's context knobs.

Everything an operator may change at `cdk synth/deploy -c key=value` is read here, once,
into a DeployConfig, so the stacks never read context themselves.
"""

from __future__ import annotations

from dataclasses import dataclass

import aws_cdk as cdk
from constructs import Construct

from assetcore.adapters import max_receives
from assetcore.config import Settings
from assetcore.steps.catalog import Catalog, load_catalog

GPU_INSTANCE_TYPES = ("g4dn.xlarge", "g4dn.2xlarge", "g4dn.4xlarge")  # one T4 each: Spot diversity
# What an ECS task may take on the smallest of them (4 vCPU, 16 GiB; the agent keeps some).
GPU_TASK_CPU = 3584
GPU_TASK_MEMORY_MIB = 12288

ORCHESTRATOR_PORT = 50051
STEP_PORT = 50052
GATEWAY_PORT = 8000
METRICS_PORT = 9100
MODEL_DIR = "/data/models"  # baked into the GPU AMI (deploy/ami), mounted read-only
# The ML backend each GPU step serves (ASSETCORE_BACKENDS__<STEP>; docs/models.md). Context
# `gpu_backends` overrides per step, e.g. image3d=triposr where Hunyuan3D-2's licence does not
# reach (it excludes the EU, the UK and South Korea).
GPU_BACKENDS = {
    "tti": "sdxl",
    "refine": "sdxl-img2img+esrgan",
    "multiview": "zero123pp",
    "image3d": "hunyuan3d",
}


@dataclass(frozen=True)
class StepSpec:
    """One step service, from the step's declaration (assetcore.steps.contract.Resources)."""

    name: str
    cpu: int  # Fargate CPU units when the step runs on CPU (1024 = 1 vCPU)
    memory_mib: int
    min_tasks: int
    max_tasks: int
    backlog_per_task: float  # the scaling target: messages waiting per running task
    interactive: bool  # taken before batch work; keeps a warm task and the warm GPU pool


def step_specs(catalog: Catalog) -> tuple[StepSpec, ...]:
    return tuple(
        StepSpec(
            name=step.name,
            cpu=step.resources.cpu,
            memory_mib=step.resources.memory_mib,
            min_tasks=step.resources.min_tasks,
            max_tasks=step.resources.max_tasks,
            backlog_per_task=step.resources.backlog_per_task,
            interactive=step.interactive,
        )
        for step in catalog.steps.values()
    )


STEPS = step_specs(load_catalog())
STEP_NAMES = tuple(spec.name for spec in STEPS)


@dataclass(frozen=True)
class DeployConfig:
    prefix: str  # names: queues `<prefix>-<step>`, the bus `<prefix>`, dashboards, log groups
    gpu_steps: frozenset[str]
    gpu_backends: dict[str, str]  # GPU step -> the backend it serves (GPU_BACKENDS, then context)
    gpu_on_demand_base: int  # On-Demand GPU instances under the Spot ones
    gpu_max_instances: int
    gpu_warm_pool: int  # stopped, pre-initialised On-Demand instances kept ready
    nat_gateways: int
    db_instance_type: str
    db_multi_az: bool
    certificate_arn: str | None  # HTTPS on the gateway's load balancer when set
    alarm_email: str | None
    max_receives: int  # SQS redrive: deliveries before a message goes to the DLQ

    @property
    def queue_prefix(self) -> str:
        return f"{self.prefix}-"

    @classmethod
    def from_context(cls, scope: Construct) -> DeployConfig:
        node = scope.node

        def get(key: str, default: str) -> str:
            value = node.try_get_context(key)
            return default if value is None else str(value)

        def number(key: str, default: int) -> int:
            raw = get(key, str(default))
            try:
                return int(raw)
            except ValueError:
                raise ValueError(f"context {key}={raw!r}: expected a whole number") from None

        gpu_steps = frozenset(
            s.strip() for s in get("gpu_steps", ",".join(GPU_BACKENDS)).split(",") if s.strip()
        )
        unknown = gpu_steps - set(STEP_NAMES)
        if unknown:
            raise ValueError(f"context gpu_steps: unknown step(s) {sorted(unknown)}; steps are {STEP_NAMES}")
        return cls(
            prefix=get("prefix", "assetcore"),
            gpu_steps=gpu_steps,
            gpu_backends=gpu_backends(gpu_steps, get("gpu_backends", "")),
            gpu_on_demand_base=number("gpu_on_demand_base", 1),
            gpu_max_instances=number("gpu_max_instances", 16),
            gpu_warm_pool=number("gpu_warm_pool", 1),
            nat_gateways=number("nat_gateways", 1),
            db_instance_type=get("db_instance_type", "t4g.medium"),
            db_multi_az=get("db_multi_az", "false").lower() == "true",
            certificate_arn=node.try_get_context("certificate_arn"),
            alarm_email=node.try_get_context("alarm_email"),
            max_receives=max_receives(Settings()),
        )


def gpu_backends(gpu_steps: frozenset[str], override: str) -> dict[str, str]:
    """GPU_BACKENDS for the GPU steps, with "step=backend,..." from context on top; each must be
    a backend the step declares. A GPU step with neither keeps its default backend."""
    chosen = {step: backend for step, backend in GPU_BACKENDS.items() if step in gpu_steps}
    for item in filter(None, (part.strip() for part in override.split(","))):
        step, _, backend = (x.strip() for x in item.partition("="))
        if step not in gpu_steps or not backend:
            raise ValueError(
                f"context gpu_backends: {item!r}: expected <gpu step>=<backend>; "
                f"gpu steps are {sorted(gpu_steps)}"
            )
        chosen[step] = backend
    steps = load_catalog().steps
    for step, backend in chosen.items():
        if backend not in steps[step].backends:
            raise ValueError(
                f"context gpu_backends: step {step} has no backend {backend!r} "
                f"(it has {sorted(steps[step].backends)})"
            )
    return chosen


def context_or_parameter(stack: cdk.Stack, key: str, description: str) -> str:
    """A value from context (`-c key=...`) or, when absent, a CloudFormation parameter.

    Synth stays offline and environment-agnostic either way; the parameter lets one template
    be deployed with different values (a new AMI, a new image tag) without a new synth.
    """
    value = stack.node.try_get_context(key)
    if value is not None:
        return str(value)
    name = "".join(part.capitalize() for part in key.split("_"))
    return cdk.CfnParameter(stack, name, type="String", description=description).value_as_string
