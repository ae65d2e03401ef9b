"""Compute: the ECS cluster, GPU capacity, the orchestrator, the gateway and the step services.

- orchestrator: Fargate, 2+ tasks, found by the others at orchestrator.<namespace> (Cloud
  Map); the only deployable with database access.
- gateway: Fargate behind an internet-facing ALB (HTTP, websockets for subscriptions);
  deployed as an ECS canary (10% of traffic, bake, then all), rolled back on its 5xx alarm.
- step services: Fargate for CPU steps, the GPU capacity providers for GPU steps; each
  scales on its own queue's backlog per task (deploy/stacks/steps.py).
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_servicediscovery as servicediscovery
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from deploy.stacks.data import DB_NAME, DB_PORT, DataStack
from deploy.stacks.gpu import GpuCapacity
from deploy.stacks.runtime import Runtime, worker_service_options
from deploy.stacks.steps import StepService
from deploy.stacks.topology import (
    GATEWAY_PORT,
    ORCHESTRATOR_PORT,
    STEP_PORT,
    STEPS,
    DeployConfig,
    context_or_parameter,
)

NAMESPACE = "assetcore.internal"
PRIVATE = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS)


class ComputeStack(cdk.Stack):
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
        self.cluster = ecs.Cluster(
            self,
            "Cluster",
            vpc=vpc,
            container_insights_v2=ecs.ContainerInsights.ENABLED,  # RunningTaskCount for scaling
            default_cloud_map_namespace=ecs.CloudMapNamespaceOptions(
                name=NAMESPACE, type=servicediscovery.NamespaceType.DNS_PRIVATE, vpc=vpc
            ),
        )
        self.alarm_topic = sns.Topic(self, "Alarms", display_name=f"{config.prefix} alarms")
        if config.alarm_email:
            self.alarm_topic.add_subscription(subscriptions.EmailSubscription(config.alarm_email))

        # Step services' gRPC (Run, Describe, health) is reachable from inside the VPC only.
        self.internal = ec2.SecurityGroup(self, "Internal", vpc=vpc)
        self.internal.add_ingress_rule(ec2.Peer.ipv4(vpc.vpc_cidr_block), ec2.Port.tcp(STEP_PORT))

        runtime = self._runtime(data, config)
        self.gpu = GpuCapacity(
            self,
            "Gpu",
            cluster=self.cluster,
            ami_id=context_or_parameter(self, "gpu_ami_id", "AMI baked by the image pipeline (deploy/ami)"),
            config=config,
        )

        self.steps = {
            spec.name: StepService(
                self,
                f"Step-{spec.name}",
                spec=spec,
                cluster=self.cluster,
                runtime=runtime,
                gpu=self.gpu if spec.name in config.gpu_steps else None,
                security_group=self.internal,
                alarm_topic=self.alarm_topic,
                config=config,
            )
            for spec in STEPS
        }
        for step in self.steps.values():
            data.bucket.grant_read_write(step.service.task_definition.task_role)

        gateway_5xx = self._gateway(vpc, data, runtime, config)
        self._orchestrator(
            data, runtime, [gateway_5xx, *(s.alarms.new_dead_letters for s in self.steps.values())]
        )

    def _runtime(self, data: DataStack, config: DeployConfig) -> Runtime:
        repository = data.repository
        tag = context_or_parameter(
            self, "image_tag", "tag of the assetcore image (its GPU variant is <tag>-gpu)"
        )
        return Runtime(
            image=ecs.ContainerImage.from_ecr_repository(repository, tag),
            gpu_image=ecs.ContainerImage.from_ecr_repository(repository, f"{tag}-gpu"),
            environment={
                "ASSETCORE_PROFILE": "aws",
                "ASSETCORE_AWS__REGION": cdk.Aws.REGION,
                "ASSETCORE_AWS__QUEUE_PREFIX": config.queue_prefix,
                "ASSETCORE_AWS__BUCKET": data.bucket.bucket_name,
                "ASSETCORE_AWS__EVENT_BUS": data.bus.event_bus_name,
                "ASSETCORE_ORCHESTRATOR_ADDRESS": f"orchestrator.{NAMESPACE}:{ORCHESTRATOR_PORT}",
            },
            secrets={"ASSETCORE_INTERNAL_TOKEN": ecs.Secret.from_secrets_manager(data.internal_token)},
        )

    def _signing(self, data: DataStack) -> tuple[dict[str, str], dict[str, ecs.Secret]]:
        """Settings and secret of CloudFront signed URLs (the entrypoint writes the key file)."""
        return (
            {
                "ASSETCORE_AWS__CLOUDFRONT_DOMAIN": data.distribution.distribution_domain_name,
                "ASSETCORE_AWS__CLOUDFRONT_KEY_ID": data.url_signing_public_key_id,
            },
            {"CLOUDFRONT_PRIVATE_KEY": ecs.Secret.from_secrets_manager(data.url_signing_private_key)},
        )

    def _orchestrator(
        self, data: DataStack, runtime: Runtime, rollback_alarms: list[cloudwatch.IAlarm]
    ) -> None:
        scope = Construct(self, "Orchestrator")
        task = ecs.FargateTaskDefinition(scope, "Task", cpu=1024, memory_limit_mib=2048)
        # Its own security group: only the orchestrator reaches the job store.
        security_group = ec2.SecurityGroup(scope, "SecurityGroup", vpc=self.cluster.vpc)
        security_group.add_ingress_rule(
            ec2.Peer.ipv4(self.cluster.vpc.vpc_cidr_block), ec2.Port.tcp(ORCHESTRATOR_PORT)
        )
        ec2.CfnSecurityGroupIngress(  # lives here: a rule in the data stack would make a cycle
            scope,
            "JobStoreAccess",
            group_id=data.db_security_group.security_group_id,
            source_security_group_id=security_group.security_group_id,
            ip_protocol="tcp",
            from_port=DB_PORT,
            to_port=DB_PORT,
            description="orchestrator to the job store",
        )
        signing_env, signing_secrets = self._signing(data)
        db_secret = data.database.secret
        if db_secret is None:
            raise RuntimeError("the job store was created without a credentials secret")
        runtime.add_container(
            scope,
            task,
            "orchestrator",
            port=ORCHESTRATOR_PORT,
            environment={
                **signing_env,
                "ASSETCORE_ORCHESTRATOR_ADDRESS": f"0.0.0.0:{ORCHESTRATOR_PORT}",
                "DB_HOST": data.database.db_instance_endpoint_address,
                "DB_PORT": data.database.db_instance_endpoint_port,
                "DB_NAME": DB_NAME,
            },
            secrets={
                **signing_secrets,
                "DB_USER": ecs.Secret.from_secrets_manager(db_secret, "username"),
                "DB_PASSWORD": ecs.Secret.from_secrets_manager(db_secret, "password"),
                "ASSETCORE_AUTH__KEY_PEPPER": ecs.Secret.from_secrets_manager(data.key_pepper),
            },
        )
        service = ecs.FargateService(
            scope,
            "Service",
            task_definition=task,
            cloud_map_options=ecs.CloudMapOptions(name="orchestrator", container_port=ORCHESTRATOR_PORT),
            **worker_service_options(
                self.cluster, security_group, 2, [alarm.alarm_name for alarm in rollback_alarms]
            ),
        )
        for step in self.steps.values():
            step.queues.grant_send(task.task_role)
            step.queues.grant_depth(task.task_role)
        data.bucket.grant_read_write(task.task_role)
        data.bus.grant_put_events_to(task.task_role)
        service.auto_scale_task_count(min_capacity=2, max_capacity=6).scale_on_cpu_utilization(
            "Cpu", target_utilization_percent=60
        )

    def _gateway(
        self, vpc: ec2.IVpc, data: DataStack, runtime: Runtime, config: DeployConfig
    ) -> cloudwatch.Alarm:
        scope = Construct(self, "Gateway")
        alb = elbv2.ApplicationLoadBalancer(
            scope,
            "LoadBalancer",
            vpc=vpc,
            internet_facing=True,
            idle_timeout=cdk.Duration.hours(1),  # graphql-transport-ws subscriptions stay open
        )
        if config.certificate_arn:
            certificate = acm.Certificate.from_certificate_arn(scope, "Certificate", config.certificate_arn)
            listener = alb.add_listener("Https", port=443, certificates=[certificate], open=True)
            alb.add_redirect(source_port=80, target_port=443)
            public_url = f"https://{alb.load_balancer_dns_name}"
        else:
            listener = alb.add_listener("Http", port=80, open=True)
            public_url = f"http://{alb.load_balancer_dns_name}"
        listener.add_action("Default", action=elbv2.ListenerAction.fixed_response(404))

        def target_group(name: str) -> elbv2.ApplicationTargetGroup:
            return elbv2.ApplicationTargetGroup(
                scope,
                name,
                vpc=vpc,
                port=GATEWAY_PORT,
                protocol=elbv2.ApplicationProtocol.HTTP,
                target_type=elbv2.TargetType.IP,
                deregistration_delay=cdk.Duration.seconds(30),
                health_check=elbv2.HealthCheck(path="/healthz", healthy_http_codes="200"),
            )

        blue, green = target_group("Blue"), target_group("Green")
        rule = elbv2.ApplicationListenerRule(
            scope,
            "Forward",
            listener=listener,
            priority=10,
            conditions=[elbv2.ListenerCondition.path_patterns(["/*"])],
            action=elbv2.ListenerAction.forward([blue]),
        )
        errors = alb.metrics.http_code_target(
            elbv2.HttpCodeTarget.TARGET_5XX_COUNT, statistic="Sum", period=cdk.Duration.minutes(1)
        ).create_alarm(
            scope,
            "Errors",
            alarm_description="gateway: 5xx responses (rolls back a canary in progress)",
            threshold=10,
            evaluation_periods=2,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        errors.add_alarm_action(cw_actions.SnsAction(self.alarm_topic))

        task = ecs.FargateTaskDefinition(scope, "Task", cpu=1024, memory_limit_mib=2048)
        signing_env, signing_secrets = self._signing(data)
        runtime.add_container(
            scope,
            task,
            "gateway",
            port=GATEWAY_PORT,
            grpc_health=False,  # HTTP: the load balancer checks it
            environment={
                **signing_env,
                "ASSETCORE_GATEWAY_HOST": "0.0.0.0",
                "ASSETCORE_GATEWAY_PORT": str(GATEWAY_PORT),
                "ASSETCORE_PUBLIC_URL": public_url,
            },
            secrets=signing_secrets,
        )
        service = ecs.FargateService(
            scope,
            "Service",
            cluster=self.cluster,
            task_definition=task,
            desired_count=2,
            security_groups=[self.internal],
            vpc_subnets=PRIVATE,
            health_check_grace_period=cdk.Duration.seconds(60),
            min_healthy_percent=100,
            circuit_breaker=ecs.DeploymentCircuitBreaker(enable=True, rollback=True),
            deployment_strategy=ecs.DeploymentStrategy.CANARY,
            canary_configuration=ecs.TrafficShiftConfig(
                step_percent=10, step_bake_time=cdk.Duration.minutes(5)
            ),
            bake_time=cdk.Duration.minutes(10),
            deployment_alarms=ecs.DeploymentAlarmConfig(
                alarm_names=[errors.alarm_name], behavior=ecs.AlarmBehavior.ROLLBACK_ON_ALARM
            ),
        )
        service.connections.allow_from(alb, ec2.Port.tcp(GATEWAY_PORT), "load balancer")
        service.load_balancer_target(
            container_name="gateway",
            container_port=GATEWAY_PORT,
            alternate_target=ecs.AlternateTarget(
                "Canary",
                alternate_target_group=green,
                production_listener=ecs.ListenerRuleConfiguration.application_listener_rule(rule),
            ),
        ).attach_to_application_target_group(blue)
        data.bucket.grant_read(task.task_role)
        service.auto_scale_task_count(min_capacity=2, max_capacity=10).scale_on_cpu_utilization(
            "Cpu", target_utilization_percent=60
        )
        cdk.CfnOutput(self, "GraphqlUrl", value=f"{public_url}/graphql")
        return errors
