"""assetcore.rpc without servers: worker credentials, bounded statuses, error mapping, role tables."""

from __future__ import annotations

import json

import grpc
import pytest
from google.rpc import error_details_pb2, status_pb2
from sqlalchemy.exc import OperationalError

from assetcore.errors import ApiError, InvalidArgument, PermissionDenied, Unauthenticated, Unavailable
from assetcore.proto.v1 import step_pb2
from assetcore.rpc.channel import MethodPolicy, RetryPolicy, service_config, token_from_metadata
from assetcore.rpc.credentials import (
    ALL_TENANTS,
    WorkerAuthenticator,
    WorkerScope,
    mint_worker_token,
    verify_worker_token,
)
from assetcore.rpc.interceptors import current_principal, method_roles
from assetcore.rpc.status import MAX_FIELD_BYTES, MAX_MESSAGE_BYTES, bounded, to_api_error, to_status

SECRET = "s3cret-internal"


def test_worker_tokens_carry_their_scope_and_cannot_be_forged() -> None:
    everyone = mint_worker_token(SECRET)
    scoped = mint_worker_token(SECRET, "ten_a")
    assert everyone.startswith("wkr1.*.") and scoped.startswith("wkr1.ten_a.")
    assert SECRET not in everyone and SECRET not in scoped
    assert verify_worker_token(SECRET, everyone) == WorkerScope(ALL_TENANTS)
    assert verify_worker_token(SECRET, scoped) == WorkerScope("ten_a")
    assert verify_worker_token(SECRET, SECRET) == WorkerScope(ALL_TENANTS), "the raw secret, mid-deploy"
    assert verify_worker_token(SECRET, SECRET, accept_raw=False) is None
    assert verify_worker_token(SECRET, "ac_key_123") is None, "an API key is not a worker credential"
    widened = scoped.replace("wkr1.ten_a.", "wkr1.*.")
    for forged in (widened, mint_worker_token("other", "ten_a"), "wkr1.ten_a", "wkr1.a/b.x", "wkr1.*.x.y"):
        with pytest.raises(Unauthenticated):
            verify_worker_token(SECRET, forged)
    with pytest.raises(ValueError):
        mint_worker_token(SECRET, "../ten_b")


def test_a_scope_decides_the_tenant() -> None:
    scoped = WorkerScope("ten_a")
    assert scoped.tenant_for("") == "ten_a" and scoped.tenant_for("ten_a") == "ten_a"
    with pytest.raises(PermissionDenied):
        scoped.tenant_for("ten_b")
    everyone = WorkerScope(ALL_TENANTS)
    assert everyone.tenant_for("ten_b") == "ten_b"
    for bad in ("", "t/../x", "a" * 65):
        with pytest.raises(InvalidArgument):
            everyone.tenant_for(bad)


async def test_worker_authenticator_accepts_worker_credentials_only() -> None:
    auth = WorkerAuthenticator(SECRET)
    assert await auth.authenticate(mint_worker_token(SECRET, "ten_a")) == WorkerScope("ten_a")
    for token in (None, "", "ac_key_123", mint_worker_token("other")):
        with pytest.raises(Unauthenticated):
            await auth.authenticate(token)


def test_statuses_stay_small_whatever_the_error_echoes() -> None:
    error = InvalidArgument("malformed id '" + "x\u00e9" * 200_000 + "'", field="input." + "f" * 10_000)
    status = to_status(error)
    assert status.code == grpc.StatusCode.INVALID_ARGUMENT
    assert len(status.details.encode()) <= MAX_MESSAGE_BYTES + 3
    trailer = dict(status.trailing_metadata)["grpc-status-details-bin"]
    assert len(trailer) < 2 * (MAX_MESSAGE_BYTES + MAX_FIELD_BYTES) + 200
    decoded = status_pb2.Status.FromString(trailer)
    bad = error_details_pb2.BadRequest()
    decoded.details[1].Unpack(bad)
    assert bad.field_violations[0].field.startswith("input.fff")
    assert bounded("short", 10) == "short" and bounded("\u00e9" * 10, 7) == "\u00e9\u00e9\u2026"


def test_errors_map_to_api_errors() -> None:
    denied = PermissionDenied("no")
    assert to_api_error(denied) is denied
    unavailable = to_api_error(OperationalError("SELECT 1", {}, Exception("database is locked")))
    assert isinstance(unavailable, Unavailable) and unavailable.grpc_code == grpc.StatusCode.UNAVAILABLE
    internal = to_api_error(KeyError("secret detail"))
    assert type(internal) is ApiError and internal.code == "INTERNAL" and "secret" not in internal.message


def test_role_tables_must_name_every_method() -> None:
    service = step_pb2.DESCRIPTOR.services_by_name["StepService"]
    assert method_roles(service, {"Run": "worker", "Describe": "worker"}) == {
        "/assetcore.v1.StepService/Run": "worker",
        "/assetcore.v1.StepService/Describe": "worker",
    }
    with pytest.raises(ValueError, match="missing \\['Describe'\\]"):
        method_roles(service, {"Run": "worker"})
    with pytest.raises(ValueError, match="unknown \\['Walk'\\]"):
        method_roles(service, {"Run": "worker", "Describe": "worker", "Walk": "worker"})


def test_handlers_without_the_interceptor_fail_closed() -> None:
    with pytest.raises(RuntimeError, match="no authenticated WorkerScope"):
        current_principal(WorkerScope)


def test_service_config_and_bearer_metadata() -> None:
    retried = MethodPolicy(timeout_s=3.0, wait_for_ready=True, retry=RetryPolicy(max_attempts=4))
    quick = MethodPolicy(timeout_s=0.5)
    config = json.loads(service_config("pkg.Svc", {"A": retried, "B": retried, "C": quick}))
    (first,) = config["methodConfig"]  # only retries live in the service config
    assert first["name"] == [{"service": "pkg.Svc", "method": "A"}, {"service": "pkg.Svc", "method": "B"}]
    assert first["retryPolicy"]["maxAttempts"] == 4
    assert first["retryPolicy"]["retryableStatusCodes"] == ["UNAVAILABLE"]
    assert retried.call_options() == {"timeout": 3.0, "wait_for_ready": True}
    assert quick.call_options() == {"timeout": 0.5, "wait_for_ready": None}
    assert token_from_metadata((("x", "y"), ("authorization", "Bearer abc "))) == "abc"
    assert token_from_metadata((("authorization", "Basic abc"),)) is None
