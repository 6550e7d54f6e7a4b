"""
Measure the cost of the provider to the DAG processor and the triggerer (``make bench``).

1. Parse time: a fresh interpreter imports ``airflow.sdk`` (a DAG processor has it loaded already),
   then the example DAG file; the DAG file's import is timed. The median of N runs is reported, next to
   the same measure for a DAG file that imports the hook and the models at module level.
2. ``python -X importtime`` for the example DAG: the slowest modules of this provider.
3. Trigger CPU per poll: N ``ZadigWorkflowTaskTrigger`` waits run in one event loop, as in a triggerer,
   against the simulator in another process, and the loop's process CPU time is divided by the number
   of polls the simulator served.

Numbers depend on the machine: the page records the hardware and software they came from.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "scripts"))
from airflow_sandbox import SimulatorProcess, new_token  # noqa: E402

RELEASE_DAG_FILE = REPO_ROOT / "example_dags" / "example_zadig_release.py"
OUTPUT_PATH = REPO_ROOT / "docs" / "benchmarks.md"
TRIGGER_SCRIPT = Path(__file__).with_name("trigger_polls.py")

# A DAG file that breaks the parse-time rule: it loads the HTTP clients and the models at import.
HEAVY_DAG_SOURCE = """
import airflow_provider_zadig.hooks.zadig
import airflow_provider_zadig.hooks.async_client
import airflow_provider_zadig.models
"""

# Runs in a fresh interpreter: time the import of one DAG file after Airflow's SDK is loaded.
TIMED_IMPORT_SCRIPT = """
import importlib.util, sys, time
import airflow.sdk
started = time.perf_counter()
spec = importlib.util.spec_from_file_location("timed_dag_file", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
print(time.perf_counter() - started)
"""

IMPORTTIME_LINE = re.compile(r"^import time:\s+(?P<self>\d+)\s+\|\s+(?P<cumulative>\d+)\s+\|\s+(?P<name>.+)$")


def isolated_env(home: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("AIRFLOW")}
    env["AIRFLOW_HOME"] = str(home)
    env["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
    env["NO_PROXY"] = "127.0.0.1,localhost"
    return env


def log(message: str) -> None:
    print(f"[bench] {message}", flush=True)


def timed_import(dag_file: Path, env: dict[str, str]) -> float:
    result = subprocess.run(
        [sys.executable, "-c", TIMED_IMPORT_SCRIPT, str(dag_file)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return float(result.stdout.strip().splitlines()[-1])


def median_ms(dag_file: Path, env: dict[str, str], repeats: int) -> tuple[float, float, float]:
    """Return the median, minimum and maximum import time of a DAG file, in milliseconds."""
    samples = [timed_import(dag_file, env) * 1000 for _ in range(repeats)]
    return statistics.median(samples), min(samples), max(samples)


@dataclass
class ImportTimeEntry:
    name: str
    self_us: int
    cumulative_us: int


def importtime_entries(dag_file: Path, env: dict[str, str]) -> list[ImportTimeEntry]:
    """Return this provider's modules from ``python -X importtime`` while importing a DAG file."""
    script = (
        "import importlib.util, sys; import airflow.sdk; "
        "spec = importlib.util.spec_from_file_location('dag_file', sys.argv[1]); "
        "spec.loader.exec_module(importlib.util.module_from_spec(spec))"
    )
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", script, str(dag_file)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    entries = []
    for line in result.stderr.splitlines():
        match = IMPORTTIME_LINE.match(line)
        if match and match["name"].strip().startswith("airflow_provider_zadig"):
            entries.append(
                ImportTimeEntry(match["name"].strip(), int(match["self"]), int(match["cumulative"]))
            )
    return sorted(entries, key=lambda entry: entry.cumulative_us, reverse=True)


@dataclass
class TriggerResult:
    waits: int
    check_interval: float
    window_seconds: float
    polls: int
    cpu_seconds: float
    errors: int

    @property
    def cpu_ms_per_poll(self) -> float:
        return self.cpu_seconds * 1000 / self.polls if self.polls else float("nan")


def measure_trigger_cpu(waits: int, check_interval: float, window: float, workdir: Path) -> TriggerResult:
    """Run ``waits`` triggers against a simulator whose tasks never finish during the window."""
    token = new_token()
    # One status step per day: every task stays where it is for the whole measurement.
    simulator = SimulatorProcess(token=token, step_seconds=86400, log_path=workdir / f"simulator-{waits}.log")
    with simulator:
        env = isolated_env(workdir / "airflow-home")
        env["AIRFLOW_CONN_ZADIG_DEFAULT"] = simulator.connection_json()
        result = subprocess.run(
            [
                sys.executable,
                str(TRIGGER_SCRIPT),
                "--waits",
                str(waits),
                "--check-interval",
                str(check_interval),
                "--window",
                str(window),
                "--simulator-url",
                simulator.url,
            ],
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=window + 600,
        )
        if result.returncode != 0:
            raise RuntimeError(f"trigger benchmark failed:\n{result.stderr.replace(token, '***')[-4000:]}")
        report = json.loads(result.stdout.strip().splitlines()[-1])
    return TriggerResult(
        waits=waits,
        check_interval=check_interval,
        window_seconds=report["window_seconds"],
        polls=report["polls"],
        cpu_seconds=report["cpu_seconds"],
        errors=report["errors"],
    )


def machine_description() -> list[str]:
    cpu = platform.processor() or "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        models = [
            line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines() if "model name" in line
        ]
        if models:
            cpu = models[0]
    memory = "unknown"
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        total_kib = int(meminfo.read_text().split("MemTotal:", 1)[1].split()[0])
        memory = f"{total_kib / 1024 / 1024:.0f} GiB"
    return [
        f"- CPU: {cpu}, {os.cpu_count()} logical CPUs visible; RAM {memory}",
        f"- OS: {platform.system()} {platform.release()} ({platform.machine()})",
        f"- Python {platform.python_version()}, apache-airflow {metadata.version('apache-airflow')}, "
        f"aiohttp {metadata.version('aiohttp')}, "
        f"airflow-provider-zadig {metadata.version('airflow-provider-zadig')}",
    ]


def render_page(
    repeats: int,
    light: tuple[float, float, float],
    heavy: tuple[float, float, float],
    entries: Sequence[ImportTimeEntry],
    triggers: Sequence[TriggerResult],
    trigger_note: str,
) -> str:
    measured = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Benchmarks",
        "",
        "Written by `benchmarks/run.py` (`make bench`). Rerun it to refresh this page. "
        f"Measured {measured} on:",
        "",
        *machine_description(),
        "",
        "## Parse time of a DAG file",
        "",
        "A fresh interpreter imports `airflow.sdk` first, because a DAG processor has Airflow loaded "
        "already, then times the import of one DAG file with `time.perf_counter`. "
        f"{repeats} fresh interpreters per row, each including the first import of this provider.",
        "",
        "| DAG file | median ms | min ms | max ms |",
        "|---|---:|---:|---:|",
        f"| `example_dags/example_zadig_release.py` | {light[0]:.1f} | {light[1]:.1f} | {light[2]:.1f} |",
        f"| a file importing the hook, the async client and the models | {heavy[0]:.1f} | "
        f"{heavy[1]:.1f} | {heavy[2]:.1f} |",
        "",
        "The second row is a DAG file that imports only the hook, the async client and the models. "
        "Operators that loaded `requests`, `aiohttp` and the pydantic models at module level would add "
        "about that much to every parse (an estimate, because some modules are shared). "
        "`tests/test_parse_time.py` keeps them out.",
        "",
        "## Slowest modules of this provider at parse time",
        "",
        "`python -X importtime`, importing `example_dags/example_zadig_release.py` after `airflow.sdk`. "
        "One run, so expect noise of a few hundred microseconds.",
        "",
        "| module | self µs | cumulative µs |",
        "|---|---:|---:|",
    ]
    lines += [f"| `{e.name}` | {e.self_us} | {e.cumulative_us} |" for e in entries[:10]]
    lines += [
        "",
        "## Trigger CPU per poll",
        "",
        '`benchmarks/trigger_polls.py` runs N `ZadigWorkflowTaskTrigger` waits (`wait_for="completion"`) '
        "in one asyncio event loop, as one triggerer runs them, against the simulator "
        "(`python -m airflow_provider_zadig.simulator`) in a separate process on 127.0.0.1, with tasks "
        "that do not change status during the window. CPU is the trigger process's "
        "`time.process_time()` over the window, and polls are the task-detail requests the simulator served "
        "in that window.",
        "",
    ]
    if triggers:
        lines += [
            "| waits | check interval s | window s | polls | CPU s | CPU ms per poll | waits ended early |",
            "|---:|---:|---:|---:|---:|---:|---:|",
        ]
        lines += [
            f"| {t.waits} | {t.check_interval:g} | {t.window_seconds:.1f} | {t.polls} | {t.cpu_seconds:.2f} "
            f"| {t.cpu_ms_per_poll:.2f} | {t.errors} |"
            for t in triggers
        ]
    if trigger_note:
        lines += ["", trigger_note]
    lines += [
        "",
        "The tasks never change status, so a wait that ended during the window ended with an error, "
        "and the count should be 0. The simulator runs on the same machine without TLS, so the CPU "
        "that TLS adds on a real server is not measured here.",
        "",
    ]
    return "\n".join(lines)


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=textwrap.dedent(__doc__ or "").strip().splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15, help="fresh interpreters per parse-time row")
    parser.add_argument(
        "--waits", type=int, nargs="+", default=[100, 1000], help="concurrent trigger waits to measure"
    )
    parser.add_argument("--check-interval", type=float, default=5.0, help="seconds between polls of one wait")
    parser.add_argument("--window", type=float, default=30.0, help="seconds of polling measured per row")
    parser.add_argument("--output", type=Path, default=OUTPUT_PATH, help="Markdown page to write")
    return parser.parse_args(argv)


def main(argv: Sequence[str]) -> int:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="zadig-bench-") as tmp:
        workdir = Path(tmp)
        env = isolated_env(workdir / "airflow-home")
        heavy_dag = workdir / "heavy_dag.py"
        heavy_dag.write_text(HEAVY_DAG_SOURCE)

        log(f"parse time of {RELEASE_DAG_FILE.name}, {args.repeats} fresh interpreters")
        light = median_ms(RELEASE_DAG_FILE, env, args.repeats)
        log(f"  median {light[0]:.1f} ms")
        log(f"parse time of a DAG file importing the hook and models, {args.repeats} fresh interpreters")
        heavy = median_ms(heavy_dag, env, args.repeats)
        log(f"  median {heavy[0]:.1f} ms")
        log("python -X importtime")
        entries = importtime_entries(RELEASE_DAG_FILE, env)

        triggers: list[TriggerResult] = []
        trigger_note = ""
        for waits in args.waits:
            log(f"trigger CPU: {waits} waits, polling every {args.check_interval:g} s for {args.window:g} s")
            try:
                result = measure_trigger_cpu(waits, args.check_interval, args.window, workdir)
            except (RuntimeError, subprocess.TimeoutExpired) as exc:
                trigger_note = f"NOTE: the {waits}-wait row failed and is missing: {exc}"
                log(trigger_note)
                break
            log(f"  {result.polls} polls, {result.cpu_ms_per_poll:.2f} ms CPU per poll")
            triggers.append(result)

    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(render_page(args.repeats, light, heavy, entries, triggers, trigger_note))
    log(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    started = time.monotonic()
    exit_code = main(sys.argv[1:])
    log(f"done in {time.monotonic() - started:.0f} s")
    sys.exit(exit_code)
