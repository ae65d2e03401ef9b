"""The workers' step-duration metric: valid CloudWatch embedded metric format (EMF), and exactly
the metric the step dashboards graph (deploy/stacks/steps.py), so the duration widget fills."""

from __future__ import annotations

import ast
import io
import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from assetcore.telemetry import emf

ROOT = Path(__file__).resolve().parents[2]
STEPS_STACK = ROOT / "deploy" / "stacks" / "steps.py"
# CloudWatch's StandardUnit values (what EMF's MetricDefinition.Unit accepts).
UNITS = {
    "Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes", "Terabytes",
    "Bits", "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count", "Bytes/Second",
    "Kilobytes/Second", "Megabytes/Second", "Gigabytes/Second", "Terabytes/Second", "Bits/Second",
    "Kilobits/Second", "Megabits/Second", "Gigabits/Second", "Terabits/Second", "Count/Second", "None",
}  # fmt: skip
# CDK's cloudwatch.Unit member names -> CloudWatch unit strings (the ones a dashboard may use).
CDK_UNITS = {"SECONDS": "Seconds", "MILLISECONDS": "Milliseconds", "COUNT": "Count", "NONE": "None"}


def assert_valid_emf(record: dict[str, Any]) -> None:
    """The rules of the EMF specification (CloudWatch_Embedded_Metric_Format_Specification)."""
    assert isinstance(record, dict)
    assert len(json.dumps(record)) < 1_000_000  # a log event is at most 1 MB
    aws = record["_aws"]
    assert isinstance(aws["Timestamp"], int) and not isinstance(aws["Timestamp"], bool)
    assert aws["Timestamp"] > 1_500_000_000_000  # milliseconds since the epoch, not seconds
    directives = aws["CloudWatchMetrics"]
    assert isinstance(directives, list) and directives
    for directive in directives:
        assert isinstance(directive["Namespace"], str) and 1 <= len(directive["Namespace"]) <= 1024
        assert isinstance(directive["Dimensions"], list)
        for dimension_set in directive["Dimensions"]:
            assert isinstance(dimension_set, list) and len(dimension_set) <= 30
            for name in dimension_set:
                # A dimension is a root member whose value is a non-empty string.
                assert isinstance(record.get(name), str) and 1 <= len(record[name]) <= 1024, name
        metrics = directive["Metrics"]
        assert isinstance(metrics, list) and 1 <= len(metrics) <= 100
        for metric in metrics:
            assert isinstance(metric["Name"], str) and 1 <= len(metric["Name"]) <= 1024
            assert metric.get("Unit", "None") in UNITS
            assert metric.get("StorageResolution", 60) in (1, 60)
            value = record[metric["Name"]]  # a root member: a number or up to 100 numbers
            values = value if isinstance(value, list) else [value]
            assert 1 <= len(values) <= 100
            for v in values:
                assert isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def dashboard_metric() -> dict[str, Any]:
    """The step-duration metric of the step dashboard, read from the CDK source (no synth)."""
    tree = ast.parse(STEPS_STACK.read_text())
    constants = {
        target.id: node.value.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
        for target in node.targets
        if isinstance(target, ast.Name)
    }

    def value(node: ast.expr) -> Any:
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            return constants[node.id]
        if isinstance(node, ast.Attribute):  # cloudwatch.Unit.SECONDS
            return CDK_UNITS[node.attr]
        if isinstance(node, ast.Dict):
            return {value(k): ast.unparse(v) for k, v in zip(node.keys, node.values, strict=True) if k}
        raise AssertionError(f"unexpected {ast.unparse(node)}")

    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and ast.unparse(node.func).endswith("Metric"):
            keywords = {k.arg: k.value for k in node.keywords if k.arg}
            if "metric_name" in keywords and value(keywords["metric_name"]) == emf.STEP_DURATION:
                found.append(
                    {name: value(keywords[name]) for name in ("namespace", "dimensions_map", "unit")}
                )
    assert found, f"no StepDuration metric in {STEPS_STACK}"
    assert all(f == found[0] for f in found)
    return found[0]


def record(**overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "backend": "cpu",
        "backend_version": "1.2.0",
        "job_id": "job_1",
        "step_id": "stp_1",
        "attempt": 1,
        "trace_id": "0af7651916cd43dd8448eb211c80319c",
    }
    return emf.step_duration_record("retopo", 3.25, **(fields | overrides))


@pytest.fixture
def stdout_emf() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    emf.enable(stream)
    try:
        yield stream
    finally:
        emf.disable()


def test_the_step_duration_record_is_valid_emf() -> None:
    line = record()
    assert_valid_emf(line)
    assert line["Step"] == "retopo" and line["StepDuration"] == 3.25
    assert line["TraceId"] == "0af7651916cd43dd8448eb211c80319c"
    assert_valid_emf(record(trace_id=None))
    assert "TraceId" not in record(trace_id=None)


def test_the_record_is_the_metric_the_dashboard_graphs() -> None:
    wanted = dashboard_metric()
    [directive] = record()["_aws"]["CloudWatchMetrics"]
    [metric] = directive["Metrics"]
    assert directive["Namespace"] == wanted["namespace"] == "AssetCore"
    assert metric["Name"] == emf.STEP_DURATION == "StepDuration"
    assert metric["Unit"] == wanted["unit"]
    # CloudWatch matches a metric by its exact dimension set: exactly {Step}, nothing more.
    assert directive["Dimensions"] == [sorted(wanted["dimensions_map"])] == [["Step"]]


def test_emit_writes_one_compact_line(stdout_emf: io.StringIO) -> None:
    assert emf.emit(record())
    assert emf.emit(record(step_id="stp_2"))
    lines = stdout_emf.getvalue().splitlines()
    assert len(lines) == 2 and all(" " not in line for line in lines)  # one log event each
    parsed = [json.loads(line) for line in lines]
    for line in parsed:
        assert_valid_emf(line)
    assert [p["StepId"] for p in parsed] == ["stp_1", "stp_2"]


def test_emf_is_off_unless_a_deployable_turns_it_on(capsys: pytest.CaptureFixture[str]) -> None:
    assert not emf.emit(record())
    assert capsys.readouterr().out == ""
    emf.enable()
    try:
        assert emf.emit(record())
    finally:
        emf.disable()
    assert_valid_emf(json.loads(capsys.readouterr().out))
