"""`assetcore generate` on the default (procedural) tti backend: an unknown subject ends the
command with UNSUPPORTED_SUBJECT before anything runs; with tti.stand_in the job runs and its
summary and report.json carry the warning."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from assetcore.cli import main

pytestmark = pytest.mark.timeout(120)


def test_an_unknown_subject_exits_non_zero_naming_the_word(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(
        main, ["generate", "a giant spider", "-o", str(out), "--data-dir", str(tmp_path)]
    )
    assert result.exit_code == 2, result.output
    assert "UNSUPPORTED_SUBJECT: input.prompt.concept: " in result.stderr
    assert "cannot draw 'spider'" in result.stderr and "tti.stand_in=true" in result.stderr
    assert not out.exists()


def test_a_stand_in_is_a_warning_in_the_summary_and_the_report(tmp_path: Path) -> None:
    out = tmp_path / "out"
    command = [
        "generate",
        "a giant spider",
        "--pipeline",
        "concept",
        "-o",
        str(out),
        "--data-dir",
        str(tmp_path),
    ]
    options = ["--option", "tti.stand_in=true", "--option", "tti.size=256"]
    result = CliRunner().invoke(main, [*command, *options])
    assert result.exit_code == 0, result.output
    warning = (
        "tti: stand-in: 'spider' is not in the procedural vocabulary; drew a generic object in its place"
    )
    assert f"warning: {warning}" in " ".join(result.stdout.split())  # as rich wrapped it
    report = json.loads((out / "report.json").read_text())
    assert report["state"] == "JOB_STATE_SUCCEEDED" and report["warnings"] == [warning]
