"""The tables (SQLAlchemy Core). Alembic migrations in migrations/ create them.

Portable between SQLite (local profile) and PostgreSQL (production): times are epoch
seconds as doubles, structured values are protobuf bytes or JSON text, ids are text.
Every tenant-owned row carries tenant_id, and every query filters on it.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

tenants = Table(
    "tenants",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("created_at", Float, nullable=False),
)

projects = Table(
    "projects",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("tenant_id", String(40), ForeignKey("tenants.id"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("created_at", Float, nullable=False),
    UniqueConstraint("tenant_id", "name"),
)

# Who holds a role: a user (any principal id the tenant chooses) with viewer, editor or admin on
# one project, or with admin on the whole tenant (project_id NULL: manages its projects).
# Removal keeps the row (the audit log names it) and revokes its keys.
members = Table(
    "members",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("tenant_id", String(40), ForeignKey("tenants.id"), nullable=False),
    Column("project_id", String(40), ForeignKey("projects.id")),  # NULL: a role on the tenant
    Column("user_id", String(200), nullable=False),
    Column("role", String(20), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("removed_at", Float),
    Index(None, "tenant_id", "project_id", "user_id"),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("tenant_id", String(40), ForeignKey("tenants.id"), nullable=False),
    Column("project_id", String(40), ForeignKey("projects.id"), nullable=False),
    Column("role", String(20), nullable=False),  # as created; the member's current role applies
    # HMAC-SHA256(pepper, key) ("hmac"); keys made before 0005 keep their plain SHA-256 ("sha256")
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("created_at", Float, nullable=False),
    Column("revoked_at", Float),
    Column("member_id", String(40), ForeignKey("members.id")),  # set for every key from 0005 on
    Column("expires_at", Float),
    Column("hash_scheme", String(10), nullable=False, server_default="sha256"),
)

# Append-only: the code has INSERT and SELECT on it, never UPDATE or DELETE.
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("tenant_id", String(40), nullable=False),
    Column("project_id", String(40), nullable=False),
    Column("at", Float, nullable=False),
    Column("user_id", String(200), nullable=False),  # the member acting ("" for a legacy key)
    Column("member_id", String(40), nullable=False),
    Column("key_id", String(40), nullable=False),
    Column("action", String(40), nullable=False),  # job.create, member.add, api_key.revoke, ...
    Column("object_id", String(200), nullable=False),
    Column("detail", Text, nullable=False),  # JSON object
    Index(None, "tenant_id", "project_id", "id"),
)

jobs = Table(
    "jobs",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("tenant_id", String(40), nullable=False),
    Column("project_id", String(40), nullable=False),
    Column("pipeline", String(40), nullable=False),
    Column("state", String(20), nullable=False),
    Column("input", LargeBinary, nullable=False),  # JobInput, resolved (defaults filled in)
    Column("idempotency_key", String(200)),
    Column("priority", Integer, nullable=False),
    Column("event_seq", Integer, nullable=False, default=0),  # last JobEvent sequence
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Column("started_at", Float),
    Column("finished_at", Float),
    Column("error_code", String(60)),
    Column("error_message", Text),
    Column("cost_usd", Float, nullable=False, default=0.0),
    Column("asset_id", String(40)),
    Column("asset_version", Integer),
    Column("attachments", Text),  # JSON: files given with the input (a BVH), as artifacts
    Column("trace_parent", String(60)),  # W3C traceparent of the request that created the job
    UniqueConstraint("tenant_id", "project_id", "idempotency_key"),  # a key is the project's own
    Index(None, "tenant_id", "project_id", "id"),
    Index(None, "tenant_id", "state"),
    Index(None, "tenant_id", "created_at"),
)

steps = Table(
    "steps",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("job_id", String(40), ForeignKey("jobs.id"), nullable=False),
    Column("tenant_id", String(40), nullable=False),
    Column("name", String(40), nullable=False),
    Column("ordinal", Integer, nullable=False),
    Column("state", String(20), nullable=False),
    Column("depends_on", Text, nullable=False),  # JSON list of step names
    Column("generation", Integer, nullable=False, default=0),
    Column("attempt", Integer, nullable=False, default=0),  # attempts started in this generation
    Column("max_attempts", Integer, nullable=False),
    Column("seed", Integer, nullable=False),
    Column("pool", String(10)),
    Column("review_gate", Boolean, nullable=False, default=False),
    Column("review_notes", Text),
    Column("backend", String(60)),
    Column("backend_version", String(60)),
    Column("queued_at", Float),
    Column("started_at", Float),
    Column("finished_at", Float),
    Column("duration_s", Float),
    Column("cost_usd", Float, nullable=False, default=0.0),
    Column("progress", Float, nullable=False, default=0.0),
    Column("progress_message", Text),
    Column("progress_at", Float),
    Column("cancel_requested", Boolean, nullable=False, default=False),
    Column("cache_hit", Boolean, nullable=False, default=False),
    Column("notes", Text),  # JSON list
    Column("preview_key", String(300)),
    Column("preview_sha256", String(64)),  # of the preview_key blob, as the worker stored it
    Column("preview_size_bytes", Integer),
    Column("error_code", String(60)),
    Column("error_message", Text),
    UniqueConstraint("job_id", "name"),
    Index(None, "name", "state", "queued_at"),
)

step_attempts = Table(
    "step_attempts",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("step_id", String(40), ForeignKey("steps.id"), nullable=False),
    Column("generation", Integer, nullable=False),
    Column("number", Integer, nullable=False),
    Column("worker_id", String(200), nullable=False),
    Column("delivery_count", Integer, nullable=False),
    Column("state", String(20), nullable=False),  # running | succeeded | failed | abandoned | superseded
    Column("started_at", Float, nullable=False),
    Column("finished_at", Float),
    Column("error_code", String(60)),
    Column("error_message", Text),
    Index(None, "step_id"),
    Index(None, "started_at"),
)

artifacts = Table(
    "artifacts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("tenant_id", String(40), nullable=False),
    Column("job_id", String(40), nullable=False),
    Column("step_id", String(40), ForeignKey("steps.id"), nullable=False),
    Column("generation", Integer, nullable=False),
    Column("name", String(60), nullable=False),
    Column("media_type", String(100), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("size_bytes", Integer, nullable=False),
    Column("blob_key", String(300), nullable=False),
    Column("preview_key", String(300)),
    Column("created_at", Float, nullable=False),
    UniqueConstraint("step_id", "generation", "name"),
    Index(None, "job_id"),
)

job_events = Table(
    "job_events",
    metadata,
    Column("job_id", String(40), ForeignKey("jobs.id"), primary_key=True),
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("at", Float, nullable=False),
    Column("payload", LargeBinary, nullable=False),  # JobEvent
)

job_transitions = Table(
    "job_transitions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("job_id", String(40), ForeignKey("jobs.id"), nullable=False),
    Column("step_name", String(40)),  # null for the job's own transitions
    Column("from_state", String(20), nullable=False),
    Column("to_state", String(20), nullable=False),
    Column("at", Float, nullable=False),
    Index(None, "job_id"),
)

# Transactional outbox: written in the same transaction as the state change it announces.
outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(10), nullable=False),  # enqueue | event
    Column("topic", String(100), nullable=False),  # queue name, or event kind
    Column("payload", LargeBinary, nullable=False),  # StepTask or JobEvent
    Column("priority", Integer, nullable=False, default=0),
    Column("delay_s", Float, nullable=False, default=0.0),
    Column("created_at", Float, nullable=False),
    Column("published_at", Float),
    Column("lease_until", Float),  # a polling relay's claim: others skip the row until then
    Index(None, "published_at", "id"),
)

assets = Table(
    "assets",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("tenant_id", String(40), nullable=False),
    Column("project_id", String(40), nullable=False),
    Column("name", String(200), nullable=False),
    Column("asset_type", String(20), nullable=False),
    Column("rig_type", String(20), nullable=False),
    Column("prompt", Text, nullable=False),
    Column("tags", Text, nullable=False),  # JSON list
    Column("search_text", Text, nullable=False),  # lower-cased name + prompt + tags
    Column("latest_version", Integer, nullable=False, default=0),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Index(None, "tenant_id", "project_id", "id"),
)

asset_versions = Table(
    "asset_versions",
    metadata,
    Column("asset_id", String(40), ForeignKey("assets.id"), primary_key=True),
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("job_id", String(40), nullable=False, unique=True),  # one version per job, ever
    Column("files", LargeBinary, nullable=False),  # AssetVersion (files) as protobuf
    Column("cost_usd", Float, nullable=False),
    Column("created_at", Float, nullable=False),
)

# A job's asset version number, claimed before its files are copied to the version's paths
# (outside the transaction that records the version): no two plans ever share a version's
# paths. The same job with the same files (a redelivery) gets its claim back.
asset_version_claims = Table(
    "asset_version_claims",
    metadata,
    Column("asset_id", String(40), primary_key=True),
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("job_id", String(40), nullable=False),
    Column("plan_sha256", String(64), nullable=False),  # the files to publish: sources and names
    Column("claimed_at", Float, nullable=False),
    UniqueConstraint("job_id", "plan_sha256"),
)

# Measured step durations (exponentially weighted) for queue ETAs.
step_stats = Table(
    "step_stats",
    metadata,
    Column("step", String(40), primary_key=True),
    Column("mean_s", Float, nullable=False),
    Column("samples", Integer, nullable=False),
    Column("updated_at", Float, nullable=False),
)

# What the step workers of this deployment offer: each registers its backend and the features
# available where it runs (e.g. FBX where bpy is installed); CreateJob checks jobs against it.
worker_offers = Table(
    "worker_offers",
    metadata,
    Column("step", String(40), primary_key=True),
    Column("backend", String(60), primary_key=True),
    Column("version", String(120), nullable=False),
    Column("features", Text, nullable=False),  # JSON list
    Column("worker_id", String(200), nullable=False),
    Column("registered_at", Float, nullable=False),
)

# The durable SQL-table queue (local profile; also usable on Postgres). See assetcore/queues/sql.py.
queue_messages = Table(
    "queue_messages",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("queue", String(100), nullable=False),
    Column("priority", Integer, nullable=False),  # higher first
    Column("body", LargeBinary, nullable=False),
    Column("enqueued_at", Float, nullable=False),
    Column("visible_at", Float, nullable=False),
    Column("receive_count", Integer, nullable=False, default=0),
    Column("max_receives", Integer, nullable=False),
    Column("receipt", String(40)),
    Column("fair_group", String(80), nullable=False, server_default=""),  # the tenant: fair dequeue
    Index(None, "queue", "visible_at"),
)

# When each tenant (fair group) of a queue was last served: the SQL queue's claim serves the
# least recently served group first, round-robin across tenants (assetcore/queues/fair.py).
queue_turns = Table(
    "queue_turns",
    metadata,
    Column("queue", String(100), primary_key=True),
    Column("fair_group", String(80), primary_key=True),
    Column("served_at", Float, nullable=False),
)

# Token buckets of the mutation rate limits (services/orchestrator/rate_limits.py), one row per
# bucket ("key:<api key id>", "tenant:<tenant id>"), shared by every orchestrator replica.
rate_buckets = Table(
    "rate_buckets",
    metadata,
    Column("bucket", String(120), primary_key=True),
    Column("tokens", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
)
