"""The StepQueue protocol: one queue per step, at-least-once, with leases and a DLQ.

Semantics follow SQS so the SQL-table queue (local profile) and SQS (production) are
interchangeable: a received message is invisible for its visibility timeout (the lease);
the worker extends it while working (heartbeat), deletes it when done, or makes it visible
again (release, retry delay). A message received `max_receives` times without being deleted
moves to the queue's DLQ on the next receive. Each receive issues a new receipt; only the
latest receipt can delete or extend a message.

Fairness: every message names its tenant (`group`). Within one priority, consumers are served
the tenants with waiting messages in turn, so one tenant's burst cannot starve another's
single message: the SQL queue claims round-robin across groups (fair.py), SQS fair queues
do it from the messages' MessageGroupId.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

DLQ_SUFFIX = "-dlq"


def dlq_name(queue: str) -> str:
    return f"{queue}{DLQ_SUFFIX}"


@dataclass(frozen=True)
class QueueMessage:
    queue: str
    message_id: str
    receipt: str
    body: bytes
    receive_count: int  # 1 on the first delivery
    enqueued_at: float


@dataclass(frozen=True)
class OutgoingMessage:
    queue: str
    body: bytes
    priority: int = 0
    delay_s: float = 0.0
    group: str = ""  # the tenant the message is for: consumers take tenants in turn


@dataclass(frozen=True)
class QueueDepth:
    visible: int  # waiting to be received
    in_flight: int  # received, lease not expired
    delayed: int  # sent with a delay, or released with one
    dead: int  # in the DLQ


class QueueError(Exception):
    """A queue operation failed (the backing store is unreachable or rejected it)."""


class StaleReceipt(QueueError):
    """The message was redelivered (or deleted) since this receipt was issued."""


class StepQueue(Protocol):
    async def send(
        self, queue: str, body: bytes, *, priority: int = 0, delay_s: float = 0.0, group: str = ""
    ) -> str:
        """Enqueue; returns the message id. Higher priority is received first where supported;
        `group` is the tenant (see the module's docstring on fairness)."""

    async def send_many(self, messages: Sequence[OutgoingMessage]) -> None:
        """Enqueue several messages in as few round trips as the backend allows."""

    async def receive(
        self, queues: Sequence[str], *, max_messages: int, visibility_timeout_s: float, wait_s: float
    ) -> list[QueueMessage]:
        """Up to max_messages, draining earlier queues in `queues` before later ones.

        Waits up to wait_s for the first message (long polling); returns [] when none came.
        """

    async def delete(self, message: QueueMessage) -> None: ...

    async def change_visibility(self, message: QueueMessage, timeout_s: float) -> None:
        """Extend the lease (heartbeat), or with 0 / a delay make the message visible again."""

    async def dead_letter(self, message: QueueMessage) -> None:
        """Move a message to its queue's DLQ now (the step used up its attempts)."""

    async def depth(self, queue: str) -> QueueDepth: ...

    async def close(self) -> None: ...
