"""The generated edge config against the contracts, without starting anything but `envoy --mode validate`."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from marketplace.common.v1 import access_pb2
from services.edge import contracts
from services.edge.envoy_config import JWT_PUBLIC, JWT_USER, bootstrap
from services.edge.render import generated_files, served_services
from services.edge.settings import built_web_files, checked_in_settings, envoy_binary
from services.kit.settings import REPO_ROOT

pytestmark = pytest.mark.timeout(120)


def route_table(document: dict[str, Any]) -> list[dict[str, Any]]:
    listener = document["static_resources"]["listeners"][0]
    manager = listener["filter_chains"][0]["filters"][0]["typed_config"]
    routes: list[dict[str, Any]] = manager["route_config"]["virtual_hosts"][0]["routes"]
    return routes


def requirement(route: dict[str, Any]) -> str | None:
    config = route.get("typed_per_filter_config", {}).get("envoy.filters.http.jwt_authn")
    return None if config is None else str(config["requirement_name"])


def test_checked_in_files_are_what_the_contracts_generate() -> None:
    stale = [
        str(path.relative_to(REPO_ROOT))
        for path, content in generated_files().items()
        if not path.exists() or path.read_bytes() != content
    ]
    assert not stale, f"envoy/ is stale (run `make gen`): {stale}"


def test_every_route_follows_its_access_rule() -> None:
    names = served_services()
    found = contracts.rpcs(contracts.load_descriptor_set(), names)
    routes = route_table(bootstrap(found, checked_in_settings(names)))
    by_name = {route["name"]: route for route in routes}
    clusters = set(names)
    for rpc in found:
        if rpc.internal:
            denied = by_name[f"internal:{rpc.grpc_path}"]
            assert denied["direct_response"]["status"] == 404
            assert f"grpc:{rpc.grpc_path}" not in by_name
            continue
        expected = JWT_PUBLIC if rpc.access == access_pb2.ACCESS_PUBLIC else JWT_USER
        names_of_rpc = [f"grpc:{rpc.grpc_path}"] + [f"rest:{b.verb} {b.path}" for b in rpc.bindings]
        for name in names_of_rpc:
            route = by_name[name]
            assert requirement(route) == expected, name
            assert route["route"]["cluster"] == rpc.service in clusters
            assert route["route"]["timeout"] == ("0s" if rpc.streaming else "15s"), name
    # Only routes that serve RPCs carry a JWT requirement; the rest are the preflight, the document, the
    # storefront's files and denials.
    assert {route["name"] for route in routes if requirement(route) is None} == {
        "cors-preflight",
        "openapi",
        *(f"web:/{name}" for name in built_web_files()),
        "web:/",
        *(f"internal:{rpc.grpc_path}" for rpc in found if rpc.internal),
    }


def test_internal_rpcs_have_no_http_rule_in_the_contracts() -> None:
    descriptor_set = contracts.load_descriptor_set()
    internal = {rpc.grpc_path for rpc in contracts.rpcs(descriptor_set, served_services()) if rpc.internal}
    assert internal
    for file in descriptor_set.file:
        for service in file.service:
            for method in service.method:
                if f"/{file.package}.{service.name}/{method.name}" in internal:
                    assert not method.options.HasExtension(contracts.HTTP_RULE), method.name


def test_a_contract_change_changes_the_config() -> None:
    """What the freshness check relies on: an access rule changed in the contracts changes the routes."""
    descriptor_set = contracts.load_descriptor_set()
    names = served_services()
    before = bootstrap(contracts.rpcs(descriptor_set, names), checked_in_settings(names))
    for file in descriptor_set.file:
        for service in file.service:
            for method in service.method:
                if method.name == "GetProduct":
                    method.options.Extensions[contracts.ACCESS_RULE].access = access_pb2.ACCESS_INTERNAL
    after = bootstrap(contracts.rpcs(descriptor_set, names), checked_in_settings(names))
    assert before != after
    names_after = {route["name"] for route in route_table(after)}
    assert "internal:/marketplace.catalog.v1.CatalogService/GetProduct" in names_after
    assert "rest:GET /v1/products/{id}" not in names_after


def test_path_templates_become_anchored_regexes() -> None:
    import re

    pattern = re.compile(contracts.path_regex("/v1/products/{id}"))
    assert pattern.fullmatch("/v1/products/abc")
    assert not pattern.fullmatch("/v1/products/abc:watch")
    assert not pattern.fullmatch("/v1/products/a/b")
    nested = re.compile(contracts.path_regex("/v1/products/{product_id}/variants/{variant.id}"))
    assert nested.fullmatch("/v1/products/p1/variants/v2")
    assert re.compile(contracts.path_regex("/v1/products:mine")).fullmatch("/v1/products:mine")


def _validate(config: Path) -> subprocess.CompletedProcess[str]:
    command = [str(envoy_binary()), "--mode", "validate", "--disable-hot-restart", "-c", str(config)]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, cwd=REPO_ROOT)


def test_envoy_accepts_both_flavours(tmp_path: Path) -> None:
    local = _validate(REPO_ROOT / "envoy" / "envoy.yaml")
    assert local.returncode == 0, local.stderr[-2000:]
    # The Kubernetes flavour reads its files from /etc/envoy; validated here with them where they are.
    k8s = (REPO_ROOT / "envoy" / "k8s.yaml").read_text()
    k8s = k8s.replace("/etc/envoy/web/", f"{REPO_ROOT}/edge/web/dist/").replace("/etc/envoy/", f"{REPO_ROOT}/envoy/")
    document = yaml.safe_load(k8s)
    clusters = {cluster["name"]: cluster for cluster in document["static_resources"]["clusters"]}
    assert clusters["catalog"]["type"] == "STRICT_DNS"
    address = clusters["catalog"]["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]["address"]
    assert address["socket_address"]["address"] == "catalog"
    (tmp_path / "k8s.yaml").write_text(k8s)
    checked = _validate(tmp_path / "k8s.yaml")
    assert checked.returncode == 0, checked.stderr[-2000:]


def test_sign_in_sign_up_and_reset_are_rate_limited_on_every_protocol() -> None:
    names = served_services()
    found = contracts.rpcs(contracts.load_descriptor_set(), names)
    routes = route_table(bootstrap(found, checked_in_settings(names)))
    limited = {
        route["name"]
        for route in routes
        if "envoy.filters.http.local_ratelimit" in route.get("typed_per_filter_config", {})
    }
    expected = set()
    for rpc in found:
        if rpc.service == "auth" and rpc.name in ("Login", "Register", "RequestPasswordReset", "ResetPassword"):
            expected.add(f"grpc:{rpc.grpc_path}")
            expected.update(f"rest:{b.verb} {b.path}" for b in rpc.bindings)
    assert len(expected) == 8
    assert limited == expected


def test_local_settings_follow_the_environment() -> None:
    from services.edge.settings import local_settings

    settings = local_settings(
        ["auth", "catalog"],
        {
            "GRPC_HOST": "0.0.0.0",
            "CATALOG_PORT": "6000",
            "EDGE_PORT": "7000",
            "EDGE_ADMIN_PORT": "7001",
            "WEB_ORIGINS": "",
        },
    )
    assert settings.upstreams["catalog"].host == "127.0.0.1" and settings.upstreams["catalog"].port == 6000
    assert settings.upstreams["auth"].port == 50051
    assert (settings.listen_port, settings.admin_host, settings.admin_port) == (7000, "127.0.0.1", 7001)
    assert settings.web_origins == ()
    document = bootstrap(contracts.rpcs(contracts.load_descriptor_set(), ["auth", "catalog"]), settings)
    listener = document["static_resources"]["listeners"][0]
    virtual_host = listener["filter_chains"][0]["filters"][0]["typed_config"]["route_config"]["virtual_hosts"][0]
    # No origin allowed: no CORS policy at all (a preflight then gets no allow-origin).
    assert virtual_host["typed_per_filter_config"] == {}
    assert document["admin"]["address"]["socket_address"] == {"address": "127.0.0.1", "port_value": 7001}
    origins = local_settings(["auth"], {"WEB_ORIGINS": "https://a.example, https://b.example"}).web_origins
    assert origins == ("https://a.example", "https://b.example")


async def test_mesh_edge_0_runs_without_envoy(tmp_path: Path) -> None:
    from services.edge.runner import start_local_edge

    assert await start_local_edge(["auth"], {"MESH_EDGE": "0"}, tmp_path) is None
    assert not os.listdir(tmp_path)


def test_the_storefront_is_served_file_by_file_with_its_content_type() -> None:
    names = served_services()
    found = contracts.rpcs(contracts.load_descriptor_set(), names)
    routes = {route["name"]: route for route in route_table(bootstrap(found, checked_in_settings(names)))}
    files = built_web_files()
    assert "index.html" in files, "edge/web/dist is checked in"

    def headers(route: dict[str, Any]) -> dict[str, str]:
        return {item["header"]["key"]: item["header"]["value"] for item in route["response_headers_to_add"]}

    for path in ("/", "/index.html"):
        index = routes[f"web:{path}"]
        assert index["match"]["path"] == path
        assert index["direct_response"]["body"]["filename"] == "edge/web/dist/index.html"
        assert headers(index)["content-type"] == "text/html; charset=utf-8"
        assert "script-src 'self'" in headers(index)["content-security-policy"]
    scripts = [name for name in files if name.endswith(".js")]
    assert scripts
    for name in scripts:
        assert headers(routes[f"web:/{name}"])["content-type"] == "text/javascript; charset=utf-8"
