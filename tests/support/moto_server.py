"""A moto server on 127.0.0.1 standing in for SQS, S3 and EventBridge in tests.

moto's in-process decorator does not intercept aioboto3, so tests talk to a real HTTP
server (ThreadedMotoServer on a free port). State lives as long as the server does: use
fresh queue, bucket and bus names per test (`unique_aws_settings`).

Use the `moto_endpoint` fixture (register this module with `pytest_plugins`) or the
`moto_server()` context manager; `provision()` creates what the CDK app would (queues,
bucket, bus), and `moto_env()` gives the environment a child process (`assetcore serve ...`
on the aws profile) needs to reach the same server.
"""

from __future__ import annotations

import asyncio
import logging
import os
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import boto3
import pytest
from moto.server import ThreadedMotoServer

from assetcore.config import AwsSettings, Settings
from assetcore.queues.sqs import ensure_queues
from assetcore.steps.catalog import catalog_for

REGION = "us-east-1"
# Fake credentials: boto needs some, and they must never reach a real account.
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
}


@contextmanager
def moto_server() -> Iterator[str]:
    """Run a moto server; yields its endpoint URL. Sets fake AWS credentials while it runs."""
    saved = {name: os.environ.get(name) for name in CREDENTIALS}
    os.environ.update(CREDENTIALS)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one INFO line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield f"http://{host}:{port}"
    finally:
        server.stop()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def moto_env(endpoint: str, settings: AwsSettings | None = None) -> dict[str, str]:
    """Environment variables pointing an assetcore process (aws profile) at the moto server."""
    aws = settings or AwsSettings(endpoint_url=endpoint)
    return {
        **CREDENTIALS,
        "ASSETCORE_PROFILE": "aws",
        "ASSETCORE_AWS__REGION": aws.region,
        "ASSETCORE_AWS__ENDPOINT_URL": endpoint,
        "ASSETCORE_AWS__QUEUE_PREFIX": aws.queue_prefix,
        "ASSETCORE_AWS__BUCKET": aws.bucket,
        "ASSETCORE_AWS__EVENT_BUS": aws.event_bus,
    }


def unique_aws_settings(endpoint: str) -> AwsSettings:
    """Settings with names no other test uses (moto keeps state; PurgeQueue is rate-limited)."""
    tag = uuid.uuid4().hex[:10]
    return AwsSettings(
        region=REGION,
        endpoint_url=endpoint,
        queue_prefix=f"t{tag}-",
        bucket=f"assetcore-test-{tag}",
        event_bus=f"assetcore-test-{tag}",
    )


async def provision(settings: Settings, steps: Sequence[str] | None = None) -> None:
    """What the CDK app creates in production: the step queues, the bucket and the event bus."""
    aws = settings.aws

    def create_bucket_and_bus() -> None:
        boto3.client("s3", region_name=aws.region, endpoint_url=aws.endpoint_url).create_bucket(
            Bucket=aws.bucket
        )
        events = boto3.client("events", region_name=aws.region, endpoint_url=aws.endpoint_url)
        events.create_event_bus(Name=aws.event_bus)

    await asyncio.to_thread(create_bucket_and_bus)
    await ensure_queues(settings, catalog_for(settings).step_names if steps is None else steps)


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    with moto_server() as endpoint:
        yield endpoint
