"""
Simulated Zadig users, their API tokens and their permissions.

A real Zadig gateway checks an HS256 JWT and aslan reads the ``name`` and ``uid`` claims from it.
The simulator maps each accepted token string to a :class:`SimulatorUser` instead, so any string
works as a token. :func:`build_api_token` makes a JWT shaped like a real Zadig API token for tests
of code that decodes the ``name`` claim.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field

ROLE_ADMIN = "admin"
ROLE_MEMBER = "member"
ROLE_VIEWER = "viewer"
ROLES = (ROLE_ADMIN, ROLE_MEMBER, ROLE_VIEWER)

#: Name of the user that the main token belongs to. The seeded approval job names this user as approver.
DEFAULT_USER_NAME = "admin"

# API tokens expire 876000 hours (about 100 years) after they are issued (Zadig v3.4 user service).
_API_TOKEN_LIFETIME_SECONDS = 876000 * 3600
_UID_NAMESPACE = uuid.UUID("8f1c3a52-53d4-4a59-9a47-7c3f2d0e6b11")


def default_uid(name: str) -> str:
    """Return a stable uid for a user name, so approver lists can be written down in advance."""
    return str(uuid.uuid5(_UID_NAMESPACE, name))


@dataclass(frozen=True)
class SimulatorUser:
    """
    A user that a token authenticates as.

    :param name: Display name: the JWT ``name`` claim that Zadig stores as ``task_creator``.
    :param role: ``admin``, ``member`` or ``viewer``. An admin (system administrator) may make every
        call. A member may execute workflows and edit task remarks, but gets 403 from the workflow,
        view and delete calls that need project admin or edit rights. A viewer gets 403 from every
        call that checks permissions.
    :param uid: User id that approvals match against; derived from the name by default.
    """

    name: str
    role: str = ROLE_MEMBER
    uid: str = field(default="")

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(
                f"invalid role {self.role!r} for user {self.name!r}: use one of {', '.join(ROLES)}"
            )
        if not self.uid:
            object.__setattr__(self, "uid", default_uid(self.name))

    @property
    def is_admin(self) -> bool:
        return self.role == ROLE_ADMIN

    @property
    def can_execute(self) -> bool:
        return self.role in (ROLE_ADMIN, ROLE_MEMBER)


UserSpec = str | SimulatorUser


def build_users(token: str, users: Mapping[str, UserSpec] | None) -> dict[str, SimulatorUser]:
    """
    Return the token table: ``token`` belongs to the administrator ``admin``, the rest come from ``users``.

    A plain string in ``users`` is a user name with the ``member`` role.
    """
    table = {token: SimulatorUser(DEFAULT_USER_NAME, role=ROLE_ADMIN)}
    for user_token, spec in (users or {}).items():
        table[user_token] = spec if isinstance(spec, SimulatorUser) else SimulatorUser(spec)
    return table


def parse_user_option(option: str) -> tuple[str, SimulatorUser]:
    """
    Parse a ``TOKEN=NAME`` or ``TOKEN=NAME:ROLE`` command-line option.

    :raises ValueError: when the option has no ``=``, an empty token or name, or an unknown role.
    """
    token, sep, rest = option.partition("=")
    name, _, role = rest.partition(":")
    if not sep or not token or not name:
        raise ValueError(f"invalid user option {option!r}: expected TOKEN=NAME or TOKEN=NAME:ROLE")
    return token, SimulatorUser(name, role=role or ROLE_MEMBER)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def build_api_token(
    name: str = DEFAULT_USER_NAME, uid: str | None = None, secret: str = "zadig-simulator"
) -> str:
    """
    Build an HS256 JWT with the claims of a Zadig API token (``name``, ``uid``, ``aud="zadig"``, ``exp``).

    The simulator does not verify signatures: the token still has to be registered with the simulator.
    """
    now = int(time.time())
    claims = {
        "name": name,
        "email": "",
        "phone": "",
        "uid": uid or default_uid(name),
        "preferred_username": name,
        "federated_claims": {"connector_id": "", "user_id": name},
        "aud": "zadig",
        "exp": now + _API_TOKEN_LIFETIME_SECONDS,
    }
    header = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    payload = _b64url(json.dumps(claims, separators=(",", ":")).encode())
    signature = hmac.new(secret.encode(), f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64url(signature)}"
