"""The CDK app synthesizes offline and expresses the production topology (docs/deploy.md)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("aws_cdk", reason="the deploy extra is not installed")
pytest.importorskip("aioboto3", reason="the aws extra is not installed")

from assetcore.adapters import max_receives
from assetcore.config import Settings
from assetcore.steps.catalog import load_catalog
from deploy.stacks.image import COMPONENT_PATH
from deploy.stacks.steps import BACKLOG_PER_TASK
from deploy.stacks.topology import GPU_BACKENDS, GPU_INSTANCE_TYPES, STEP_NAMES, STEPS

pytestmark = pytest.mark.slow  # one CDK synth (~20-30 s) and cfn-lint (~10 s)

AMI = "ami-0123456789abcdef0"
GPU_STEPS = {"tti", "refine", "multiview", "image3d"}  # the default of context gpu_steps
Template = dict[str, Any]


@dataclass(frozen=True)
class Synth:
    outdir: Path
    templates: dict[str, Template]
    environments: set[str]

    def resources(self, stack: str, kind: str) -> dict[str, dict[str, Any]]:
        found = self.templates[stack]["Resources"].items()
        return {name: r.get("Properties", {}) for name, r in found if r["Type"] == kind}


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synth]:
    from deploy.app import build_app  # after importorskip: imports aws_cdk

    outdir = tmp_path_factory.mktemp("cdk.out")
    assembly = build_app({"image_tag": "test", "gpu_ami_id": AMI}, outdir=str(outdir)).synth()
    yield Synth(
        outdir,
        {stack.stack_name: stack.template for stack in assembly.stacks},
        {f"{stack.environment.account}/{stack.environment.region}" for stack in assembly.stacks},
    )


def ref(value: Any) -> str:
    """The logical id a Ref / Fn::GetAtt points at."""
    if "Ref" in value:
        return str(value["Ref"])
    return str(value["Fn::GetAtt"][0])


def queues_by_name(synth: Synth) -> dict[str, tuple[str, dict[str, Any]]]:
    return {
        p["QueueName"]: (lid, p) for lid, p in synth.resources("AssetCoreCompute", "AWS::SQS::Queue").items()
    }


def test_stacks(synth: Synth) -> None:
    assert set(synth.templates) == {"AssetCoreNetwork", "AssetCoreData", "AssetCoreImage", "AssetCoreCompute"}
    assert synth.environments == {
        "unknown-account/unknown-region"
    }  # environment-agnostic    assert len(synth.resources("AssetCoreNetwork", "AWS::EC2::VPC")) == 1


def test_every_step_has_work_queues_redriving_to_its_dlq(synth: Synth) -> None:
    queues = queues_by_name(synth)
    expected_receives = max_receives(Settings())
    for step in STEP_NAMES:
        dlq_id, dlq = queues[f"assetcore-{step}-dlq"]
        assert dlq["MessageRetentionPeriod"] == 14 * 24 * 3600
        for name in (f"assetcore-{step}", f"assetcore-{step}-high"):
            redrive = queues[name][1]["RedrivePolicy"]
            assert ref(redrive["deadLetterTargetArn"]) == dlq_id
            assert redrive["maxReceiveCount"] == expected_receives
    assert len(queues) == 3 * len(STEP_NAMES)


def test_each_step_scales_on_its_own_backlog_per_task(synth: Synth) -> None:
    targets = synth.resources("AssetCoreCompute", "AWS::ApplicationAutoScaling::ScalableTarget")
    policies = {
        p["PolicyName"]: p
        for p in synth.resources("AssetCoreCompute", "AWS::ApplicationAutoScaling::ScalingPolicy").values()
    }
    queues = queues_by_name(synth)
    for spec in STEPS:
        policy = policies[f"{spec.name}-backlog-per-task"]
        config = policy["TargetTrackingScalingPolicyConfiguration"]
        assert policy["PolicyType"] == "TargetTrackingScaling"
        assert config["TargetValue"] == spec.backlog_per_task
        metrics = {m["Id"]: m for m in config["CustomizedMetricSpecification"]["Metrics"]}
        assert metrics["backlog"]["Expression"] == BACKLOG_PER_TASK and metrics["backlog"]["ReturnData"]
        for lane, name in (("normal", f"assetcore-{spec.name}"), ("high", f"assetcore-{spec.name}-high")):
            metric = metrics[lane]["MetricStat"]["Metric"]
            assert metric["MetricName"] == "ApproximateNumberOfMessagesVisible"
            [dimension] = metric["Dimensions"]
            assert ref(dimension["Value"]) == queues[name][0]
        assert metrics["tasks"]["MetricStat"]["Metric"]["MetricName"] == "RunningTaskCount"
        target = targets[ref(policy["ScalingTargetId"])]
        assert (target["MinCapacity"], target["MaxCapacity"]) == (spec.min_tasks, spec.max_tasks)


def test_gpu_capacity_mixes_on_demand_and_spot_and_keeps_a_warm_pool(synth: Synth) -> None:
    groups = synth.resources("AssetCoreCompute", "AWS::AutoScaling::AutoScalingGroup")
    [mixed] = [g for g in groups.values() if "MixedInstancesPolicy" in g]
    distribution = mixed["MixedInstancesPolicy"]["InstancesDistribution"]
    assert distribution["OnDemandBaseCapacity"] >= 1
    assert distribution["OnDemandPercentageAboveBaseCapacity"] == 0  # Spot above the base
    assert distribution["SpotAllocationStrategy"] == "price-capacity-optimized"
    overrides = mixed["MixedInstancesPolicy"]["LaunchTemplate"]["Overrides"]
    assert [o["InstanceType"] for o in overrides] == list(GPU_INSTANCE_TYPES)

    [pool] = synth.resources("AssetCoreCompute", "AWS::AutoScaling::WarmPool").values()
    warm = groups[ref(pool["AutoScalingGroupName"])]
    assert "MixedInstancesPolicy" not in warm  # AWS refuses warm pools on mixed/Spot groups
    assert pool["MinSize"] >= 1 and pool["PoolState"] == "Stopped"

    [template] = synth.resources("AssetCoreCompute", "AWS::EC2::LaunchTemplate").values()
    data = template["LaunchTemplateData"]
    assert data["ImageId"] == AMI and data["InstanceType"].startswith("g4dn.")
    user_data = json.dumps(data["UserData"])
    assert "ECS_WARM_POOLS_CHECK=true" in user_data and "ECS_ENABLE_SPOT_INSTANCE_DRAINING=true" in user_data

    providers = synth.resources("AssetCoreCompute", "AWS::ECS::CapacityProvider")
    assert {ref(p["AutoScalingGroupProvider"]["AutoScalingGroupArn"]) for p in providers.values()} == set(
        groups
    )
    assert all(
        p["AutoScalingGroupProvider"]["ManagedScaling"]["Status"] == "ENABLED" for p in providers.values()
    )


def _step_services(synth: Synth) -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
    """step -> (service properties, its task definition's properties)."""
    tasks = synth.resources("AssetCoreCompute", "AWS::ECS::TaskDefinition")
    services = {}
    for service in synth.resources("AssetCoreCompute", "AWS::ECS::Service").values():
        task = tasks[ref(service["TaskDefinition"])]
        [container] = task["ContainerDefinitions"]
        services[container["Name"]] = (service, task)
    return services


def test_gpu_steps_on_ec2_capacity_cpu_steps_on_fargate(synth: Synth) -> None:
    services = _step_services(synth)
    assert set(services) == {*STEP_NAMES, "gateway", "orchestrator"}
    for name, (service, task) in services.items():
        [container] = task["ContainerDefinitions"]
        assert container["Command"] == ["serve", name]
        environment = {e["Name"]: e["Value"] for e in container["Environment"]}
        assert environment["ASSETCORE_PROFILE"] == "aws"
        assert environment["ASSETCORE_AWS__QUEUE_PREFIX"] == "assetcore-"
        # Every listener binds the task's interface, not loopback (reachable from other tasks).
        if name in STEP_NAMES:
            assert environment["ASSETCORE_STEP_HOST"] == environment["ASSETCORE_METRICS_HOST"] == "0.0.0.0"
        secrets = {s["Name"] for s in container.get("Secrets", [])}
        assert "ASSETCORE_INTERNAL_TOKEN" in secrets
        assert ("DB_PASSWORD" in secrets) == (name == "orchestrator")  # only it reaches the job store
        assert ("ASSETCORE_AUTH__KEY_PEPPER" in secrets) == (name == "orchestrator")  # only it checks keys
        if name in GPU_STEPS:
            assert "CapacityProviderStrategy" in service and "LaunchType" not in service
            assert container["ResourceRequirements"] == [{"Type": "GPU", "Value": "1"}]
            assert container["MountPoints"] == [
                {"ContainerPath": "/data", "ReadOnly": True, "SourceVolume": "models"}
            ]
            assert environment["ASSETCORE_MODEL_DIR"] == "/data/models"
            assert environment["ASSETCORE_WORKER__POOL"] == "gpu", "its time is priced as GPU time"
            assert environment[f"ASSETCORE_BACKENDS__{name.upper()}"] == GPU_BACKENDS[name]
        else:
            assert not any(key.startswith("ASSETCORE_BACKENDS__") for key in environment), name
            assert service["LaunchType"] == "FARGATE" and "ResourceRequirements" not in container
            if name in STEP_NAMES:
                assert environment["ASSETCORE_WORKER__POOL"] == "cpu", "its time is priced as Fargate time"


def test_interactive_gpu_steps_start_on_the_warm_pool(synth: Synth) -> None:
    services = _step_services(synth)
    tti_strategy = services["tti"][0]["CapacityProviderStrategy"]
    image3d_strategy = services["image3d"][0]["CapacityProviderStrategy"]
    assert [s.get("Base", 0) for s in tti_strategy] == [1, 0]
    assert len(image3d_strategy) == 1 and ref(image3d_strategy[0]["CapacityProvider"]) == ref(
        tti_strategy[1]["CapacityProvider"]
    )


def test_alarms_on_dead_letters_and_deployments_roll_back_on_them(synth: Synth) -> None:
    alarms = synth.resources("AssetCoreCompute", "AWS::CloudWatch::Alarm")
    queues = {
        lid: p["QueueName"] for lid, p in synth.resources("AssetCoreCompute", "AWS::SQS::Queue").items()
    }

    def alarmed_queue(alarm: dict[str, Any], metric: str) -> str | None:
        if alarm.get("MetricName") != metric:
            return None
        [dimension] = alarm["Dimensions"]
        return str(queues[ref(dimension["Value"])])

    depth = {alarmed_queue(a, "ApproximateNumberOfMessagesVisible") for a in alarms.values()}
    sent = {lid: alarmed_queue(a, "NumberOfMessagesSent") for lid, a in alarms.items()}
    assert {f"assetcore-{step}-dlq" for step in STEP_NAMES} <= depth
    assert all(a.get("AlarmActions") for a in alarms.values())  # every alarm notifies

    services = _step_services(synth)
    for step in STEP_NAMES:
        deployment = services[step][0]["DeploymentConfiguration"]
        assert deployment["DeploymentCircuitBreaker"] == {"Enable": True, "Rollback": True}
        assert deployment["Alarms"]["Rollback"] is True
        [rollback_alarm] = deployment["Alarms"]["AlarmNames"]
        assert sent[ref(rollback_alarm)] == f"assetcore-{step}-dlq"
        assert deployment["MinimumHealthyPercent"] == 100


def test_gateway_behind_an_alb_with_a_canary_deployment(synth: Synth) -> None:
    [alb] = synth.resources("AssetCoreCompute", "AWS::ElasticLoadBalancingV2::LoadBalancer").values()
    assert alb["Scheme"] == "internet-facing"
    attributes = {a["Key"]: a["Value"] for a in alb["LoadBalancerAttributes"]}
    assert int(attributes["idle_timeout.timeout_seconds"]) >= 3600  # websocket subscriptions

    gateway = _step_services(synth)["gateway"][0]
    deployment = gateway["DeploymentConfiguration"]
    assert deployment["Strategy"] == "CANARY"
    assert deployment["CanaryConfiguration"]["CanaryPercent"] == 10
    assert deployment["Alarms"]["Rollback"] is True
    [balancer] = gateway["LoadBalancers"]
    assert balancer["ContainerPort"] == 8000
    assert ref(balancer["AdvancedConfiguration"]["AlternateTargetGroupArn"]) != ref(
        balancer["TargetGroupArn"]
    )


def test_a_dashboard_per_step(synth: Synth) -> None:
    bodies = {
        json.dumps(d["DashboardName"]): json.dumps(d["DashboardBody"])
        for d in synth.resources("AssetCoreCompute", "AWS::CloudWatch::Dashboard").values()
    }
    for step in STEP_NAMES:
        body = bodies[json.dumps(f"assetcore-{step}")]
        for metric in ("ApproximateNumberOfMessagesVisible", "ApproximateAgeOfOldestMessage", "StepDuration"):
            assert metric in body, (step, metric)
        assert f'\\"Step\\",\\"{step}\\"' in body


def test_data_stack(synth: Synth) -> None:
    [db] = synth.resources("AssetCoreData", "AWS::RDS::DBInstance").values()
    assert db["Engine"] == "postgres" and db["StorageEncrypted"] is True
    assert "MasterUserPassword" in db  # resolved from the generated secret
    # db, token, url key, API key pepper
    assert len(synth.resources("AssetCoreData", "AWS::SecretsManager::Secret")) == 4

    [bucket] = synth.resources("AssetCoreData", "AWS::S3::Bucket").values()
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    assert "ServerSideEncryptionConfiguration" in bucket["BucketEncryption"]

    [distribution] = synth.resources("AssetCoreData", "AWS::CloudFront::Distribution").values()
    config = distribution["DistributionConfig"]
    [origin] = config["Origins"]
    assert "OriginAccessControlId" in origin
    [key_group_ref] = config["DefaultCacheBehavior"]["TrustedKeyGroups"]
    key_groups = synth.resources("AssetCoreData", "AWS::CloudFront::KeyGroup")
    [public_key_ref] = key_groups[ref(key_group_ref)]["KeyGroupConfig"]["Items"]
    public_key = synth.resources("AssetCoreData", "AWS::CloudFront::PublicKey")[ref(public_key_ref)]
    # No context value given: the key is a deploy-time parameter.
    assert public_key["PublicKeyConfig"]["EncodedKey"] == {"Ref": "UrlSigningPublicKey"}

    [bus] = synth.resources("AssetCoreData", "AWS::Events::EventBus").values()
    assert bus["Name"] == "assetcore"


def test_ami_pipeline_uses_the_component_file(synth: Synth) -> None:
    [component] = synth.resources("AssetCoreImage", "AWS::ImageBuilder::Component").values()
    assert component["Data"] == COMPONENT_PATH.read_text()
    [recipe] = synth.resources("AssetCoreImage", "AWS::ImageBuilder::ImageRecipe").values()
    assert recipe["ParentImage"].startswith("ssm:/aws/service/ecs/optimized-ami/")
    [infrastructure] = synth.resources(
        "AssetCoreImage", "AWS::ImageBuilder::InfrastructureConfiguration"
    ).values()
    assert infrastructure["InstanceTypes"] == [GPU_INSTANCE_TYPES[0]]
    assert len(synth.resources("AssetCoreImage", "AWS::ImageBuilder::ImagePipeline")) == 1


def test_cfn_lint_is_clean(synth: Synth) -> None:
    # the project's pinned cfn-lint (beside this interpreter) before any other on PATH: an older one
    # does not know newer CloudFormation properties that CDK writes
    beside = Path(sys.executable).with_name("cfn-lint")
    cfn_lint = str(beside) if beside.is_file() else shutil.which("cfn-lint")
    if cfn_lint is None:
        pytest.skip("cfn-lint is not installed")
    templates = sorted(str(p) for p in synth.outdir.glob("*.template.json"))
    # W3005: CDK writes a DependsOn next to a Ref for ECS's canary listener rule; harmless.
    result = subprocess.run(
        [cfn_lint, "--ignore-checks", "W3005", "--", *templates],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_bad_context_is_named() -> None:
    import aws_cdk as cdk

    from deploy.stacks.topology import DeployConfig

    with pytest.raises(ValueError, match=r"gpu_steps.*'upscale'"):
        DeployConfig.from_context(cdk.App(context={"gpu_steps": "tti,upscale"}))
    with pytest.raises(ValueError, match="gpu_warm_pool='many'"):
        DeployConfig.from_context(cdk.App(context={"gpu_warm_pool": "many"}))
    with pytest.raises(ValueError, match=r"step image3d has no backend 'shap-e'.*'triposr'"):
        DeployConfig.from_context(cdk.App(context={"gpu_backends": "image3d=shap-e"}))
    with pytest.raises(ValueError, match=r"'retopo=blender': expected <gpu step>=<backend>"):
        DeployConfig.from_context(cdk.App(context={"gpu_backends": "retopo=blender"}))


def test_gpu_backends_follow_the_gpu_steps_and_context() -> None:
    import aws_cdk as cdk

    from deploy.stacks.topology import DeployConfig

    for step, backend in GPU_BACKENDS.items():  # each default is a GPU backend the step declares
        assert load_catalog().steps[step].backends[backend].pool == "gpu", (step, backend)
    config = DeployConfig.from_context(
        cdk.App(context={"gpu_steps": "tti,image3d", "gpu_backends": "image3d=triposr"})
    )
    assert config.gpu_backends == {
        "tti": "sdxl",
        "image3d": "triposr",
    }  # e.g. where Hunyuan3D-2 is not licensed
