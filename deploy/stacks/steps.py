"""One step service: its queues, ECS service, queue-depth scaling, alarms and dashboard.

Queues follow assetcore.queues.sqs: `<prefix><step>`, `<prefix><step>-high` (priority
above normal) and `<prefix><step>-dlq`; both work queues redrive to the DLQ after
max_receives deliveries. They are standard queues on purpose: messages carry their tenant as
MessageGroupId, which makes standard queues SQS fair queues (no queue setting needed); FIFO
queues would run each tenant's messages one at a time and refuse per-message retry delays.

Scaling rule: target tracking on backlog per task, (visible messages on both work queues)
/ (running tasks), held at the step's backlog_per_task. With no task running the backlog
itself is the metric, so an idle step scales out from zero on its first message.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_applicationautoscaling as appscaling
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from assetcore.queues.sqs import queue_name
from deploy.stacks.gpu import GpuCapacity
from deploy.stacks.runtime import Runtime, worker_service_options
from deploy.stacks.topology import METRICS_PORT, MODEL_DIR, STEP_PORT, DeployConfig, StepSpec

ONE_MINUTE = cdk.Duration.minutes(1)
# Messages waiting on both work queues per running task; with none running, the backlog itself.
BACKLOG_PER_TASK = "IF(FILL(tasks, 0) > 0, (normal + high) / FILL(tasks, 0), normal + high)"
STEP_METRICS_NAMESPACE = "AssetCore"  # StepDuration (seconds, dimension Step), logged by workers as EMF
DRAIN_GRACE_S = 90  # SIGTERM (deploy, scale-in, Spot notice): finish or release within this


def backend_environment(step: str, config: DeployConfig) -> dict[str, str]:
    """ASSETCORE_BACKENDS__<STEP> for a GPU step with an ML backend (none: the step's default)."""
    backend = config.gpu_backends.get(step)
    return {} if backend is None else {f"ASSETCORE_BACKENDS__{step.upper()}": backend}


def _query(
    name: str, metric: cloudwatch.Metric
) -> appscaling.CfnScalingPolicy.TargetTrackingMetricDataQueryProperty:
    policy = appscaling.CfnScalingPolicy
    return policy.TargetTrackingMetricDataQueryProperty(
        id=name,
        return_data=False,
        metric_stat=policy.TargetTrackingMetricStatProperty(
            stat=metric.statistic,
            metric=policy.TargetTrackingMetricProperty(
                namespace=metric.namespace,
                metric_name=metric.metric_name,
                dimensions=[
                    policy.TargetTrackingMetricDimensionProperty(name=key, value=value)
                    for key, value in (metric.dimensions or {}).items()
                ],
            ),
        ),
    )


class StepQueues(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, step: str, config: DeployConfig) -> None:
        super().__init__(scope, construct_id)
        self.dlq = sqs.Queue(
            self,
            "Dlq",
            queue_name=queue_name(config.queue_prefix, step, "dlq"),
            retention_period=cdk.Duration.days(14),
            enforce_ssl=True,
        )
        redrive = sqs.DeadLetterQueue(queue=self.dlq, max_receive_count=config.max_receives)
        self.normal, self.high = (
            sqs.Queue(
                self,
                construct,
                queue_name=queue_name(config.queue_prefix, step, lane),
                dead_letter_queue=redrive,
                retention_period=cdk.Duration.days(4),
                enforce_ssl=True,
            )
            for construct, lane in (("Queue", "normal"), ("HighQueue", "high"))
        )

    def grant_consume(self, grantee: iam.IGrantable) -> None:
        """Receive, extend, delete (both work queues); send to the DLQ (dead_letter()); depth."""
        for queue in (self.normal, self.high):
            queue.grant_consume_messages(grantee)
        self.dlq.grant_send_messages(grantee)
        self.grant_depth(grantee)

    def grant_send(self, grantee: iam.IGrantable) -> None:
        for queue in (self.normal, self.high):
            queue.grant_send_messages(grantee)

    def grant_depth(self, grantee: iam.IGrantable) -> None:
        for queue in (self.normal, self.high, self.dlq):
            queue.grant(grantee, "sqs:GetQueueAttributes", "sqs:GetQueueUrl")

    def visible(self, queue: sqs.Queue) -> cloudwatch.Metric:
        return queue.metric_approximate_number_of_messages_visible(period=ONE_MINUTE, statistic="Maximum")


class StepService(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        spec: StepSpec,
        cluster: ecs.Cluster,
        runtime: Runtime,
        gpu: GpuCapacity | None,
        security_group: ec2.ISecurityGroup,
        alarm_topic: sns.ITopic,
        config: DeployConfig,
    ) -> None:
        super().__init__(scope, construct_id)
        self.queues = StepQueues(self, "Queues", step=spec.name, config=config)
        self.alarms = self._alarms(spec, alarm_topic)
        environment = {
            "ASSETCORE_STEP_PORT": str(STEP_PORT),
            "ASSETCORE_STEP_HOST": "0.0.0.0",  # StepService.Run reachable from other tasks
            "ASSETCORE_METRICS_PORT": str(METRICS_PORT),
            "ASSETCORE_METRICS_HOST": "0.0.0.0",
            "ASSETCORE_WORKER__DRAIN_GRACE_S": str(DRAIN_GRACE_S),
        }
        options = worker_service_options(
            cluster, security_group, spec.min_tasks, [self.alarms.new_dead_letters.alarm_name]
        )
        self.service: ecs.BaseService
        if gpu is None:
            task: ecs.TaskDefinition = ecs.FargateTaskDefinition(
                self, "Task", cpu=spec.cpu, memory_limit_mib=spec.memory_mib
            )
            runtime.add_container(
                self,
                task,
                spec.name,
                port=STEP_PORT,
                environment={**environment, "ASSETCORE_WORKER__POOL": "cpu"},
            )
            self.service = ecs.FargateService(self, "Service", task_definition=task, **options)
        else:
            task = ecs.Ec2TaskDefinition(self, "Task", network_mode=ecs.NetworkMode.AWS_VPC)
            task.add_volume(name="models", host=ecs.Host(source_path="/data"))
            container = runtime.add_container(
                self,
                task,
                spec.name,
                port=STEP_PORT,
                gpu=True,
                environment={
                    **environment,
                    "ASSETCORE_MODEL_DIR": MODEL_DIR,
                    "ASSETCORE_WORKER__POOL": "gpu",
                    **backend_environment(spec.name, config),
                },
            )
            container.add_mount_points(
                ecs.MountPoint(container_path="/data", source_volume="models", read_only=True)
            )
            self.service = ecs.Ec2Service(
                self,
                "Service",
                task_definition=task,
                capacity_provider_strategies=gpu.strategy(spec.interactive),
                **options,
            )
        self.queues.grant_consume(task.task_role)
        self.backlog_per_task = self._scaling(spec, cluster)
        self._dashboard(spec, config)

    def _scaling(self, spec: StepSpec, cluster: ecs.Cluster) -> cloudwatch.MathExpression:
        """Target tracking on BACKLOG_PER_TASK (CDK's L2 takes single metrics only, so L1)."""
        metrics = {
            "normal": self.queues.visible(self.queues.normal),
            "high": self.queues.visible(self.queues.high),
            "tasks": cloudwatch.Metric(
                namespace="ECS/ContainerInsights",
                metric_name="RunningTaskCount",
                dimensions_map={
                    "ClusterName": cluster.cluster_name,
                    "ServiceName": self.service.service_name,
                },
                statistic="Average",
                period=ONE_MINUTE,
            ),
        }
        target = appscaling.ScalableTarget(
            self,
            "ScalableTarget",
            service_namespace=appscaling.ServiceNamespace.ECS,
            resource_id=f"service/{cluster.cluster_name}/{self.service.service_name}",
            scalable_dimension="ecs:service:DesiredCount",
            min_capacity=spec.min_tasks,
            max_capacity=spec.max_tasks,
        )
        policy = appscaling.CfnScalingPolicy
        appscaling.CfnScalingPolicy(
            self,
            "BacklogPerTask",
            policy_name=f"{spec.name}-backlog-per-task",
            policy_type="TargetTrackingScaling",
            scaling_target_id=target.scalable_target_id,
            target_tracking_scaling_policy_configuration=policy.TargetTrackingScalingPolicyConfigurationProperty(
                target_value=spec.backlog_per_task,
                scale_out_cooldown=60,
                scale_in_cooldown=300,
                customized_metric_specification=policy.CustomizedMetricSpecificationProperty(
                    metrics=[
                        policy.TargetTrackingMetricDataQueryProperty(
                            id="backlog",
                            expression=BACKLOG_PER_TASK,
                            label="backlog per task",
                            return_data=True,
                        ),
                        *(_query(name, metric) for name, metric in metrics.items()),
                    ]
                ),
            ),
        )
        return cloudwatch.MathExpression(
            expression=BACKLOG_PER_TASK, using_metrics=metrics, label="backlog per task", period=ONE_MINUTE
        )

    def _alarms(self, spec: StepSpec, topic: sns.ITopic) -> StepAlarms:
        return StepAlarms(self, "Alarms", step=spec, queues=self.queues, topic=topic)

    def _dashboard(self, spec: StepSpec, config: DeployConfig) -> None:
        q = self.queues
        in_flight = [
            queue.metric_approximate_number_of_messages_not_visible(period=ONE_MINUTE, statistic="Maximum")
            for queue in (q.normal, q.high)
        ]
        duration = [
            cloudwatch.Metric(
                namespace=STEP_METRICS_NAMESPACE,
                metric_name="StepDuration",
                dimensions_map={"Step": spec.name},
                statistic=statistic,
                period=cdk.Duration.minutes(5),
                unit=cloudwatch.Unit.SECONDS,
            )
            for statistic in ("p50", "p90", "p99")
        ]
        cloudwatch.Dashboard(
            self,
            "Dashboard",
            dashboard_name=f"{config.prefix}-{spec.name}",
            widgets=[
                [
                    cloudwatch.GraphWidget(
                        title="queue depth",
                        left=[q.visible(q.normal), q.visible(q.high), *in_flight],
                        width=8,
                    ),
                    cloudwatch.GraphWidget(
                        title="age of oldest message (s)",
                        left=[
                            queue.metric_approximate_age_of_oldest_message(
                                period=ONE_MINUTE, statistic="Maximum"
                            )
                            for queue in (q.normal, q.high)
                        ],
                        width=8,
                    ),
                    cloudwatch.GraphWidget(
                        title="dead letters",
                        left=[q.visible(q.dlq)],
                        right=[q.dlq.metric_number_of_messages_sent(period=ONE_MINUTE, statistic="Sum")],
                        width=8,
                    ),
                ],
                [
                    cloudwatch.GraphWidget(title="step duration (s)", left=duration, width=12),
                    cloudwatch.GraphWidget(title="backlog per task", left=[self.backlog_per_task], width=12),
                ],
            ],
        )


class StepAlarms(Construct):
    """dlq_depth: anything waiting in the DLQ (operators look). new_dead_letters: a message was
    dead-lettered in the last 5 minutes; also the rollback alarm of this step's deployments.
    stale_queue: the oldest message waited longer than the step should ever take to start."""

    def __init__(
        self, scope: Construct, construct_id: str, *, step: StepSpec, queues: StepQueues, topic: sns.ITopic
    ) -> None:
        super().__init__(scope, construct_id)
        action = cw_actions.SnsAction(topic)
        self.dlq_depth = queues.visible(queues.dlq).create_alarm(
            self,
            "DlqDepth",
            alarm_description=f"{step.name}: messages in the dead-letter queue",
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        self.new_dead_letters = queues.dlq.metric_number_of_messages_sent(
            period=cdk.Duration.minutes(5), statistic="Sum"
        ).create_alarm(
            self,
            "NewDeadLetters",
            alarm_description=f"{step.name}: a step used up its attempts (rolls back a running deployment)",
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        wait_limit_s = 300 if step.interactive else 1800
        self.stale_queue = cloudwatch.MathExpression(
            expression="MAX([normal, high])",
            using_metrics={
                lane: queue.metric_approximate_age_of_oldest_message(period=ONE_MINUTE, statistic="Maximum")
                for lane, queue in (("normal", queues.normal), ("high", queues.high))
            },
            label="age of oldest message",
            period=ONE_MINUTE,
        ).create_alarm(
            self,
            "StaleQueue",
            alarm_description=f"{step.name}: work waited over {wait_limit_s} s to start",
            threshold=wait_limit_s,
            evaluation_periods=3,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        for alarm in (self.dlq_depth, self.new_dead_letters, self.stale_queue):
            alarm.add_alarm_action(action)
