"""
Measure the CPU per poll of N concurrent ``ZadigWorkflowTaskTrigger`` waits (run by ``benchmarks/run.py``).

Expects ``AIRFLOW_CONN_ZADIG_DEFAULT`` to point at a running simulator whose tasks do not change status
during the window. Starts N workflow tasks and runs one trigger per task in this process's event loop,
as a triggerer does. After one check interval of warm-up, it measures this process's CPU time over the
window and counts the task-detail requests that the simulator served in that time.
Prints one JSON line: ``{"polls", "cpu_seconds", "window_seconds", "errors"}``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import urllib.request
from collections.abc import Sequence
from typing import Any

from airflow_provider_zadig.hooks.async_client import close_shared_sessions
from airflow_provider_zadig.hooks.zadig import ZadigHook
from airflow_provider_zadig.triggers.workflow_task import ZadigWorkflowTaskTrigger

PROJECT_KEY = "simple-service-demo"
WORKFLOW_KEY = "build-images"
TASK_DETAIL_PATH = "/openapi/workflows/custom/task"

# The simulator's control plane is on 127.0.0.1, so a proxy from the environment must not be used.
_LOCAL_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def control_plane(simulator_url: str, method: str, path: str) -> Any:
    request = urllib.request.Request(f"{simulator_url}/_simulator{path}", method=method)
    with _LOCAL_OPENER.open(request, timeout=60) as response:
        return json.load(response)


def count_task_polls(simulator_url: str) -> int:
    recorded = control_plane(simulator_url, "GET", "/requests")
    return sum(1 for r in recorded if r["method"] == "GET" and r["path"] == TASK_DETAIL_PATH)


def start_tasks(count: int) -> list[int]:
    hook = ZadigHook()
    return [
        hook.execute_workflow(project_key=PROJECT_KEY, workflow_key=WORKFLOW_KEY).task_id
        for _ in range(count)
    ]


async def drain(trigger: ZadigWorkflowTaskTrigger) -> dict[str, Any]:
    async for event in trigger.run():
        return dict(event.payload)
    return {}


async def measure(
    task_ids: list[int], check_interval: float, window: float, simulator_url: str
) -> dict[str, Any]:
    triggers = [
        ZadigWorkflowTaskTrigger(
            conn_id="zadig_default",
            workflow_key=WORKFLOW_KEY,
            task_id=task_id,
            project_key=PROJECT_KEY,
            check_interval=check_interval,
        )
        for task_id in task_ids
    ]
    waits = [asyncio.create_task(drain(trigger)) for trigger in triggers]
    await asyncio.sleep(check_interval + 1)

    await asyncio.to_thread(control_plane, simulator_url, "DELETE", "/requests")
    cpu_started = time.process_time()
    wall_started = time.monotonic()
    await asyncio.sleep(window)
    cpu_seconds = time.process_time() - cpu_started
    window_seconds = time.monotonic() - wall_started
    polls = await asyncio.to_thread(count_task_polls, simulator_url)

    finished = [wait for wait in waits if wait.done()]
    for wait in waits:
        wait.cancel()
    await asyncio.gather(*waits, return_exceptions=True)
    await close_shared_sessions()
    # A wait that ended during the window ended with an error: these tasks never change status.
    return {
        "polls": polls,
        "cpu_seconds": cpu_seconds,
        "window_seconds": window_seconds,
        "errors": len(finished),
    }


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0] if __doc__ else None)
    parser.add_argument("--waits", type=int, required=True, help="concurrent trigger waits")
    parser.add_argument(
        "--check-interval", type=float, required=True, help="seconds between polls of one wait"
    )
    parser.add_argument("--window", type=float, required=True, help="seconds of polling to measure")
    parser.add_argument("--simulator-url", required=True, help="base URL of the simulator")
    args = parser.parse_args(argv)

    task_ids = start_tasks(args.waits)
    report = asyncio.run(measure(task_ids, args.check_interval, args.window, args.simulator_url))
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
