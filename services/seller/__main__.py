"""`python -m services.seller [serve | rebuild]`: serves the seller dashboard, or rebuilds its read model from the
event streams."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence


def serve(args: argparse.Namespace) -> None:
    from services.kit.server import main
    from services.seller.service import DEFINITION

    main(DEFINITION, ["serve"])


def rebuild(args: argparse.Namespace) -> None:
    from services.seller.rebuild import main

    sys.exit(main())


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="python -m services.seller")
    commands = root.add_subparsers(dest="command")
    commands.add_parser("serve", help="serve the seller's gRPC API (the default)").set_defaults(run=serve)
    commands.add_parser(
        "rebuild", help="empty the read model and build it again from the order, catalog and payment streams"
    ).set_defaults(run=rebuild)
    return root


def run(argv: Sequence[str] | None = None) -> None:
    args = parser().parse_args(sys.argv[1:] if argv is None else argv)
    command: Callable[[argparse.Namespace], None] = getattr(args, "run", serve)
    command(args)


if __name__ == "__main__":
    run()
