"""
Run the release example DAG end to end against a local Zadig simulator (``make demo``).

Starts the simulator on a free 127.0.0.1 port with a random API token, points
``AIRFLOW_CONN_ZADIG_DEFAULT`` at it, runs ``airflow dags test`` in a throwaway AIRFLOW_HOME, then
prints each Airflow task's final state and the Zadig task's stages and jobs. Exits 1 when the DAG
run or the Zadig task did not succeed, and then keeps the work directory with the logs.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

from airflow_sandbox import ReleaseRun, describe_zadig_task, run_dag_with_simulator

EXAMPLE_DAG_IDS = ("zadig_release", "zadig_gated_release")


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument(
        "--dag-id", choices=EXAMPLE_DAG_IDS, default="zadig_release", help="example DAG to run"
    )
    parser.add_argument(
        "--step-seconds",
        type=float,
        default=0.5,
        help="seconds between two status changes of a simulated Zadig job (default: 0.5)",
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the work directory (AIRFLOW_HOME and logs) after success"
    )
    return parser.parse_args(argv)


def print_report(run: ReleaseRun) -> bool:
    """Print the Airflow and Zadig outcome and return True when both succeeded."""
    dag = run.dag
    print()
    print(f"Airflow DAG run {dag.run_id}: {dag.run_state} (airflow dags test exited with {dag.returncode})")
    width = max((len(task_id) for task_id in dag.task_states), default=0)
    for task_id, state in dag.task_states.items():
        print(f"  {task_id:<{width}}  {state}")
    print()
    if not run.zadig_tasks:
        print("No Zadig task was created.")
    for task in run.zadig_tasks:
        print("\n".join(describe_zadig_task(task)))
    zadig_passed = len(run.zadig_tasks) == 1 and run.zadig_tasks[0].get("status") == "passed"
    return dag.succeeded and zadig_passed


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    started = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="zadig-demo-"))

    def progress(line: str) -> None:
        print(f"[demo {time.monotonic() - started:5.1f}s] {line}", flush=True)

    try:
        run = run_dag_with_simulator(args.dag_id, workdir, step_seconds=args.step_seconds, progress=progress)
    except KeyboardInterrupt:
        print(f"\nInterrupted. Logs are in {workdir}", file=sys.stderr)
        return 130
    except Exception as exc:
        print(f"\nDemo failed before the DAG run finished: {exc}", file=sys.stderr)
        print(f"Logs are in {workdir}", file=sys.stderr)
        return 1

    succeeded = print_report(run)
    print()
    print(
        f"airflow dags test took {run.dag.seconds:.1f} s; the whole demo {time.monotonic() - started:.1f} s."
    )
    if succeeded and not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)
    else:
        print(f"Work directory kept: {workdir} (full Airflow output in {run.dag.log_path.name})")
    print("Demo succeeded." if succeeded else "Demo FAILED.")
    return 0 if succeeded else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
