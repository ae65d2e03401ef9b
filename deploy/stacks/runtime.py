"""How every deployable runs as an ECS container: one image, `assetcore serve NAME`.

The image's entrypoint (deploy/docker/entrypoint.sh) turns the injected DB_* fields into
ASSETCORE_DATABASE_URL and the CloudFront private key into a file; everything else is
plain ASSETCORE_* settings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypedDict

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_logs as logs
from constructs import Construct

from deploy.stacks.topology import GPU_TASK_CPU, GPU_TASK_MEMORY_MIB


@dataclass
class Runtime:
    image: ecs.ContainerImage  # the CPU image
    gpu_image: ecs.ContainerImage  # the same code on a CUDA base (deploy/docker, BASE_IMAGE)
    environment: dict[str, str]  # settings every deployable gets
    secrets: dict[str, ecs.Secret] = field(default_factory=dict)  # ... and these secrets
    log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH

    def add_container(
        self,
        scope: Construct,
        task: ecs.TaskDefinition,
        name: str,
        *,
        port: int,
        gpu: bool = False,
        environment: dict[str, str] | None = None,
        secrets: dict[str, ecs.Secret] | None = None,
        grpc_health: bool = True,
        stop_timeout_s: int = 120,
    ) -> ecs.ContainerDefinition:
        """The `serve NAME` container. grpc_health: the task is healthy once the deployable's gRPC
        health service says SERVING (a step service only does so after its backend loaded).
        gpu: the CUDA image with one GPU and most of a g4dn.xlarge (an EC2 task)."""
        log_group = logs.LogGroup(
            scope, "Logs", retention=self.log_retention, removal_policy=cdk.RemovalPolicy.DESTROY
        )
        health = (
            ecs.HealthCheck(
                command=["CMD", "assetcore-healthcheck", str(port)],
                interval=cdk.Duration.seconds(15),
                timeout=cdk.Duration.seconds(5),
                retries=3,
                start_period=cdk.Duration.seconds(300 if gpu else 60),
            )
            if grpc_health
            else None
        )
        return task.add_container(
            name,
            image=self.gpu_image if gpu else self.image,
            command=["serve", name],
            environment={**self.environment, **(environment or {})},
            secrets={**self.secrets, **(secrets or {})},
            logging=ecs.LogDriver.aws_logs(stream_prefix=name, log_group=log_group),
            port_mappings=[ecs.PortMapping(container_port=port)],
            health_check=health,
            stop_timeout=cdk.Duration.seconds(stop_timeout_s),
            essential=True,
            gpu_count=1 if gpu else None,
            cpu=GPU_TASK_CPU if gpu else None,
            memory_reservation_mib=GPU_TASK_MEMORY_MIB if gpu else None,
        )


class ServiceOptions(TypedDict):
    cluster: ecs.ICluster
    security_groups: list[ec2.ISecurityGroup]
    vpc_subnets: ec2.SubnetSelection
    desired_count: int
    min_healthy_percent: int
    max_healthy_percent: int
    circuit_breaker: ecs.DeploymentCircuitBreaker
    deployment_alarms: ecs.DeploymentAlarmConfig


def worker_service_options(
    cluster: ecs.ICluster, security_group: ec2.ISecurityGroup, desired_count: int, rollback_alarms: list[str]
) -> ServiceOptions:
    """Private subnets and rolling-deployment guard rails for the orchestrator and step services:
    new tasks start beside the old ones; the deployment rolls back when they never get healthy
    (circuit breaker) or when one of `rollback_alarms` fires while it runs."""
    return ServiceOptions(
        cluster=cluster,
        security_groups=[security_group],
        vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
        desired_count=desired_count,
        min_healthy_percent=100,
        max_healthy_percent=200,
        circuit_breaker=ecs.DeploymentCircuitBreaker(enable=True, rollback=True),
        deployment_alarms=ecs.DeploymentAlarmConfig(
            alarm_names=rollback_alarms, behavior=ecs.AlarmBehavior.ROLLBACK_ON_ALARM
        ),
    )
