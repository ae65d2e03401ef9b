"""The `assetcore` command: help everywhere, argument errors, key creation."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from assetcore.cli import main

COMMANDS = [
    [],
    ["generate"],
    ["up"],
    ["serve"],
    ["worker"],
    ["jobs"],
    ["watch"],
    ["keys"],
    ["keys", "create"],
    ["db"],
    ["db", "upgrade"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "assetcore")
def test_every_command_has_help(command: list[str]) -> None:
    result = CliRunner().invoke(main, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output and len(result.output.splitlines()) > 3


def test_bad_arguments_are_named() -> None:
    runner = CliRunner()
    serve = runner.invoke(main, ["serve", "teleporter"])
    assert serve.exit_code == 2 and "teleporter" in serve.output
    worker = runner.invoke(main, ["worker", "--steps", "tti,nope"])
    assert worker.exit_code == 2 and "--steps" in worker.output
    backend = runner.invoke(main, ["generate", "a knight", "--backend", "retopo"])
    assert backend.exit_code == 2 and "STEP=BACKEND" in backend.output


def test_keys_create_prints_a_key_once(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["keys", "create", "--tenant", "acme", "--role", "viewer", "--data-dir", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    key_id, key = result.output.split()
    assert key_id.startswith("key_") and key.startswith("ac_")
    assert key not in (tmp_path / "assetcore.db").read_bytes().decode(errors="replace")
