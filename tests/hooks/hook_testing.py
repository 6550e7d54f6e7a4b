"""Payloads and fakes shared by the hook tests: Zadig v3.4 bodies as the server sends them."""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from typing import Any

BASE_URL = "https://zadig.example.com"
#: The API token of the test connections. No test output may ever contain it.
TOKEN = "canary-4411"
CONN_ID = "zadig_test"

TASK_URL = f"{BASE_URL}/openapi/workflows/custom/task"
APPROVE_URL = f"{BASE_URL}/openapi/workflows/custom/task/approve"
VIEW_URL = f"{BASE_URL}/openapi/workflows/view"
TICKET_URL = f"{BASE_URL}/openapi/ticket/approval"
WORKFLOW_V4_URL = f"{BASE_URL}/api/aslan/workflow/v4"
SUCCESS = {"message": "success"}


def jwt_token(name: str) -> str:
    """Return a token shaped like a Zadig API token (an unsigned JWT) whose ``name`` claim is ``name``."""

    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    return f"{part({'alg': 'HS256', 'typ': 'JWT'})}.{part({'name': name, 'uid': 'u-1', 'aud': 'zadig'})}.c2ln"


def zadig_error(code: int, message: str, description: str) -> dict[str, Any]:
    """Return the body of a Zadig ``*HTTPError`` (sent as HTTP 400 for codes 6xxx and 7xxx)."""
    return {"type": "error", "code": code, "message": message, "description": description, "extra": {}}


def internal_error(description: str) -> dict[str, Any]:
    """Return the body that Zadig sends with HTTP 500 for a plain Go error."""
    return {"code": 500, "message": "Internal Error: ", "description": description}


def task_list(*tasks: tuple[int, str], total: int | None = None, status: str = "running") -> dict[str, Any]:
    """Return a task list page from ``(task_id, task_creator)`` pairs, newest first."""
    return {
        "total": len(tasks) if total is None else total,
        "workflow_tasks": [
            {
                "workflow_key": "build-images",
                "workflow_name": "build-images",
                "project_key": "simple-service-demo",
                "task_id": task_id,
                "create_time": 1700000000 + task_id,
                "task_creator": creator,
                "start_time": 0,
                "end_time": 0,
                "status": status,
            }
            for task_id, creator in tasks
        ],
    }


def approval_job(
    name: str = "approval",
    *,
    stage_index: int = 1,
    status: str = "wait_for_approval",
    approval_type: str = "native",
    votes: Sequence[dict[str, Any]] = (),
    needed: int = 1,
) -> dict[str, Any]:
    """Return an approval job of a v3.1+ task detail."""
    kind = {"timeout": 60, "approve_users": list(votes), "needed_approvers": needed}
    return {
        "name": f"job-{stage_index}-0-0-{name}",
        "key": name,
        "display_name": name,
        "origin_name": name,
        "type": "approval",
        "status": status,
        "spec": {"timeout": 60, "type": approval_type, "description": "", f"{approval_type}_approval": kind},
    }


def build_job(name: str = "build-myapps", status: str = "passed") -> dict[str, Any]:
    return {"name": f"job-0-0-0-{name}", "origin_name": name, "type": "zadig-build", "status": status}


def task_detail(
    *,
    task_id: int = 7,
    workflow_key: str = "build-images",
    status: str = "running",
    stages: Sequence[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Return a v3.4 task detail with a build stage and a deploy stage that contains an approval job."""
    if stages is None:
        stages = [
            {"name": "build", "status": "passed", "jobs": [build_job()]},
            {"name": "deploy", "status": "running", "jobs": [approval_job()]},
        ]
    return {
        "task_id": task_id,
        "workflow_key": workflow_key,
        "workflow_name": workflow_key,
        "project_key": "simple-service-demo",
        "params": [],
        "status": status,
        "task_creator": "admin",
        "stages": list(stages),
    }


def legacy_task_detail(*, decision: str = "", status: str = "running") -> dict[str, Any]:
    """Return a task detail of a server older than v3.1: the approval is on the stage."""
    deploy = {
        "name": "deploy",
        "status": status,
        "approval": {
            "enabled": True,
            "type": "native",
            "approve_users": [{"user_name": "admin", "reject_or_approve": decision}],
            "needed_approvers": 1,
            "reject_or_approve": decision,
        },
        "jobs": [{"name": "a-myapp-1-deploy-myapps", "type": "zadig-deploy", "status": ""}],
    }
    return task_detail(stages=[{"name": "build", "status": "passed", "jobs": [build_job()]}, deploy])


def vote(user: str, decision: str, comment: str = "") -> dict[str, Any]:
    return {
        "type": "",
        "user_id": f"uid-{user}",
        "user_name": user,
        "reject_or_approve": decision,
        "comment": comment,
    }


class FakeAiohttpResponse:
    """The parts of ``aiohttp.ClientResponse`` that the async client reads."""

    def __init__(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        from multidict import CIMultiDict, CIMultiDictProxy

        self.status = status
        self.headers = CIMultiDictProxy(CIMultiDict(headers))
        self._body = body

    async def read(self) -> bytes:
        return self._body


class RecordingSession:
    """
    A stand-in for the shared ``aiohttp.ClientSession`` that records requests and replays responses.

    Used where a test must see what the async client would send to a placeholder host, without
    sending anything. Tests against real HTTP use the simulator on 127.0.0.1.
    """

    closed = False

    def __init__(self, *answers: tuple[int, Any] | BaseException) -> None:
        self.answers = list(answers)
        self.calls: list[dict[str, Any]] = []

    def request(self, method: str, url: Any, **kwargs: Any) -> Any:
        self.calls.append({"method": method, "url": str(url), **kwargs})
        answer = self.answers.pop(0) if self.answers else (200, {"message": "success"})
        session = self

        class _Context:
            async def __aenter__(self) -> FakeAiohttpResponse:
                if isinstance(answer, BaseException):
                    raise answer
                status, body = answer
                return session.response(status, body)

            async def __aexit__(self, *exc_info: object) -> None:
                return None

        return _Context()

    @staticmethod
    def response(status: int, body: Any) -> FakeAiohttpResponse:
        if isinstance(body, (dict, list)):
            return FakeAiohttpResponse(
                status, json.dumps(body).encode(), {"Content-Type": "application/json"}
            )
        return FakeAiohttpResponse(status, str(body).encode(), {"Content-Type": "text/html"})
