"""State: the job store (RDS Postgres), artifacts (S3 + CloudFront), the event bus, secrets.

Everything here outlives a compute redeploy and is retained (or snapshotted) when the
stack is deleted.
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_events as events
from aws_cdk import aws_rds as rds
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from assetcore.events.eventbridge import SOURCE
from deploy.stacks.topology import DeployConfig, context_or_parameter

DB_NAME = "assetcore"
DB_PORT = 5432
# The database URL is assembled from these fields in the container: keep them URL-safe.
URL_UNSAFE = " %+~`#$&*()|[]{}:;<>?!'/@\"\\="


class DataStack(cdk.Stack):
    def __init__(
        self, scope: Construct, construct_id: str, *, vpc: ec2.IVpc, config: DeployConfig, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.db_security_group = ec2.SecurityGroup(self, "DbSecurityGroup", vpc=vpc, allow_all_outbound=False)
        self.database = rds.DatabaseInstance(
            self,
            "JobStore",
            engine=rds.DatabaseInstanceEngine.postgres(version=rds.PostgresEngineVersion.VER_17_6),
            instance_type=ec2.InstanceType(config.db_instance_type),
            vpc=vpc,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED),
            security_groups=[self.db_security_group],
            port=DB_PORT,
            database_name=DB_NAME,
            credentials=rds.Credentials.from_generated_secret("assetcore", exclude_characters=URL_UNSAFE),
            multi_az=config.db_multi_az,
            allocated_storage=50,
            max_allocated_storage=500,
            storage_type=rds.StorageType.GP3,
            storage_encrypted=True,
            backup_retention=cdk.Duration.days(7),
            deletion_protection=True,
            removal_policy=cdk.RemovalPolicy.SNAPSHOT,
            cloudwatch_logs_exports=["postgresql"],
        )

        self.bucket = s3.Bucket(
            self,
            "Artifacts",
            versioned=True,
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            enforce_ssl=True,
            removal_policy=cdk.RemovalPolicy.RETAIN,
            lifecycle_rules=[
                # Keys are content-addressed or versioned paths: an overwritten version is garbage.
                s3.LifecycleRule(
                    noncurrent_version_expiration=cdk.Duration.days(30),
                    abort_incomplete_multipart_upload_after=cdk.Duration.days(7),
                )
            ],
        )

        # Signed URLs: the public half lives in CloudFront, the private half in a secret
        # the gateway and orchestrator read (put its value after the first deploy).
        public_key = cloudfront.PublicKey(
            self,
            "UrlSigningKey",
            encoded_key=context_or_parameter(
                self, "url_signing_public_key", "PEM public key CloudFront verifies signed URLs with"
            ),
            comment="assetcore signed download URLs",
        )
        self.key_group = cloudfront.KeyGroup(self, "UrlSigningKeys", items=[public_key])
        self.url_signing_public_key_id = public_key.public_key_id
        self.url_signing_private_key = secretsmanager.Secret(
            self, "UrlSigningPrivateKey", description="PEM private key matching UrlSigningPublicKey"
        )
        self.distribution = cloudfront.Distribution(
            self,
            "Delivery",
            comment="assetcore artifacts (signed URLs only)",
            default_behavior=cloudfront.BehaviorOptions(
                origin=origins.S3BucketOrigin.with_origin_access_control(self.bucket),
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
                allowed_methods=cloudfront.AllowedMethods.ALLOW_GET_HEAD,
                cache_policy=cloudfront.CachePolicy.CACHING_OPTIMIZED,
                trusted_key_groups=[self.key_group],
            ),
            price_class=cloudfront.PriceClass.PRICE_CLASS_100,
        )

        # CI pushes `<tag>` (CPU) and `<tag>-gpu` (CUDA base) of deploy/docker/Dockerfile here.
        self.repository = ecr.Repository(
            self,
            "Images",
            repository_name=config.prefix,
            image_scan_on_push=True,
            removal_policy=cdk.RemovalPolicy.RETAIN,
            lifecycle_rules=[ecr.LifecycleRule(max_image_count=50, description="keep the last 50 images")],
        )

        self.bus = events.EventBus(self, "JobEvents", event_bus_name=config.prefix)
        self.bus.archive(
            "JobEventArchive",
            event_pattern=events.EventPattern(source=[SOURCE]),
            retention=cdk.Duration.days(30),
            description="replayable job events",
        )

        # Workers and the orchestrator authenticate to each other with one shared token.
        self.internal_token = secretsmanager.Secret(
            self,
            "InternalToken",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                exclude_punctuation=True, password_length=48
            ),
        )

        # The pepper of API key hashes (docs/security.md): only the orchestrator reads it.
        self.key_pepper = secretsmanager.Secret(
            self,
            "ApiKeyPepper",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                exclude_punctuation=True, password_length=48
            ),
        )

        cdk.CfnOutput(self, "BucketName", value=self.bucket.bucket_name)
        cdk.CfnOutput(self, "DeliveryDomain", value=self.distribution.distribution_domain_name)
        cdk.CfnOutput(self, "UrlSigningPrivateKeySecret", value=self.url_signing_private_key.secret_name)
