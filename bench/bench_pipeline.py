"""Pipeline benchmark: the three acceptance prompts on the default (CPU) backends.

For each prompt: `assetcore generate` end to end in a fresh process (wall time, peak RSS),
then every step replayed alone in a fresh process on the inputs that job produced (the
step's wall time and the process's peak RSS), so one step's memory is not hidden by another's.

    python bench/bench_pipeline.py [--backend retopo=blender] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PROMPTS = ("a knight in red armor with a round shield", "a grey wolf", "a wooden treasure chest")


def run_measured(command: list[str], cwd: Path) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one child process."""
    log = cwd / "run.log"
    started = time.perf_counter()
    with log.open("w") as out:
        process = subprocess.Popen(command, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{log.read_text()}")
    return wall, usage.ru_maxrss / 1024


def replay_step(data_dir: Path, job_id: str, step: str, backends: list[str]) -> dict[str, Any]:
    command = [sys.executable, str(ROOT / "bench" / "replay_step.py"), str(data_dir), job_id, step, *backends]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def bench_prompt(prompt: str, backends: list[str], repeat: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-pipeline-") as tmp:
        root = Path(tmp)
        command = [
            sys.executable,
            "-m",
            "assetcore.cli",
            "generate",
            prompt,
            "-o",
            "out",
            "--data-dir",
            "data",
        ]
        for backend in backends:
            command += ["--backend", backend]
        walls, peaks = [], []
        for i in range(repeat):
            out = root / f"run{i}"
            out.mkdir()
            # a fresh data directory each time: no step cache, a cold process, as a new user sees it
            wall, peak = run_measured(command, out)
            walls.append(wall)
            peaks.append(peak)
        report = json.loads((root / "run0" / "out" / "report.json").read_text())
        steps = []
        for step in report["steps"]:
            replay = replay_step(root / "run0" / "data", report["job_id"], step["name"], backends)
            steps.append(
                {
                    "step": step["name"],
                    "backend": f"{step['backend']} {step['backend_version']}",
                    "in_job_s": step["seconds"],
                    "alone_s": replay["run_s"],
                    "load_s": replay["load_s"],
                    "peak_rss_mib": replay["peak_rss_mib"],
                }
            )
        return {
            "prompt": prompt,
            "pipeline": report["pipeline"],
            "job_wall_s_median": round(statistics.median(walls), 2),
            "job_wall_s_all": [round(w, 2) for w in walls],
            "job_peak_rss_mib": round(max(peaks)),
            "steps": steps,
        }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backend", action="append", default=[], metavar="STEP=BACKEND")
    parser.add_argument("--repeat", type=int, default=3, help="end-to-end runs per prompt")
    args = parser.parse_args()
    results = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "date": time.strftime("%Y-%m-%d"),
        "backends": args.backend or "defaults",
        "prompts": [bench_prompt(p, args.backend, args.repeat) for p in PROMPTS],
    }
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
