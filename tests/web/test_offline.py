"""What a machine without Node relies on: the TypeScript client and the built storefront are committed, cover
every contract, and the scripts that would regenerate them step aside, saying so."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from google.protobuf import descriptor_pb2

from services.edge.settings import WEB_DIST, built_web_files
from services.kit.settings import REPO_ROOT

GEN_TS = REPO_ROOT / "gen" / "ts"
DESCRIPTORS = REPO_ROOT / "gen" / "descriptors" / "marketplace.binpb"


def test_every_contract_has_its_committed_typescript() -> None:
    files = descriptor_pb2.FileDescriptorSet.FromString(DESCRIPTORS.read_bytes()).file
    expected = {f.name.removesuffix(".proto") + "_pb.ts" for f in files if not f.name.startswith("google/protobuf/")}
    present = {path.relative_to(GEN_TS).as_posix() for path in GEN_TS.rglob("*_pb.ts")}
    assert expected == present


def test_the_built_storefront_is_committed_with_fixed_names() -> None:
    assert {"index.html", "assets/app.js"} <= set(built_web_files())
    page = (WEB_DIST / "index.html").read_text()
    assert 'src="/assets/app.js"' in page


@pytest.mark.parametrize(
    ("script", "says"),
    [("tools/gen_ts.sh", "gen/ts: skipped, node is not installed"), ("tools/build_web.sh", "not rebuilt, node")],
)
def test_without_node_the_scripts_leave_the_committed_files(tmp_path: Path, script: str, says: str) -> None:
    # A PATH with a shell and the few tools the scripts use before they look for node, and no node.
    for tool in ("bash", "dirname"):
        found = shutil.which(tool)
        assert found is not None
        (tmp_path / tool).symlink_to(found)
    before = {path: path.stat().st_mtime_ns for path in [*GEN_TS.rglob("*"), *WEB_DIST.rglob("*")]}
    done = subprocess.run(
        [str(tmp_path / "bash"), str(REPO_ROOT / script)],
        capture_output=True,
        text=True,
        timeout=30,
        env={"PATH": str(tmp_path), "HOME": os.environ.get("HOME", "/")},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert says in done.stderr
    assert before == {path: path.stat().st_mtime_ns for path in [*GEN_TS.rglob("*"), *WEB_DIST.rglob("*")]}
