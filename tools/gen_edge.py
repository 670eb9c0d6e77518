"""Writes envoy/ from the contracts: `envoy.yaml` (this machine), `k8s.yaml` (Kubernetes service names), the
transcoder's descriptor set and `openapi.yaml`. Run by `make gen` after gen/ is fresh; `--check` only reports
files that differ (for CI and the tests)."""

from __future__ import annotations

import argparse
import sys

from services.edge.render import generated_files
from services.kit.settings import REPO_ROOT


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail when a file in envoy/ is not what gen writes")
    args = parser.parse_args()
    stale = []
    for path, content in generated_files().items():
        if path.exists() and path.read_bytes() == content:
            continue
        stale.append(path.relative_to(REPO_ROOT))
        if not args.check:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
    if args.check and stale:
        print(f"stale: {', '.join(map(str, stale))}: run 'make gen' and commit the result", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
