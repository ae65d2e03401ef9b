"""Job and step states as stored (lower-case words) and on the wire (proto enums)."""

from __future__ import annotations

from assetcore.proto.v1 import job_pb2

QUEUED = "queued"
RUNNING = "running"
AWAITING_REVIEW = "awaiting_review"
SUCCEEDED = "succeeded"
FAILED = "failed"
CANCELLED = "cancelled"
PENDING = "pending"  # steps only: waiting for parents

# Attempts only: a redelivery replaced it (its late result may still count); a worker released it.
SUPERSEDED = "superseded"
ABANDONED = "abandoned"

JOB_TERMINAL = frozenset({SUCCEEDED, FAILED, CANCELLED})
ACTIVE_JOB_STATES = frozenset({QUEUED, RUNNING, AWAITING_REVIEW})  # count against the tenant's quota
STEP_DONE = frozenset({SUCCEEDED, FAILED, CANCELLED})

JOB_STATE_PROTO = {
    QUEUED: job_pb2.JOB_STATE_QUEUED,
    RUNNING: job_pb2.JOB_STATE_RUNNING,
    AWAITING_REVIEW: job_pb2.JOB_STATE_AWAITING_REVIEW,
    SUCCEEDED: job_pb2.JOB_STATE_SUCCEEDED,
    FAILED: job_pb2.JOB_STATE_FAILED,
    CANCELLED: job_pb2.JOB_STATE_CANCELLED,
}
JOB_STATE_NAME = {v: k for k, v in JOB_STATE_PROTO.items()}

STEP_STATE_PROTO = {
    PENDING: job_pb2.STEP_STATE_PENDING,
    QUEUED: job_pb2.STEP_STATE_QUEUED,
    RUNNING: job_pb2.STEP_STATE_RUNNING,
    AWAITING_REVIEW: job_pb2.STEP_STATE_AWAITING_REVIEW,
    SUCCEEDED: job_pb2.STEP_STATE_SUCCEEDED,
    FAILED: job_pb2.STEP_STATE_FAILED,
    CANCELLED: job_pb2.STEP_STATE_CANCELLED,
}
