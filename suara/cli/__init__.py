"""The ``suara`` command line (a contract: scripts and schedules depend on it; see design.md).

Each noun lives in its own module exposing ``register(subparsers)``; this module only wires
them together and turns SuaraErrors into one clear message and the documented exit status.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys

from suara.errors import SuaraError

# Modules that register subcommands, in help order. A module that is missing or fails to
# import is reported on use, not at start-up, so one broken noun never hides the others.
COMMAND_MODULES = (
    "suara.cli.forms_cmd",
    "suara.cli.kobo_cmd",
    "suara.cli.sync_cmd",
    "suara.cli.sandbox_cmd",
    "suara.cli.warehouse_cmd",
    "suara.cli.quarantine_cmd",
    "suara.cli.report_cmd",
    "suara.cli.keys_cmd",
    "suara.cli.serve_cmd",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="suara",
        description="KoboToolbox → validated, anonymised warehouse for garment-worker surveys.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging on stderr")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        stream=sys.stderr,
        format="%(levelname)s %(name)s: %(message)s",
    )
    # Prefect prints its own records; keep them off our handler, and keep its console quiet
    # (warnings and errors) unless asked — the UI still receives every run log.
    for handler in logging.getLogger().handlers:
        handler.addFilter(lambda record: not record.name.startswith("prefect"))
    if not args.verbose:
        os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "WARNING")
    # Prefect's temporary server needs 10-18 s on 2 cores (stack.md P4); telemetry cannot
    # reach the internet from field servers and only slows the start.
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    try:
        return int(args.handler(args) or 0)
    except SuaraError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_status
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
