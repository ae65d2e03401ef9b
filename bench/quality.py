"""Asset quality benchmark (issue 8's acceptance): generate each prompt, measure every asset.

Each prompt runs `assetcore generate` in a fresh process on the default CPU backends (extra
`--backend STEP=BACKEND` arguments pass through, e.g. a quad retopo backend), then the GLBs
it wrote are measured by bench/quality_metrics/ (the package beside this script; see its modules for
each metric's definition). Prints one JSON object and writes it to --out.

Usage: python bench/quality.py [--prompts "a grey wolf" --prompts ...] [--out quality.json]
       [--workdir DIR] [--backend STEP=BACKEND ...] [--renders DIR]

With --renders, each asset's turnaround sheet (bench/render_views.py) is written there too.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.quality_metrics.asset import measure_asset  # noqa: E402
from bench.render_views import turnaround  # noqa: E402

PROMPTS = (
    "a knight in red armor with a round shield",
    "a grey wolf",
    "a wooden treasure chest",
    "an elf mage in a blue robe",
    "a horse",
)
ASSETCORE = Path(sys.executable).with_name("assetcore")
LOD_SUFFIXES = ("_lod1", "_lod2")


def generate(prompt: str, out: Path, backends: list[str]) -> dict[str, Any]:
    """Run the CLI for one prompt into `out`; the report.json it wrote, with the wall time."""
    command = [str(ASSETCORE), "generate", prompt, "-o", str(out / "files"), "--data-dir", str(out / "data")]
    for backend in backends:
        command += ["--backend", backend]
    started = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    seconds = time.monotonic() - started
    report_path = out / "files" / "report.json"
    if done.returncode != 0 or not report_path.is_file():
        return {"exit_status": done.returncode, "seconds": seconds, "stderr": done.stderr[-2000:]}
    report: dict[str, Any] = json.loads(report_path.read_text())
    return {"exit_status": done.returncode, "seconds": seconds, "report": report}


def asset_glbs(files: Path) -> list[Path]:
    """The asset's GLBs, LOD0 first."""
    glbs = sorted(files.glob("*.glb"), key=lambda p: (p.stem.endswith(LOD_SUFFIXES), p.name))
    return glbs


def run_prompt(prompt: str, out: Path, backends: list[str], renders: Path | None) -> dict[str, Any]:
    run = generate(prompt, out, backends)
    entry: dict[str, Any] = {
        "prompt": prompt,
        "exit_status": run["exit_status"],
        "generate_s": run["seconds"],
    }
    if "report" not in run:
        return entry | {"error": run["stderr"]}
    steps = run["report"]["steps"]
    entry["backends"] = {step["name"]: step["backend"] for step in steps}
    entry["tti_notes"] = next((step["notes"] for step in steps if step["name"] == "tti"), [])
    glbs = asset_glbs(out / "files")
    if not glbs:
        return entry | {"error": "the job wrote no GLB"}
    started = time.monotonic()
    entry |= measure_asset(glbs)
    entry["measure_s"] = time.monotonic() - started
    if renders is not None:
        renders.mkdir(parents=True, exist_ok=True)
        sheet = renders / f"{glbs[0].stem}_turnaround.png"
        turnaround(glbs[0].read_bytes()).convert("RGB").save(sheet, optimize=True)
        entry["turnaround"] = str(sheet)
    return entry


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", action="append", help="a prompt (repeatable) [the acceptance prompts]")
    parser.add_argument("--out", type=Path, help="write the JSON here too")
    parser.add_argument("--workdir", type=Path, help="keep the generated files here [a temporary folder]")
    parser.add_argument("--backend", action="append", default=[], help="STEP=BACKEND passed to generate")
    parser.add_argument("--renders", type=Path, help="write each asset's turnaround sheet (PNG) here")
    args = parser.parse_args()
    prompts = args.prompts or list(PROMPTS)
    with tempfile.TemporaryDirectory(prefix="quality-") as scratch:
        workdir = args.workdir or Path(scratch)
        assets = [
            run_prompt(prompt, workdir / f"asset{i}", args.backend, args.renders)
            for i, prompt in enumerate(prompts)
        ]
    result = {
        "date": date.today().isoformat(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "assets": assets,
    }
    text = json.dumps(result, indent=2)
    if args.out:
        args.out.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
