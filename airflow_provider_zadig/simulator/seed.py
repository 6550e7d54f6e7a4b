"""
Start-up data: the examples of Zadig's v3.4 workflow OpenAPI documentation, plus ``build-images``.

The documentation's examples give project ``lilian-test`` with workflows ``build-deploy``,
``just-deploy`` and ``xiaxianfuwu`` (display name ``offline service``) and view ``test-view``.

``build-images`` (project ``simple-service-demo``) is the workflow to run in tests and demos:

* stage ``build``: job ``build-myapps`` (``zadig-build``);
* stage ``deploy`` (not parallel): job ``approval`` (native approval, one approval needed from the
  user ``admin``, which the main token authenticates as), then job ``deploy-myapps`` (``zadig-deploy``);
* params ``env`` (choice dev/staging/prod, default dev) and ``branch`` (string, default main);
* ``concurrency_limit: -1``, so only the system-wide limit queues its tasks.

Every function returns fresh objects, so callers may change them.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from airflow_provider_zadig.simulator.state import SimulatorSettings, Store, ViewRecord, WorkflowRecord
from airflow_provider_zadig.simulator.users import DEFAULT_USER_NAME, default_uid

SEED_PROJECTS = ("lilian-test", "simple-service-demo")


def _param(name: str, value: str, type_: str = "string", **extra: Any) -> dict[str, Any]:
    param: dict[str, Any] = {"name": name, "description": "", "type": type_, "value": value, "repo": None}
    param.update({"default": value, "is_credential": False})
    param.update(extra)
    return param


def _job(name: str, type_: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": name,
        "type": type_,
        "skipped": False,
        "spec": spec,
        "run_policy": "",
        "error_policy": None,
    }


def _build_spec(service: str, module: str, build_name: str) -> dict[str, Any]:
    key_vals = [
        {"key": "username", "value": "admin", "type": "string", "is_credential": False},
        {"key": "password", "value": "zadig", "type": "string", "is_credential": True},
    ]
    repo = {
        "source": "gitee",
        "repo_owner": "kr-test-dev",
        "repo_namespace": "kr-test-dev",
        "repo_name": "zadig",
        "remote_name": "origin",
        "branch": "main",
        "codehost_id": 4,
    }
    build = {
        "service_name": service,
        "service_module": module,
        "build_name": build_name,
        "image_name": module,
        "key_vals": key_vals,
        "repos": [repo],
        "share_storage_info": None,
    }
    return {"docker_registry_id": "630c7ad700430c131062e245", "service_and_builds": [build]}


def _deploy_spec(env: str, job_name: str, services: list[tuple[str, str]]) -> dict[str, Any]:
    return {
        "env": env,
        "production": False,
        "deploy_contents": ["image"],
        "skip_check_run_status": False,
        "source": "fromjob",
        "job_name": job_name,
        "service_and_images": [{"service_name": s, "service_module": m} for s, m in services],
    }


def _plugin_spec() -> dict[str, Any]:
    content: dict[str, Any] = {
        "name": "CONTENT",
        "description": "content to print",
        "type": "string",
        "value": "hello world",
    }
    content.update({"default": "hello world", "is_credential": False, "repo": None})
    plugin = {
        "name": "hello-world",
        "description": "hello world",
        "image": "alpine/curl:3.14",
        "cmds": ["/bin/sh", "-c"],
        "args": ["echo $(inputs.CONTENT)"],
        "envs": [{"name": "CONTENT", "value": "$(inputs.CONTENT)"}],
        "inputs": [content],
        "outputs": [],
        "is_offical": False,
        "repo_url": "",
        "version": "v0.0.1",
    }
    return {"plugin": plugin, "properties": {"timeout": 60, "res_req": "low", "cluster_id": ""}}


def approval_spec(approvers: list[str], needed: int = 1, timeout: int = 60) -> dict[str, Any]:
    """Return the spec of a native approval job whose approvers are the named users."""
    users = [{"type": "user", "user_id": default_uid(name), "user_name": name} for name in approvers]
    native = {"timeout": timeout, "approve_users": users, "needed_approvers": needed}
    return {
        "timeout": timeout,
        "type": "native",
        "description": "Approve the release",
        "native_approval": native,
    }


def _workflow(key: str, project: str, stages: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    definition: dict[str, Any] = {
        "name": key,
        "display_name": key,
        "project": project,
        "description": "",
        "disabled": False,
        "params": [],
        "stages": stages,
        "notify_ctls": [],
        "share_storages": [],
        "concurrency_limit": 1,
        "enable_approval_ticket": False,
    }
    definition.update(extra)
    return definition


def build_deploy() -> dict[str, Any]:
    """Return ``build-deploy`` of project ``lilian-test``, as in the workflow detail example."""
    code = _param("code", "", "repo", default="")
    code["repo"] = {"source": "gitee", "repo_owner": "liyue326", "repo_namespace": "liyue326"}
    code["repo"].update(
        {"repo_name": "picture", "remote_name": "origin", "branch": "master", "codehost_id": 4}
    )
    build = _job("build", "zadig-build", _build_spec("service1", "service1", "openapi-build"))
    deploy = _job("deploy", "zadig-deploy", _deploy_spec("dev", "build", [("service1", "service1")]))
    stages = [
        {"name": "build", "parallel": True, "jobs": [build]},
        {"name": "deploy", "parallel": True, "jobs": [deploy, _job("default", "plugin", _plugin_spec())]},
    ]
    notify = {
        "enabled": True,
        "webhook_type": "wechat",
        "weChat_webHook": "xxx",
        "notify_type": ["created", "failed"],
    }
    return _workflow(
        "build-deploy", "lilian-test", stages, params=[code, _param("name", "build")], notify_ctls=[notify]
    )


def just_deploy() -> dict[str, Any]:
    """Return ``just-deploy`` of project ``lilian-test``."""
    deploy = _job("deploy", "zadig-deploy", _deploy_spec("dev", "", [("service1", "service1")]))
    return _workflow("just-deploy", "lilian-test", [{"name": "deploy", "parallel": True, "jobs": [deploy]}])


def offline_service() -> dict[str, Any]:
    """Return ``xiaxianfuwu`` (display name ``offline service``) of project ``lilian-test``."""
    offline = _job("offline", "offline-service", {"env": "dev", "services": ["service2"]})
    stages = [{"name": "offline", "parallel": True, "jobs": [offline]}]
    return _workflow("xiaxianfuwu", "lilian-test", stages, display_name="offline service")


def build_images() -> dict[str, Any]:
    """Return ``build-images`` of project ``simple-service-demo`` (see the module docstring)."""
    build = _job("build-myapps", "zadig-build", _build_spec("myapp", "myapp-1", "myapp-build"))
    approval = _job("approval", "approval", approval_spec([DEFAULT_USER_NAME]))
    deploy = _job(
        "deploy-myapps", "zadig-deploy", _deploy_spec("dev", "build-myapps", [("myapp", "myapp-1")])
    )
    stages = [
        {"name": "build", "parallel": False, "jobs": [build]},
        {"name": "deploy", "parallel": False, "jobs": [approval, deploy]},
    ]
    env = _param("env", "dev", "choice", choice_option=["dev", "staging", "prod"], choice_value=[])
    params = [env, _param("branch", "main")]
    return _workflow("build-images", "simple-service-demo", stages, params=params, concurrency_limit=-1)


# (definition factory, create_time, update_time) in Mongo natural order.
_SEED_WORKFLOWS = (
    (build_deploy, 1686192946, 1690180684),
    (just_deploy, 1686217885, 1686217885),
    (offline_service, 1686193453, 1686193453),
    (build_images, 1664161000, 1664161000),
)


def seed_store(store: Store) -> None:
    """Fill an empty store with the projects, workflows and view described in the module docstring."""
    store.projects.update(SEED_PROJECTS)
    for factory, created, updated in _SEED_WORKFLOWS:
        definition = factory()
        key = definition["name"]
        store.workflows[key] = WorkflowRecord(
            key, definition, DEFAULT_USER_NAME, created, DEFAULT_USER_NAME, updated
        )
    entry = {"workflow_key": "xiaxianfuwu", "workflow_type": "common_workflow", "enabled": True}
    store.views.append(ViewRecord("test-view", "lilian-test", [entry], DEFAULT_USER_NAME, 1689329334))


def reset_store(store: Store, settings: SimulatorSettings) -> None:
    """Return the store to its start-up state: seed data, the given settings, no requests and no faults."""
    with store.lock:
        store.settings = dataclasses.replace(settings)
        store.projects.clear()
        store.workflows.clear()
        store.tasks.clear()
        store.counters.clear()
        store.views.clear()
        store.tickets.clear()
        store.job_outcomes.clear()
        store.requests.clear()
        store.faults.clear()
        seed_store(store)
