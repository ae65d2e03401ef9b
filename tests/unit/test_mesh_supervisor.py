"""`assetcore up`'s supervisor restarts each child on its own (issue 9: while it backed off on a
crash-looping orchestrator, a killed export service waited too); mesh.json names metrics ports."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path

from assetcore.mesh import Child, Mesh, supervise
from tests.conftest import fast_settings


class Scripted(Child):
    """A child running a short Python script instead of `assetcore serve`."""

    def __init__(self, name: str, script: str, backoff_s: float) -> None:
        super().__init__(name, {}, "", backoff_s=backoff_s)
        self.script = script

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(sys.executable, "-c", self.script)
        self.started_at = time.monotonic()


async def test_a_crash_looping_child_does_not_delay_another_childs_restart() -> None:
    looping = Scripted("orchestrator", "raise SystemExit(1)", backoff_s=8.0)  # next restart in 16 s
    steady = Scripted("export", "import time; time.sleep(60)", backoff_s=0.05)
    for child in (looping, steady):
        await child.start()
    stop = asyncio.Event()
    supervisor = asyncio.create_task(supervise([looping, steady], stop, lambda: None))
    try:
        assert looping.process is not None and steady.process is not None
        await asyncio.wait_for(looping.process.wait(), 10)
        killed = steady.process
        killed.kill()
        async with asyncio.timeout(5):
            while steady.process is killed:
                await asyncio.sleep(0.02)
        assert (steady.restarts, looping.restarts) == (1, 0), "restarted while the other backs off"
    finally:
        stop.set()
        await asyncio.wait_for(supervisor, 5)  # stop also cuts the 16 s backoff short
        for child in (looping, steady):
            if child.process is not None and child.process.returncode is None:
                child.process.kill()
                await child.process.wait()


def test_mesh_json_names_each_steps_metrics_endpoint(tmp_path: Path) -> None:
    mesh = Mesh(fast_settings(tmp_path), gateway_port=8000, orchestrator_port=50051)
    mesh.write_state()
    state = json.loads((tmp_path / "mesh.json").read_text())
    assert mesh.steps
    for step in mesh.steps:
        assert state[step.name]["metrics"] == step.metrics_address
        assert str(step.metrics_address).startswith("http://127.0.0.1:")
    assert "metrics" not in state["orchestrator"]
