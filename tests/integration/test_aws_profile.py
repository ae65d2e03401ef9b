"""The aws profile end to end: PostgreSQL, SQS, S3 and EventBridge (moto's server), same code paths.

The embedded mesh with noop backends runs a character job on the aws adapters: tasks travel
through SQS (with its DLQ redrive), artifacts and library files land in S3, the deliverables'
presigned URLs download, and the job's events reach the EventBridge bus.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from pathlib import Path

import boto3
import httpx
import pytest

from assetcore.adapters import open_signer
from assetcore.config import Settings
from assetcore.proto.v1 import job_pb2
from assetcore.steps.catalog import load_catalog
from tests.conftest import PROBE
from tests.support.harness import embedded
from tests.support.moto_server import provision, unique_aws_settings

pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.timeout(300)]


@pytest.fixture
async def aws_settings(tmp_path: Path, moto_endpoint: str, postgres_server_url: str) -> Settings:
    from tests.support.postgres import create_database

    database = await create_database(postgres_server_url, f"aws_{tmp_path.name[-12:].lower()}")
    settings = Settings(
        profile="aws",
        data_dir=tmp_path / "data",
        database_url=database,
        plugins=[PROBE],  # the probe pipeline: the control plane on the aws adapters
        steps=list(load_catalog((PROBE,)).pipelines["probe"].step_names),
        aws=unique_aws_settings(moto_endpoint),
        retry={"max_attempts": 2, "base_delay_s": 0.05, "max_delay_s": 0.1},
        worker={"visibility_timeout_s": 5, "concurrency": 2, "progress_interval_s": 0.05},
        internal_token="test-internal-token",
    )
    await provision(settings)
    return settings


def _bus_to_queue(settings: Settings) -> str:
    """An EventBridge rule sending every job event on the bus to an SQS queue we can read."""
    aws = settings.aws
    sqs = boto3.client("sqs", region_name=aws.region, endpoint_url=aws.endpoint_url)
    url = sqs.create_queue(QueueName=f"{aws.queue_prefix}events")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events = boto3.client("events", region_name=aws.region, endpoint_url=aws.endpoint_url)
    events.put_rule(
        Name="all-job-events",
        EventBusName=aws.event_bus,
        EventPattern=json.dumps({"source": ["assetcore.orchestrator"]}),
    )
    events.put_targets(Rule="all-job-events", EventBusName=aws.event_bus, Targets=[{"Id": "q", "Arn": arn}])
    return str(url)


async def test_a_job_runs_on_the_aws_adapters(aws_settings: Settings) -> None:
    events_queue = await asyncio.to_thread(_bus_to_queue, aws_settings)
    async with embedded(aws_settings) as h:
        done = await h.finish((await h.create("a knight")).id)
        assert done.state == job_pb2.JOB_STATE_SUCCEEDED
        asset = await h.api.get_asset(h.key, done.asset_id)
        files = asset.versions[0].files
        # While the mesh runs: WatchJob reads the job's event log, and the outbox relay puts the
        # same events on the bus a moment later (a mesh shut down first could keep the last ones).
        kinds = await _bus_event_kinds(aws_settings, events_queue)
    assert {"queued", "started", "step_completed", "finished"} <= kinds
    assert "progress" not in kinds, "progress stays in the job's log, off the bus"
    s3 = boto3.client("s3", region_name=aws_settings.aws.region, endpoint_url=aws_settings.aws.endpoint_url)
    listed = await asyncio.to_thread(s3.list_objects_v2, Bucket=aws_settings.aws.bucket)
    keys = {o["Key"] for o in listed.get("Contents", [])}
    assert {f.blob_key for f in files} <= keys, "library files land in S3 at versioned paths"
    signer = open_signer(aws_settings)
    async with httpx.AsyncClient(timeout=30) as http:
        for file in files:
            response = await http.get(signer.sign(file.blob_key, 600))
            assert response.status_code == 200
            assert file.name == "preview" or hashlib.sha256(response.content).hexdigest() == file.sha256


async def _bus_event_kinds(settings: Settings, events_queue: str, timeout_s: float = 60.0) -> set[str]:
    """The detail-types read off the bus's tap queue until the job's `finished` (bounded in time)."""
    sqs = boto3.client("sqs", region_name=settings.aws.region, endpoint_url=settings.aws.endpoint_url)
    kinds: set[str] = set()
    deadline = time.monotonic() + timeout_s
    while "finished" not in kinds and time.monotonic() < deadline:
        received = await asyncio.to_thread(
            sqs.receive_message, QueueUrl=events_queue, MaxNumberOfMessages=10, WaitTimeSeconds=1
        )
        for message in received.get("Messages", []):
            kinds.add(json.loads(message["Body"])["detail-type"])
    return kinds
