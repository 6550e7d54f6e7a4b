"""
Command line: ``python -m airflow_provider_zadig.simulator --port 8080 --token T``.

When the server accepts connections it prints one line ending in its URL, for example
``Zadig simulator 3.4.0 (enterprise license) listening on http://127.0.0.1:8080``, and then serves
until interrupted (Ctrl-C or SIGTERM).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType

from airflow_provider_zadig.simulator.server import ZadigSimulator
from airflow_provider_zadig.simulator.state import LICENSES, SUPPORTED_VERSIONS
from airflow_provider_zadig.simulator.users import SimulatorUser, parse_user_option


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m airflow_provider_zadig.simulator",
        description="Serve a local Zadig v3.4 OpenAPI simulator for tests and demos.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    parser.add_argument(
        "--port", type=int, default=8080, help="TCP port; 0 picks a free one (default: %(default)s)"
    )
    parser.add_argument(
        "--token",
        default=os.environ.get("ZADIG_SIMULATOR_TOKEN", "sim-token"),
        help="API token of the administrator 'admin' (default: $ZADIG_SIMULATOR_TOKEN or sim-token)",
    )
    parser.add_argument(
        "--step-seconds",
        type=float,
        default=1.0,
        help="seconds between two task status changes (default: %(default)s)",
    )
    parser.add_argument(
        "--version", choices=SUPPORTED_VERSIONS, default="3.4.0", help="Zadig version to behave as"
    )
    parser.add_argument("--license", choices=LICENSES, default="enterprise", help="license to behave as")
    parser.add_argument(
        "--workflow-concurrency",
        type=int,
        default=2,
        help="system-wide cap on running tasks (default: %(default)s)",
    )
    parser.add_argument(
        "--minute-seconds",
        type=float,
        default=60.0,
        help="real seconds per Zadig minute, for approval timeouts",
    )
    parser.add_argument(
        "--user",
        action="append",
        default=[],
        metavar="TOKEN=NAME[:ROLE]",
        help="accept another token for user NAME; ROLE is member (default), viewer or admin; repeatable",
    )
    return parser


def _parse_users(parser: argparse.ArgumentParser, options: list[str]) -> dict[str, str | SimulatorUser]:
    users: dict[str, str | SimulatorUser] = {}
    for option in options:
        try:
            token, user = parse_user_option(option)
        except ValueError as exc:
            parser.error(str(exc))
        users[token] = user
    return users


def _build_simulator(parser: argparse.ArgumentParser, args: argparse.Namespace) -> ZadigSimulator:
    users = _parse_users(parser, args.user)
    try:
        return ZadigSimulator(
            token=args.token,
            step_seconds=args.step_seconds,
            host=args.host,
            port=args.port,
            version=args.version,
            license=args.license,
            users=users,
            workflow_concurrency=args.workflow_concurrency,
            minute_seconds=args.minute_seconds,
        )
    except ValueError as exc:
        parser.error(str(exc))


def _wait_for_stop_signal() -> None:
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    stop.wait()


def main(argv: Sequence[str] | None = None) -> int:
    """Serve until SIGINT or SIGTERM and return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    simulator = _build_simulator(parser, args)
    with simulator:
        print(  # noqa: T201 - the ready line is the command's output
            f"Zadig simulator {args.version} ({args.license} license) listening on {simulator.url}",
            flush=True,
        )
        _wait_for_stop_signal()
    return 0


if __name__ == "__main__":
    sys.exit(main())
