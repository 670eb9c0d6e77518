"""`python -m services.catalog [serve | import ... | demo]`. Each subcommand is one function below."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence


def serve(args: argparse.Namespace) -> None:
    from services.catalog.service import DEFINITION
    from services.kit.server import main

    main(DEFINITION, ["serve"])


def import_catalog(args: argparse.Namespace) -> None:
    from services.catalog import importer

    sys.exit(importer.main(args.arguments))


def print_demo(args: argparse.Namespace) -> None:
    import yaml

    from services.catalog.demo import catalog_document

    yaml.safe_dump(catalog_document(args.products), sys.stdout, sort_keys=False, allow_unicode=True, width=120)


def parser() -> argparse.ArgumentParser:
    """The command line; a new subcommand adds a subparser with `set_defaults(run=<function>)`."""
    root = argparse.ArgumentParser(prog="python -m services.catalog")
    commands = root.add_subparsers(dest="command")
    commands.add_parser("serve", help="serve the catalog's gRPC API (the default)").set_defaults(run=serve)
    importing = commands.add_parser(
        "import", help="import a catalog YAML (or --demo) for a seller", add_help=False, prefix_chars="\0"
    )
    # The importer parses its own options (see `python -m services.catalog import --help`).
    importing.add_argument("arguments", nargs=argparse.REMAINDER)
    importing.set_defaults(run=import_catalog)
    demo = commands.add_parser("demo", help="print the generated demo catalog in the import format")
    demo.add_argument("--products", type=int, default=600, help="how many products (default 600)")
    demo.set_defaults(run=print_demo)
    return root


def run(argv: Sequence[str] | None = None) -> None:
    args = parser().parse_args(sys.argv[1:] if argv is None else argv)
    command: Callable[[argparse.Namespace], None] = getattr(args, "run", serve)
    command(args)


if __name__ == "__main__":
    run()
