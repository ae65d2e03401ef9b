"""The GPU worker AMI pipeline (EC2 Image Builder) around deploy/ami/gpu-worker.yaml.

Run it after pushing a new GPU image or new models; it builds on a g4dn instance (so the
validate and test phases see a real GPU) and yields the AMI id the compute stack takes as
`gpu_ami_id`. The component and recipe versions follow the component text, so editing the
YAML makes a new version on the next deploy instead of a name clash.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_imagebuilder as imagebuilder
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from deploy.stacks.data import DataStack
from deploy.stacks.topology import GPU_INSTANCE_TYPES, DeployConfig, context_or_parameter

COMPONENT_PATH = Path(__file__).resolve().parents[1] / "ami" / "gpu-worker.yaml"
# Image Builder resolves this public parameter at build time: each run starts from the latest.
BASE_IMAGE = "ssm:/aws/service/ecs/optimized-ami/amazon-linux-2023/gpu/recommended/image_id"
MODELS_PREFIX = "models/"


def component_version(text: str) -> str:
    return f"1.0.{int(hashlib.sha256(text.encode()).hexdigest()[:7], 16)}"


class ImageStack(cdk.Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        vpc: ec2.IVpc,
        data: DataStack,
        config: DeployConfig,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        document = COMPONENT_PATH.read_text()
        version = component_version(document)
        tag = context_or_parameter(
            self, "image_tag", "tag of the assetcore image to bake (<tag>-gpu is used)"
        )
        image_parameter = ssm.StringParameter(
            self,
            "GpuWorkerImage",
            parameter_name=f"/{config.prefix}/gpu-worker-image",
            string_value=f"{data.repository.repository_uri}:{tag}-gpu",
            description="GPU image the AMI pipeline bakes in",
        )

        role = iam.Role(
            self,
            "BuildInstanceRole",
            assumed_by=iam.ServicePrincipal("ec2.amazonaws.com"),
            managed_policies=[
                iam.ManagedPolicy.from_aws_managed_policy_name(name)
                for name in ("AmazonSSMManagedInstanceCore", "EC2InstanceProfileForImageBuilder")
            ],
        )
        data.repository.grant_pull(role)
        data.bucket.grant_read(role, f"{MODELS_PREFIX}*")
        image_parameter.grant_read(role)
        profile = iam.CfnInstanceProfile(self, "BuildInstanceProfile", roles=[role.role_name])
        security_group = ec2.SecurityGroup(self, "BuildSecurityGroup", vpc=vpc)

        component = imagebuilder.CfnComponent(
            self,
            "GpuWorkerComponent",
            name=f"{config.prefix}-gpu-worker",
            platform="Linux",
            version=version,
            data=document,
        )
        recipe = imagebuilder.CfnImageRecipe(
            self,
            "GpuWorkerRecipe",
            name=f"{config.prefix}-gpu-worker",
            version=version,
            parent_image=BASE_IMAGE,
            components=[
                imagebuilder.CfnImageRecipe.ComponentConfigurationProperty(
                    component_arn=component.attr_arn,
                    parameters=[
                        imagebuilder.CfnImageRecipe.ComponentParameterProperty(
                            name="WorkerImageParameter", value=[image_parameter.parameter_name]
                        ),
                        imagebuilder.CfnImageRecipe.ComponentParameterProperty(
                            name="ModelsS3Uri", value=[data.bucket.s3_url_for_object(MODELS_PREFIX)]
                        ),
                    ],
                )
            ],
            block_device_mappings=[
                imagebuilder.CfnImageRecipe.InstanceBlockDeviceMappingProperty(
                    device_name="/dev/xvda",
                    ebs=imagebuilder.CfnImageRecipe.EbsInstanceBlockDeviceSpecificationProperty(
                        volume_size=150, volume_type="gp3", encrypted=True, delete_on_termination=True
                    ),
                )
            ],
        )
        infrastructure = imagebuilder.CfnInfrastructureConfiguration(
            self,
            "GpuBuildInfrastructure",
            name=f"{config.prefix}-gpu-build",
            instance_profile_name=profile.ref,
            instance_types=[GPU_INSTANCE_TYPES[0]],
            subnet_id=vpc.private_subnets[0].subnet_id,
            security_group_ids=[security_group.security_group_id],
            terminate_instance_on_failure=True,
        )
        pipeline = imagebuilder.CfnImagePipeline(
            self,
            "GpuWorkerPipeline",
            name=f"{config.prefix}-gpu-worker",
            image_recipe_arn=recipe.attr_arn,
            infrastructure_configuration_arn=infrastructure.attr_arn,
            status="ENABLED",
            image_tests_configuration=imagebuilder.CfnImagePipeline.ImageTestsConfigurationProperty(
                image_tests_enabled=True, timeout_minutes=90
            ),
        )
        cdk.CfnOutput(self, "PipelineArn", value=pipeline.attr_arn)
