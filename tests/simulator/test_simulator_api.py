"""The Python API of ZadigSimulator, the CLI and the pytest plugin."""

from __future__ import annotations

import base64
import importlib.metadata
import json
import subprocess
import sys
import textwrap

import pytest
import requests

from airflow_provider_zadig.simulator import SimulatorUser, ZadigSimulator, build_api_token
from airflow_provider_zadig.simulator.users import default_uid, parse_user_option


def test_context_manager_serves_and_stops():
    with ZadigSimulator(token="own-token", step_seconds=0.02) as sim:
        url = sim.url
        assert url.startswith("http://127.0.0.1:")
        headers = {"Authorization": "Bearer own-token"}
        response = requests.get(
            url + "/openapi/workflows", params={"projectKey": "lilian-test"}, headers=headers
        )
        assert response.status_code == 200
    with pytest.raises(requests.ConnectionError):
        requests.get(url + "/_simulator/health", timeout=2)


def test_url_before_start():
    with pytest.raises(RuntimeError, match="has not been started"):
        _ = ZadigSimulator().url


def test_invalid_settings():
    with pytest.raises(ValueError, match="invalid version"):
        ZadigSimulator(version="2.0")
    with pytest.raises(ValueError, match="invalid license"):
        ZadigSimulator(license="free")


def test_constructor_users(simulator):
    with ZadigSimulator(users={"t2": "alice", "t3": SimulatorUser("vic", role="viewer")}) as sim:
        body = {"workflow_key": "build-images"}
        as_alice = requests.post(
            sim.url + "/openapi/workflows/custom/task", json=body, headers={"Authorization": "B t2"}
        )
        assert as_alice.json()["task_id"] == 1
        as_vic = requests.post(
            sim.url + "/openapi/workflows/custom/task", json=body, headers={"Authorization": "B t3"}
        )
        assert as_vic.status_code == 403


def test_reset_restores_settings_and_users(simulator):
    simulator.settings.license = "basic"
    simulator.add_user("extra", "eve")
    simulator.reset()
    assert simulator.settings.license == "enterprise"
    assert "extra" not in simulator.store.users


def test_wait_for_task_status_timeout(api, simulator):
    simulator.settings.workflow_concurrency = 0
    task_id = api.execute()
    with pytest.raises(TimeoutError, match="is 'waiting'"):
        simulator.wait_for_task_status("build-images", task_id, "passed", timeout=0.1)


def test_forced_status_walk(api, simulator):
    task_id = api.execute()
    for status in ("created", "wait_for_approval", "waiting_approve", "running"):
        simulator.set_task_status("build-images", task_id, status)
        assert api.task("build-images", task_id)["status"] == status
    simulator.set_task_status("build-images", task_id, "passed")
    assert api.task("build-images", task_id)["end_time"] > 0


def test_forced_status_unknown_task(simulator):
    with pytest.raises(LookupError):
        simulator.set_task_status("build-images", 42, "failed")


def test_get_task_matches_http_detail(api, simulator):
    task_id = api.execute()
    simulator.set_task_status("build-images", task_id, "running")
    assert simulator.get_task("build-images", task_id) == api.task("build-images", task_id)


def test_api_token_claims():
    token = build_api_token("svc-airflow")
    payload = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert claims["name"] == "svc-airflow"
    assert claims["uid"] == default_uid("svc-airflow")
    assert claims["aud"] == "zadig"


def test_parse_user_option():
    assert parse_user_option("tok=bob:viewer") == ("tok", SimulatorUser("bob", role="viewer"))
    with pytest.raises(ValueError, match="expected TOKEN=NAME"):
        parse_user_option("no-equals")


def test_cli_prints_url_and_serves():
    command = [
        sys.executable,
        "-m",
        "airflow_provider_zadig.simulator",
        "--port",
        "0",
        "--token",
        "cli-token",
    ]
    command += ["--step-seconds", "0.02", "--user", "t2=bob:viewer"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline().strip()
        url = line.rsplit(" ", 1)[-1]
        assert line.startswith("Zadig simulator 3.4.0 (enterprise license) listening on http://127.0.0.1:")
        headers = {"Authorization": "Bearer cli-token"}
        response = requests.get(
            url + "/openapi/workflows", params={"projectKey": "lilian-test"}, headers=headers
        )
        assert response.status_code == 200
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0


def test_cli_rejects_bad_user_option():
    command = [sys.executable, "-m", "airflow_provider_zadig.simulator", "--user", "broken"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert "expected TOKEN=NAME" in result.stderr


PLUGIN_MODULE = "airflow_provider_zadig.simulator.pytest_plugin"


def _plugin_entry_point_installed():
    return any(entry.value == PLUGIN_MODULE for entry in importlib.metadata.entry_points(group="pytest11"))


def test_pytest_plugin_fixtures(tmp_path):
    test_file = tmp_path / "test_with_plugin.py"
    test_file.write_text(
        textwrap.dedent(
            """
            import os, requests

            def test_uses_simulator(zadig_sim, zadig_sim_conn_id):
                assert zadig_sim_conn_id == "zadig_default"
                assert zadig_sim.url in os.environ["AIRFLOW_CONN_ZADIG_DEFAULT"]
                url = zadig_sim.url + "/openapi/workflows/custom/task"
                headers = {"Authorization": "Bearer " + zadig_sim.token}
                response = requests.post(url, json={"workflow_key": "build-images"}, headers=headers)
                assert response.json()["task_id"] == 1
            """
        )
    )
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    if not _plugin_entry_point_installed():
        # Passing -p for a plugin that an entry point already loads would register it twice.
        command += ["-p", PLUGIN_MODULE]
    command += ["--rootdir", str(tmp_path), "-c", "/dev/null", str(test_file)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_build_api_token_imports_no_web_stack():
    code = (
        "import sys; import airflow_provider_zadig.simulator.pytest_plugin; "
        "from airflow_provider_zadig.simulator import build_api_token; "
        "assert 'fastapi' not in sys.modules and 'uvicorn' not in sys.modules"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
