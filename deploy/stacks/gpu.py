"""GPU capacity for the ECS cluster: G4dn instances from a baked AMI, in two Auto Scaling groups.

- `spot`: a mixed instances policy, On-Demand base capacity with Spot above it, over
  several G4dn sizes (price-capacity-optimized, capacity rebalancing).
- `warm`: On-Demand only, with a warm pool of stopped, already-initialised instances, so an
  interactive step scales out in about a minute instead of a cold boot. AWS refuses warm
  pools on groups with a mixed instances policy or Spot, hence the second group.

Both join the cluster as capacity providers with managed scaling: ECS grows each group to
fit the tasks placed on it. The AMI (deploy/ami) carries the NVIDIA driver, the worker
image and the pinned models under /data, so a new instance pulls nothing large.
"""

from __future__ import annotations

import jsii
from aws_cdk import aws_autoscaling as autoscaling
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from constructs import Construct

from deploy.stacks.topology import GPU_INSTANCE_TYPES, DeployConfig


@jsii.implements(ec2.IMachineImage)
class BakedImage:
    """An AMI id given at synth or deploy time (a token is fine: no region lookup)."""

    def __init__(self, ami_id: str) -> None:
        self._ami_id = ami_id

    def get_image(self, scope: Construct) -> ec2.MachineImageConfig:
        return ec2.MachineImageConfig(
            image_id=self._ami_id, os_type=ec2.OperatingSystemType.LINUX, user_data=ec2.UserData.for_linux()
        )


class GpuCapacity(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, cluster: ecs.Cluster, ami_id: str, config: DeployConfig
    ) -> None:
        super().__init__(scope, construct_id)
        vpc = cluster.vpc
        self.security_group = ec2.SecurityGroup(self, "InstanceSecurityGroup", vpc=vpc)
        role = iam.Role(
            self,
            "InstanceRole",
            assumed_by=iam.ServicePrincipal("ec2.amazonaws.com"),
            managed_policies=[iam.ManagedPolicy.from_aws_managed_policy_name("AmazonSSMManagedInstanceCore")],
        )
        user_data = ec2.UserData.for_linux()
        user_data.add_commands(
            "cat >> /etc/ecs/ecs.config <<'EOF'",
            "ECS_ENABLE_GPU_SUPPORT=true",
            "ECS_WARM_POOLS_CHECK=true",  # don't register with the cluster while parked in the warm pool
            "ECS_IMAGE_PULL_BEHAVIOR=prefer-cached",  # the AMI already holds the worker image
            "ECS_ENABLE_SPOT_INSTANCE_DRAINING=true",  # Spot notice: drain tasks (SIGTERM) in time
            "EOF",
        )
        template = ec2.LaunchTemplate(
            self,
            "LaunchTemplate",
            machine_image=BakedImage(ami_id),
            instance_type=ec2.InstanceType(GPU_INSTANCE_TYPES[0]),
            role=role,
            security_group=self.security_group,
            user_data=user_data,
            require_imdsv2=True,
            block_devices=[
                ec2.BlockDevice(
                    device_name="/dev/xvda",
                    volume=ec2.BlockDeviceVolume.ebs(
                        150, volume_type=ec2.EbsDeviceVolumeType.GP3, encrypted=True
                    ),
                )
            ],
        )
        private = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS)

        spot_group = autoscaling.AutoScalingGroup(
            self,
            "SpotGroup",
            vpc=vpc,
            vpc_subnets=private,
            min_capacity=0,
            max_capacity=config.gpu_max_instances,
            capacity_rebalance=True,
            new_instances_protected_from_scale_in=True,  # ECS managed termination protection
            mixed_instances_policy=autoscaling.MixedInstancesPolicy(
                launch_template=template,
                launch_template_overrides=[
                    autoscaling.LaunchTemplateOverrides(instance_type=ec2.InstanceType(t))
                    for t in GPU_INSTANCE_TYPES
                ],
                instances_distribution=autoscaling.InstancesDistribution(
                    on_demand_base_capacity=config.gpu_on_demand_base,
                    on_demand_percentage_above_base_capacity=0,
                    on_demand_allocation_strategy=autoscaling.OnDemandAllocationStrategy.PRIORITIZED,
                    spot_allocation_strategy=autoscaling.SpotAllocationStrategy.PRICE_CAPACITY_OPTIMIZED,
                ),
            ),
        )
        warm_group = autoscaling.AutoScalingGroup(
            self,
            "WarmGroup",
            vpc=vpc,
            vpc_subnets=private,
            min_capacity=0,
            max_capacity=config.gpu_max_instances,
            launch_template=template,
            new_instances_protected_from_scale_in=True,
        )
        warm_group.add_warm_pool(
            min_size=config.gpu_warm_pool, pool_state=autoscaling.PoolState.STOPPED, reuse_on_scale_in=True
        )

        self.spot = self._provider("Spot", cluster, spot_group, config)
        self.warm = self._provider("Warm", cluster, warm_group, config)

    def _provider(
        self, name: str, cluster: ecs.Cluster, group: autoscaling.AutoScalingGroup, config: DeployConfig
    ) -> ecs.AsgCapacityProvider:
        provider = ecs.AsgCapacityProvider(
            self,
            f"{name}Provider",
            capacity_provider_name=f"{config.prefix}-gpu-{name.lower()}",
            auto_scaling_group=group,
            enable_managed_scaling=True,
            enable_managed_termination_protection=True,
            target_capacity_percent=100,
        )
        cluster.add_asg_capacity_provider(provider)
        return provider

    def strategy(self, interactive: bool) -> list[ecs.CapacityProviderStrategy]:
        """Interactive steps keep their first task on the warm On-Demand group; batch work runs
        on the mixed group (its On-Demand base, then Spot)."""
        if interactive:
            return [
                ecs.CapacityProviderStrategy(
                    capacity_provider=self.warm.capacity_provider_name, base=1, weight=1
                ),
                ecs.CapacityProviderStrategy(capacity_provider=self.spot.capacity_provider_name, weight=3),
            ]
        return [ecs.CapacityProviderStrategy(capacity_provider=self.spot.capacity_provider_name, weight=1)]
