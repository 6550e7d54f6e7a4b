"""
Error responses exactly as a Zadig v3.4.0 server sends them.

aslan (Zadig's API service) has three error shapes, all reproduced here:

* an ``*HTTPError`` (``pkg/tool/errors``) becomes the five-key body
  ``{"type":"error","message":...,"code":...,"description":...,"extra":{}}``. Codes 6xxx and 7xxx
  are always sent with HTTP 400, while codes 400/401/403/404/500 are sent with that status;
* any other Go error (a Mongo error, ``fmt.Errorf``) becomes HTTP 500 with the three-key body
  ``{"code":500,"message":"Internal Error: ","description":...}``;
* a failed ``c.BindQuery``/``c.BindJSON``, a denied permission check and a rejected token end with a
  bare status and an empty body.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.responses import Response

JSON_MEDIA_TYPE = "application/json; charset=utf-8"

#: The error text Zadig's Mongo driver returns when a lookup finds nothing.
NO_DOCUMENTS = "mongo: no documents in result"

#: Messages of the ``pkg/tool/errors`` codes that these endpoints use (Zadig v3.4.0).
CODE_MESSAGES: dict[int, str] = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    500: "Internal Error",
    6160: "创建工作流任务失败",
    6161: "获取工作流任务失败",
    6163: "取消工作流任务失败",
    6169: "批准工作流任务失败",
    6190: "获取计数器失败",
    6540: "新建或更新wokflow失败",
    6542: "查询workflow失败",
    6543: "删除workflow失败",
    6545: "校验workflow失败",
    6890: "获取视图详情失败",
    6891: "列出视图失败",
    6892: "创建视图失败",
    6893: "更新视图失败",
    6894: "删除视图失败",
    7050: "用户许可证不可用，请检查许可证后重试",
    7100: "创建预审批单失败",
}


def json_response(data: Any, status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    """Encode ``data`` like Go's ``encoding/json``: compact UTF-8, with ``<``, ``>`` and ``&`` escaped."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    # These characters can only occur inside JSON strings, so replacing them keeps the document valid.
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return Response(
        text.encode("utf-8"), status_code=status_code, media_type=JSON_MEDIA_TYPE, headers=headers
    )


def success_response() -> Response:
    """Return the body of a successful call that has no data."""
    return json_response({"message": "success"})


class SimulatedError(Exception):
    """An error that a handler raises to end the request with a Zadig error response."""

    def to_response(self) -> Response:
        raise NotImplementedError


class CodedError(SimulatedError):
    """
    A Zadig ``*HTTPError``: code, the code's fixed message, and a description.

    :param code: Zadig error code (6xxx/7xxx) or an HTTP status (400, 403, 404, 500).
    :param description: The ``description`` field; for codes 6xxx/7xxx usually the Go error text.
    """

    def __init__(self, code: int, description: str) -> None:
        super().__init__(f"{code}: {description}")
        self.code = code
        self.description = description

    @property
    def status_code(self) -> int:
        # pkg/middleware/gin/response.go forces HTTP 400 for every code outside the HTTP range.
        return self.code if self.code < 1000 else 400

    def to_response(self) -> Response:
        body = {
            "type": "error",
            "message": CODE_MESSAGES.get(self.code, ""),
            "code": self.code,
            "description": self.description,
            "extra": {},
        }
        return json_response(body, status_code=self.status_code)


class BadRequest(CodedError):
    """``e.ErrInvalidParam`` with a description: HTTP 400, code 400, message ``Bad Request``."""

    def __init__(self, description: str) -> None:
        super().__init__(400, description)


class PlainError(SimulatedError):
    """A plain Go error: HTTP 500 with the three-key body whose message really ends with ``": "``."""

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description

    def to_response(self) -> Response:
        body = {"code": 500, "message": "Internal Error: ", "description": self.description}
        return json_response(body, status_code=500)


class EmptyResponseError(SimulatedError):
    """A bare status with an empty body (failed gin binding, 401 from the gateway, 403 from aslan)."""

    def __init__(self, status_code: int) -> None:
        super().__init__(f"HTTP {status_code}")
        self.status_code = status_code

    def to_response(self) -> Response:
        return Response(b"", status_code=self.status_code)


def forbidden() -> EmptyResponseError:
    """Return the error of a permission check that failed (``c.AbortWithStatus(403)``)."""
    return EmptyResponseError(403)


def bind_failed() -> EmptyResponseError:
    """Return the error of a failed ``c.BindQuery``/``c.BindJSON``: gin writes the status before any body."""
    return EmptyResponseError(400)


def invalid_path(path: str) -> Response:
    """Return aslan's 404 response for a path without a route."""
    return Response(f"Invalid path: {path}", status_code=404, media_type="text/plain; charset=utf-8")


def method_not_allowed(method: str, path: str) -> Response:
    """Return aslan's 405 response for a known path called with a method it does not route."""
    body = f"Method not allowed: {method} {path}"
    return Response(body, status_code=405, media_type="text/plain; charset=utf-8")
