"""`python -m services up [--single]` starts the whole mesh on this machine; `python -m services migrate` only
prepares the databases. See services/launcher.py. `python -m services dead-letters ...` lists, replays or drops
dead-lettered events (services/kit/dead_letters.py)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from services import launcher, registry
from services.kit.settings import DATA_DIR_ENV, default_data_dir


def parse(argv: list[str] | None) -> tuple[str, launcher.Options]:
    parser = argparse.ArgumentParser(prog="python -m services", description="Run the marketplace mesh locally.")
    commands = parser.add_subparsers(dest="command", required=True)
    up = commands.add_parser("up", help="start PostgreSQL, Valkey and every service; Ctrl-C stops everything")
    up.add_argument("--single", action="store_true", help="run every service in this one process and event loop")
    migrate = commands.add_parser("migrate", help="create each service's database and apply its migrations")
    # Listed for --help only: main() hands the arguments after it to services.kit.dead_letters.
    commands.add_parser("dead-letters", help="list, replay or drop dead-lettered events (dead-letters -h)")
    for command in (up, migrate):
        command.add_argument(
            "--data-dir",
            type=Path,
            default=default_data_dir(os.environ),
            help=f"where embedded PostgreSQL and Valkey keep their data (env {DATA_DIR_ENV}; default ./var)",
        )
        command.add_argument(
            "--only",
            default="",
            help=f"comma-separated services, from: {', '.join(registry.SERVICE_NAMES)} (default: all that exist)",
        )
    args = parser.parse_args(argv)
    services = registry.available()
    if args.only:
        services = [name.strip() for name in args.only.split(",") if name.strip()]
        unknown = sorted(set(services) - set(registry.SERVICE_NAMES))
        if unknown:
            parser.error(f"unknown service(s): {', '.join(unknown)}")
        missing = [name for name in services if not registry.exists(name)]
        if missing:
            parser.error(f"not there yet: {', '.join(missing)}")
    options = launcher.Options(data_dir=args.data_dir, services=services, single=getattr(args, "single", False))
    return args.command, options


def main(argv: list[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else argv
    if arguments[:1] == ["dead-letters"]:
        # Imported here: `up` and `migrate` need none of the bus's imports.
        from services.kit import dead_letters

        return dead_letters.main(arguments[1:])
    command, options = parse(argv)
    if command == "up":
        return launcher.up(options)
    return launcher.migrate(options)


if __name__ == "__main__":
    sys.exit(main())
