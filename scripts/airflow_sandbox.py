"""
Run the example DAGs with ``airflow dags test`` against the Zadig simulator, in a throwaway AIRFLOW_HOME.

``scripts/demo.py``, ``tests/test_example_dags.py``, ``tests/test_connection_form.py`` and
``benchmarks/run.py`` share this module. It starts every process it uses (the simulator, the Airflow
CLI, the API server) as a child in its own session, on 127.0.0.1 only, and stops it again.

The simulator's API token never reaches the console: every line copied from a child process goes
through :func:`Redactor.redact` first, and log files under the work directory get the same treatment.
"""

from __future__ import annotations

import json
import os
import queue
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

REPO_ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_DAGS_DIR = REPO_ROOT / "example_dags"
RELEASE_PROJECT_KEY = "simple-service-demo"
RELEASE_WORKFLOW_KEY = "build-images"

# The example DAGs read these so a demo or test can poll every second instead of every 30 seconds.
CHECK_INTERVAL_ENV = "ZADIG_EXAMPLE_CHECK_INTERVAL"

_URL_PATTERN = re.compile(r"https?://[^\s\"']+")
# One structlog console line: "<timestamp> [<level>] <event> [<logger>] key=value ...".
_LOG_LINE_PATTERN = re.compile(r"^\S+\s+\[(?P<level>\w+)\s*\]\s+(?P<event>.*?)\s+\[(?P<logger>[^\]]+)\]")
_DAG_TEST_TASK_PATTERN = re.compile(r"\[DAG TEST\] (?P<phase>starting|end task) task_id=(?P<task_id>\S+)")
_DAG_TEST_TRIGGER_LINE = "[DAG TEST] running trigger in line"

Progress = Callable[[str], None]

# Calls to 127.0.0.1 must not go through a proxy from the environment.
_LOCAL_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _ignore_progress(_line: str) -> None:
    return None


def new_token() -> str:
    """Return a JWT shaped like a Zadig API token of the simulator's user ``admin``, randomly signed."""
    from airflow_provider_zadig.simulator import build_api_token

    return build_api_token("admin", secret=secrets.token_hex(16))


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def venv_executable(name: str) -> str:
    """Return the path of a console script installed next to the running Python, such as ``airflow``."""
    candidate = Path(sys.executable).with_name(name)
    if candidate.exists():
        return str(candidate)
    found = shutil.which(name)
    if found is None:
        raise FileNotFoundError(f"{name} is not installed next to {sys.executable} nor on PATH")
    return found


class Redactor:
    """Replace secrets with ``***`` in text that leaves a child process."""

    def __init__(self, secrets_to_hide: Sequence[str]) -> None:
        self._secrets = [s for s in secrets_to_hide if s]

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text


def _terminate(process: subprocess.Popen[Any], grace_seconds: float = 10.0) -> None:
    """Stop a child started with ``start_new_session=True`` and everything it started."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=grace_seconds)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=grace_seconds)
    except ProcessLookupError:
        process.wait(timeout=grace_seconds)


def _child_env(extra: Mapping[str, str]) -> dict[str, str]:
    """Return the parent's environment without its Airflow settings, so only ``extra`` configures Airflow."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("AIRFLOW")}
    # A proxy configured for the user's network must not intercept calls to the local simulator.
    for key in ("NO_PROXY", "no_proxy"):
        env[key] = ",".join(filter(None, [env.get(key, ""), "127.0.0.1", "localhost"]))
    env.update(extra)
    return env


class _LineCopier(threading.Thread):
    """Copy a child's output to a log file, line by line, redacted, and hand each line to a callback."""

    def __init__(self, stream: IO[str], log_file: IO[str], redactor: Redactor, on_line: Progress) -> None:
        super().__init__(daemon=True)
        self._stream = stream
        self._log_file = log_file
        self._redactor = redactor
        self._on_line = on_line

    def run(self) -> None:
        for raw_line in self._stream:
            line = self._redactor.redact(raw_line.rstrip("\n"))
            self._log_file.write(line + "\n")
            self._log_file.flush()
            self._on_line(line)


class SimulatorProcess:
    """
    ``python -m airflow_provider_zadig.simulator`` as a child process on 127.0.0.1 and a free port.

    :param token: API token the simulator accepts.
    :param step_seconds: Seconds between two status steps of a simulated task.
    :param log_path: File that receives the simulator's output, redacted.
    """

    def __init__(self, *, token: str, step_seconds: float, log_path: Path) -> None:
        self.token = token
        self.step_seconds = step_seconds
        self.log_path = log_path
        self.url = ""
        self._redactor = Redactor([token])
        self._process: subprocess.Popen[str] | None = None
        self._log_file: IO[str] | None = None

    def start(self, timeout: float = 30.0) -> str:
        """Start the simulator, wait for the first line of its output and return its base URL."""
        command = [
            sys.executable,
            "-m",
            "airflow_provider_zadig.simulator",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--token",
            self.token,
            "--step-seconds",
            str(self.step_seconds),
        ]
        self._log_file = self.log_path.open("w")
        self._process = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=_child_env({}),
            start_new_session=True,
        )
        first_line: queue.Queue[str] = queue.Queue(maxsize=1)

        def keep_first_line(line: str) -> None:
            if first_line.empty() and not self.url:
                first_line.put_nowait(line)

        assert self._process.stdout is not None
        _LineCopier(self._process.stdout, self._log_file, self._redactor, keep_first_line).start()
        try:
            line = first_line.get(timeout=timeout)
        except queue.Empty:
            self.stop()
            raise RuntimeError(
                f"the simulator printed nothing within {timeout:.0f} s; see {self.log_path}"
            ) from None
        match = _URL_PATTERN.search(line)
        if match is None:
            self.stop()
            raise RuntimeError(f"no URL in the simulator's first output line {line!r}; see {self.log_path}")
        self.url = match.group(0).rstrip("/")
        return self.url

    def stop(self) -> None:
        """Stop the simulator and close its log file."""
        if self._process is not None:
            _terminate(self._process)
            self._process = None
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    def __enter__(self) -> SimulatorProcess:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def connection_json(self) -> str:
        """Return the ``zadig_default`` connection in the JSON form of ``AIRFLOW_CONN_ZADIG_DEFAULT``."""
        return json.dumps({"conn_type": "zadig", "host": self.url, "password": self.token})

    def get_json(self, path: str, **query: Any) -> Any:
        """Send an authenticated GET to the simulator's Zadig API and return the decoded JSON body."""
        url = f"{self.url}{path}"
        if query:
            url += "?" + urllib.parse.urlencode(query)
        request = urllib.request.Request(url, headers={"Authorization": f"Bearer {self.token}"})
        with _LOCAL_OPENER.open(request, timeout=10) as response:
            return json.load(response)

    def list_tasks(self, workflow_key: str, project_key: str) -> list[dict[str, Any]]:
        """Return every task of a workflow, newest first."""
        body = self.get_json(
            f"/openapi/workflows/custom/{workflow_key}/tasks",
            projectKey=project_key,
            pageNum=1,
            pageSize=100,
        )
        return list(body["workflow_tasks"])

    def get_task(self, workflow_key: str, task_id: int) -> dict[str, Any]:
        """Return the detail of one workflow task, stages and jobs included."""
        return dict(self.get_json("/openapi/workflows/custom/task", workflowKey=workflow_key, taskId=task_id))


@dataclass
class DagTestResult:
    """Outcome of one ``airflow dags test`` run: exit code, duration, run state and task states."""

    dag_id: str
    returncode: int
    seconds: float
    log_path: Path
    run_id: str | None = None
    run_state: str | None = None
    # Airflow task id -> final state, in the order the tasks started.
    task_states: dict[str, str] = field(default_factory=dict)

    @property
    def succeeded(self) -> bool:
        states_ok = bool(self.task_states) and all(
            state in ("success", "skipped") for state in self.task_states.values()
        )
        return self.returncode == 0 and self.run_state == "success" and states_ok


class AirflowSandbox:
    """
    A throwaway AIRFLOW_HOME with a SQLite metadata database, driven through the ``airflow`` CLI.

    :param home: Directory for AIRFLOW_HOME, created when missing.
    :param dags_folder: Folder that ``airflow dags test`` reads DAG files from.
    :param env: Extra environment for every Airflow command, such as ``AIRFLOW_CONN_ZADIG_DEFAULT``.
    :param secrets_to_hide: Strings replaced by ``***`` in everything copied from Airflow's output.
    """

    def __init__(
        self,
        home: Path,
        *,
        dags_folder: Path = EXAMPLE_DAGS_DIR,
        env: Mapping[str, str] | None = None,
        secrets_to_hide: Sequence[str] = (),
    ) -> None:
        self.home = home
        self.home.mkdir(parents=True, exist_ok=True)
        self.dags_folder = dags_folder
        self.redactor = Redactor(secrets_to_hide)
        self.env = _child_env(
            {
                "AIRFLOW_HOME": str(home),
                "AIRFLOW__CORE__DAGS_FOLDER": str(dags_folder),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                # The CLI's JSON output shares stdout with warnings logged through structlog.
                "PYTHONWARNINGS": "ignore",
                **(env or {}),
            }
        )

    def run(self, *args: str, timeout: float = 300.0) -> subprocess.CompletedProcess[str]:
        """Run ``airflow <args>`` to completion, and raise with its redacted output when it fails."""
        result = subprocess.run(
            [venv_executable("airflow"), *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if result.returncode != 0:
            output = self.redactor.redact((result.stdout + result.stderr)[-4000:])
            raise RuntimeError(f"`airflow {' '.join(args)}` exited with {result.returncode}:\n{output}")
        return result

    def run_json(self, *args: str) -> Any:
        """Run an ``airflow`` listing command with ``--output json`` and decode its JSON line."""
        stdout = self.run(*args, "--output", "json").stdout
        for line in reversed(stdout.splitlines()):
            if line.startswith(("[", "{")):
                return json.loads(line)
        raise RuntimeError(f"`airflow {' '.join(args)}` printed no JSON:\n{self.redactor.redact(stdout)}")

    def migrate(self) -> None:
        """Create the metadata database."""
        self.run("db", "migrate")

    @contextmanager
    def api_server(self, timeout: float = 90.0) -> Iterator[str]:
        """Run ``airflow api-server`` on a free 127.0.0.1 port and yield its base URL once it is healthy."""
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        log_path = self.home / "api-server.log"
        with log_path.open("w") as log_file:
            process = subprocess.Popen(
                [venv_executable("airflow"), "api-server", "--host", "127.0.0.1", "--port", str(port)],
                env=self.env,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            try:
                _wait_until_healthy(f"{url}/api/v2/monitor/health", process, timeout, log_path)
                yield url
            finally:
                _terminate(process)

    def dags_test(
        self,
        dag_id: str,
        *,
        conf: Mapping[str, Any] | None = None,
        timeout: float = 300.0,
        progress: Progress = _ignore_progress,
    ) -> DagTestResult:
        """
        Run ``airflow dags test`` and collect the run's state and its task states.

        Deferred tasks run their triggers inside this command. ``progress`` receives a short line when a
        task starts or ends and for every INFO line of this provider (a status change of the Zadig task).
        The full output, redacted, goes to ``<home>/dags-test-<dag_id>.log``.
        """
        command = [venv_executable("airflow"), "dags", "test", dag_id]
        if conf is not None:
            command += ["--conf", json.dumps(conf)]
        log_path = self.home / f"dags-test-{dag_id}.log"
        started = time.monotonic()
        with log_path.open("w") as log_file:
            process = subprocess.Popen(
                command,
                env=self.env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                start_new_session=True,
            )
            assert process.stdout is not None
            copier = _LineCopier(process.stdout, log_file, self.redactor, _progress_filter(progress))
            copier.start()
            try:
                returncode = process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                progress(f"airflow dags test {dag_id} still running after {timeout:.0f} s; stopping it")
                _terminate(process)
                returncode = -1
            copier.join(timeout=10)
        result = DagTestResult(dag_id, returncode, time.monotonic() - started, log_path)
        self._collect_states(result)
        return result

    def _collect_states(self, result: DagTestResult) -> None:
        runs = self.run_json("dags", "list-runs", result.dag_id)
        if not runs:
            return
        latest = max(runs, key=lambda run: run["run_after"] or "")
        result.run_id = latest["run_id"]
        result.run_state = latest["state"]
        task_instances = self.run_json("tasks", "states-for-dag-run", result.dag_id, latest["run_id"])
        task_instances.sort(key=lambda ti: ti["start_date"] or "~")
        result.task_states = {ti["task_id"]: ti["state"] or "none" for ti in task_instances}


def _wait_until_healthy(url: str, process: subprocess.Popen[Any], timeout: float, log_path: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the Airflow API server exited with {process.returncode}; see {log_path}")
        try:
            with _LOCAL_OPENER.open(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.25)
    raise RuntimeError(f"the Airflow API server was not healthy within {timeout:.0f} s; see {log_path}")


def _progress_filter(progress: Progress) -> Progress:
    """Turn Airflow's console output into short progress lines: task start/end and this provider's INFO."""

    # A sensor's first poke and then its trigger both report the task's current state, so print it once.
    printed_for_task: set[str] = set()

    def on_line(line: str) -> None:
        task_match = _DAG_TEST_TASK_PATTERN.search(line)
        if task_match is not None:
            verb = "started" if task_match["phase"] == "starting" else "finished"
            progress(f"task {task_match['task_id']} {verb}")
            printed_for_task.clear()
            return
        if _DAG_TEST_TRIGGER_LINE in line:
            progress("  deferred: running its trigger")
            return
        log_match = _LOG_LINE_PATTERN.match(line)
        if log_match is None:
            return
        is_ours = "zadig" in log_match["logger"].lower()
        event = log_match["event"].rstrip(".")
        is_shown_level = log_match["level"] in ("info", "warning", "error", "critical")
        if is_ours and is_shown_level and event not in printed_for_task:
            printed_for_task.add(event)
            progress(f"  {event}")

    return on_line


@dataclass
class ReleaseRun:
    """An example DAG run against the simulator: the Airflow side and the Zadig tasks it created."""

    dag: DagTestResult
    zadig_tasks: list[dict[str, Any]]


def run_dag_with_simulator(
    dag_id: str,
    workdir: Path,
    *,
    conf: Mapping[str, Any] | None = None,
    dags_folder: Path = EXAMPLE_DAGS_DIR,
    step_seconds: float = 0.5,
    check_interval: float = 1.0,
    progress: Progress = _ignore_progress,
) -> ReleaseRun:
    """
    Start the simulator, run one DAG with ``airflow dags test`` against it and stop the simulator.

    Everything lives under ``workdir``: AIRFLOW_HOME, the SQLite database and the redacted logs.
    ``dags_folder`` contains the DAG file and defaults to the example DAGs.
    Returns the DAG run's states and the detail of every ``build-images`` task the run created.
    """
    token = new_token()
    simulator = SimulatorProcess(token=token, step_seconds=step_seconds, log_path=workdir / "simulator.log")
    progress("starting the Zadig simulator")
    with _started(simulator):
        progress(f"simulator listening on {simulator.url}")
        sandbox = AirflowSandbox(
            workdir / "airflow-home",
            dags_folder=dags_folder,
            env={
                "AIRFLOW_CONN_ZADIG_DEFAULT": simulator.connection_json(),
                CHECK_INTERVAL_ENV: str(check_interval),
            },
            secrets_to_hide=[token],
        )
        progress(f"airflow db migrate (AIRFLOW_HOME={sandbox.home})")
        sandbox.migrate()
        progress(f"airflow dags test {dag_id}")
        result = sandbox.dags_test(dag_id, conf=conf, progress=progress)
        briefs = simulator.list_tasks(RELEASE_WORKFLOW_KEY, RELEASE_PROJECT_KEY)
        tasks = [simulator.get_task(RELEASE_WORKFLOW_KEY, brief["task_id"]) for brief in briefs]
    return ReleaseRun(dag=result, zadig_tasks=tasks)


@contextmanager
def _started(simulator: SimulatorProcess) -> Iterator[SimulatorProcess]:
    simulator.start()
    try:
        yield simulator
    finally:
        simulator.stop()


def describe_zadig_task(task: dict[str, Any]) -> list[str]:
    """Return printable lines for a Zadig task: its status, then each stage and job with their statuses."""
    lines = [f"Zadig task {task.get('workflow_key')} #{task.get('task_id')}: {task.get('status') or '-'}"]
    for stage in task.get("stages") or []:
        lines.append(f"  stage {stage.get('name')}: {stage.get('status') or '-'}")
        for job in stage.get("jobs") or []:
            lines.append(f"    job {job.get('name')} ({job.get('type')}): {job.get('status') or '-'}")
    return lines
