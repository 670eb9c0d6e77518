"""`python -m services.notify [serve | worker | mail [N]]`: the service, its email worker, the local mailbox."""

from __future__ import annotations

import sys


def run(argv: list[str]) -> None:
    command, rest = (argv[0], argv[1:]) if argv else ("serve", [])
    if command == "serve" and not rest:
        from services.kit.server import main
        from services.notify.service import DEFINITION

        main(DEFINITION, ["serve"])
    elif command == "worker" and not rest:
        from services.notify.worker import main as worker_main

        worker_main()
    elif command == "mail":
        from services.notify.mailbox import main as mailbox_main

        sys.exit(mailbox_main(rest))
    else:
        sys.exit("usage: python -m services.notify [serve | worker | mail [N] [--dir DIR]]")


if __name__ == "__main__":
    run(sys.argv[1:])
