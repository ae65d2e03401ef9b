"""The aioboto3 client behind each aws-profile adapter: one per adapter instance, made lazily.

Constructing an adapter does no I/O (settings may be built before an event loop exists);
the first call opens the client and close() releases its connection pool. Every client
has explicit connect/read timeouts and the standard retry mode.
"""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from typing import Any

import aioboto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from assetcore.config import AwsSettings

CONNECT_TIMEOUT_S = 5.0
READ_TIMEOUT_S = 30.0  # above SQS's longest long poll (20 s)
MAX_ATTEMPTS = 3


def client_config(**extra: Any) -> Config:
    return Config(
        connect_timeout=CONNECT_TIMEOUT_S,
        read_timeout=READ_TIMEOUT_S,
        retries={"max_attempts": MAX_ATTEMPTS, "mode": "standard"},
        **extra,
    )


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def describe_error(exc: ClientError | BotoCoreError) -> str:
    if isinstance(exc, ClientError):
        message = exc.response.get("Error", {}).get("Message", "")
        return f"{error_code(exc)}: {message}" if message else error_code(exc)
    return str(exc)


class LazyClient:
    def __init__(self, service: str, settings: AwsSettings) -> None:
        self._service = service
        self._settings = settings
        self._lock = asyncio.Lock()
        self._stack: AsyncExitStack | None = None
        self._client: Any = None

    async def get(self) -> Any:
        if self._client is None:
            async with self._lock:
                if self._client is None:
                    stack = AsyncExitStack()
                    session = aioboto3.Session()
                    self._client = await stack.enter_async_context(
                        session.client(
                            self._service,
                            region_name=self._settings.region,
                            endpoint_url=self._settings.endpoint_url,
                            config=client_config(),
                        )
                    )
                    self._stack = stack
        return self._client

    async def close(self) -> None:
        stack, self._stack, self._client = self._stack, None, None
        if stack is not None:
            await stack.aclose()
