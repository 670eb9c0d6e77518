"""The Envoy bootstrap for the edge, derived from the contracts.

One listener serves REST/JSON (transcoded), gRPC and gRPC-Web. Every route comes from an RPC: its gRPC path
(`/pkg.Svc/Method`, gRPC and gRPC-Web) and each of its HTTP bindings (REST). What no RPC names has no route and
gets 404; internal RPCs get an explicit 404 route, so no later route can ever expose them. A route's JWT
requirement follows the RPC's access rule: public RPCs accept a missing token (a sent one must still verify),
every other RPC needs a valid token. The services check the token and the access rule again themselves.

Filter order (measured, see the project notes): health_check (/healthz), grpc_web, cors, claim-header strip,
local rate limit, jwt_authn, REST reply header cleanup, buffer (request size), grpc_json_transcoder, router.
The transcoder keeps the route chosen on the REST path (`match_incoming_request_route`), so per-route settings
of REST routes apply to the whole exchange. One local reply mapper turns the rate limit's answer to gRPC-Web
into RESOURCE_EXHAUSTED (`_local_replies`).
"""

from __future__ import annotations

from typing import Any

from services.edge.contracts import Rpc, path_regex, service_names
from services.edge.settings import EdgeSettings, RateLimit

JWT_PROVIDER = "mesh"
JWT_PUBLIC = "public"
JWT_USER = "user"
JWKS_CLUSTER = "edge_jwks"
JWKS_PATH = "/.well-known/jwks.json"
# The token's subject, for the access log; Envoy sets it from a verified token only (client copies are removed).
USER_HEADER = "x-mesh-user"
CLAIM_HEADERS = (USER_HEADER,)
# gRPC framing headers a REST client has no use for.
GRPC_REPLY_HEADERS = ("grpc-status", "grpc-message", "grpc-accept-encoding", "grpc-encoding", "grpc-status-details-bin")
OPENAPI_ROUTE = "/openapi.yaml"
GRPC_RESOURCE_EXHAUSTED = 8  # google.rpc.Code
MAX_DIRECT_RESPONSE_BYTES = 4 * 1024 * 1024

F_HEALTH = "envoy.filters.http.health_check"
HEALTH_PATH = "/healthz"
F_GRPC_WEB = "envoy.filters.http.grpc_web"
F_CORS = "envoy.filters.http.cors"
F_STRIP = "strip_claim_headers"
F_RATE = "envoy.filters.http.local_ratelimit"
F_JWT = "envoy.filters.http.jwt_authn"
F_REST_REPLY = "rest_reply_headers"
F_BUFFER = "envoy.filters.http.buffer"
F_TRANSCODER = "envoy.filters.http.grpc_json_transcoder"
F_ROUTER = "envoy.filters.http.router"

T = "type.googleapis.com/envoy.extensions.filters.http"
HEADER_MUTATION = f"{T}.header_mutation.v3.HeaderMutation"
HEADER_MUTATION_ROUTE = f"{T}.header_mutation.v3.HeaderMutationPerRoute"
LOCAL_RATE_LIMIT = f"{T}.local_ratelimit.v3.LocalRateLimit"
HCM = "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"
FILTER_CONFIG = "type.googleapis.com/envoy.config.route.v3.FilterConfig"


def _duration(seconds: int | float) -> str:
    return f"{seconds}s"


def _socket(host: str, port: int) -> dict[str, Any]:
    return {"socket_address": {"address": host, "port_value": port}}


def _cluster(name: str, host: str, port: int, discovery: str, *, http2: bool, health: bool) -> dict[str, Any]:
    cluster: dict[str, Any] = {
        "name": name,
        "type": discovery,
        "connect_timeout": "2s",
        "lb_policy": "ROUND_ROBIN",
        "load_assignment": {
            "cluster_name": name,
            "endpoints": [{"lb_endpoints": [{"endpoint": {"address": _socket(host, port)}}]}],
        },
    }
    if discovery == "STRICT_DNS":
        cluster["dns_lookup_family"] = "V4_PREFERRED"
    if http2:
        cluster["typed_extension_protocol_options"] = {
            "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
                "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
                "explicit_http_config": {"http2_protocol_options": {}},
            }
        }
    if health:
        # grpc.health.v1 on every service: a draining one (NOT_SERVING) stops getting new calls.
        cluster["health_checks"] = [
            {
                "timeout": "1s",
                "interval": "5s",
                "no_traffic_interval": "5s",
                "unhealthy_threshold": 2,
                "healthy_threshold": 1,
                "grpc_health_check": {},
            }
        ]
    return cluster


def _rate_limit(key: str, limit: RateLimit) -> dict[str, Any]:
    full = {"default_value": {"numerator": 100, "denominator": "HUNDRED"}}
    return {
        "@type": LOCAL_RATE_LIMIT,
        "stat_prefix": f"rate_{key.replace('.', '_').lower()}",
        # Envoy's default, stated: the local reply mapper (`_local_replies`) recognizes the limit by it.
        "status": {"code": "TooManyRequests"},
        "token_bucket": {
            "max_tokens": limit.tokens,
            "tokens_per_fill": limit.tokens,
            "fill_interval": _duration(limit.seconds),
        },
        "filter_enabled": {**full, "runtime_key": "edge_rate_limit_enabled"},
        "filter_enforced": {**full, "runtime_key": "edge_rate_limit_enforced"},
        # gRPC callers get RESOURCE_EXHAUSTED (the project's status for rate limits), not UNAVAILABLE. Only for
        # what Envoy takes for gRPC, which gRPC-Web is not: `_local_replies` answers those.
        "rate_limited_as_resource_exhausted": True,
        "response_headers_to_add": [
            {
                "append_action": "OVERWRITE_IF_EXISTS_OR_ADD",
                "header": {"key": "retry-after", "value": str(limit.seconds)},
            }
        ],
    }


def _local_replies() -> dict[str, Any]:
    """The rate limit's answer to gRPC-Web, as a gRPC answer (RESOURCE_EXHAUSTED with `retry-after`).

    Envoy decides once per request, on the content type as it arrived, whether its own replies are gRPC. A
    gRPC-Web request (`application/grpc-web…`) is not, so the limit answers it as plain HTTP (429, a text
    body) and `rate_limited_as_resource_exhausted` does not apply; the grpc_web filter then derives the status
    from the HTTP code (429 → UNAVAILABLE), and browser clients read the code from a non-2xx status anyway.
    Filter order cannot change that decision. This mapper rewrites the limit's 429 to a request that is gRPC by
    the time of the reply (the grpc_web filter has set `application/grpc`) into a trailers-only gRPC reply:
    HTTP 200, `grpc-status` 8, no body; the limit's `retry-after` stays. REST requests keep the 429. Native
    gRPC already gets this answer; rewriting it too changes nothing."""
    return {
        "mappers": [
            {
                # The limit is the edge's only 429. Matched by status, not by its RL response flag: the limit sets
                # the flag after its reply has gone through this mapper. The runtime key is mandatory, never set.
                "filter": {
                    "and_filter": {
                        "filters": [
                            {
                                "status_code_filter": {
                                    "comparison": {
                                        "op": "EQ",
                                        "value": {"default_value": 429, "runtime_key": "edge_rate_limited_status"},
                                    }
                                }
                            },
                            {
                                "header_filter": {
                                    "header": {"name": "content-type", "string_match": {"prefix": "application/grpc"}}
                                }
                            },
                        ]
                    }
                },
                "status_code": 200,
                "body": {"inline_string": ""},
                "headers_to_add": [
                    {
                        "append_action": "OVERWRITE_IF_EXISTS_OR_ADD",
                        "header": {"key": "grpc-status", "value": str(GRPC_RESOURCE_EXHAUSTED)},
                    },
                    {
                        "append_action": "OVERWRITE_IF_EXISTS_OR_ADD",
                        "header": {"key": "grpc-message", "value": "local_rate_limited"},
                    },
                ],
            }
        ]
    }


def _route_settings(rpc: Rpc, settings: EdgeSettings, *, rest: bool) -> dict[str, Any]:
    per_filter: dict[str, Any] = {
        F_JWT: {
            "@type": f"{T}.jwt_authn.v3.PerRouteConfig",
            "requirement_name": JWT_PUBLIC if rpc.public else JWT_USER,
        }
    }
    key = f"{rpc.service}.{rpc.name}"
    if key in settings.rate_limits:
        per_filter[F_RATE] = _rate_limit(key, settings.rate_limits[key])
    if rest:
        per_filter[F_REST_REPLY] = {
            "@type": HEADER_MUTATION_ROUTE,
            "mutations": {"response_mutations": [{"remove": name} for name in GRPC_REPLY_HEADERS]},
        }
    if rpc.client_streaming:
        # A client stream is not one body: it is never buffered (each message is bounded by the service).
        per_filter[F_BUFFER] = {"@type": f"{T}.buffer.v3.BufferPerRoute", "disabled": True}
    action: dict[str, Any] = {"cluster": rpc.service}
    if rpc.streaming:
        # The default route timeout would cut a long stream; idleness closes it instead.
        action["timeout"] = "0s"
        action["idle_timeout"] = _duration(settings.stream_idle_timeout_seconds)
    else:
        action["timeout"] = _duration(settings.unary_timeout_seconds)
    return {"route": action, "typed_per_filter_config": per_filter}


# The storefront's files by extension; anything else is served as bytes.
WEB_CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".json": "application/json",
    ".txt": "text/plain; charset=utf-8",
    ".webmanifest": "application/manifest+json",
    ".woff2": "font/woff2",
}
WEB_INDEX = "index.html"
# The page loads only its own scripts and styles and calls only this origin; product pictures may come from
# the image store's address, wherever that is.
WEB_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' https: http: data: blob:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def _header(key: str, value: str) -> dict[str, Any]:
    return {"append_action": "OVERWRITE_IF_EXISTS_OR_ADD", "header": {"key": key, "value": value}}


def web_routes(settings: EdgeSettings) -> list[dict[str, Any]]:
    """One `direct_response` route per built file of the storefront (index.html also on `/`). Envoy reads the
    files when it loads the config: a rebuilt storefront is served once Envoy restarts."""
    table: list[dict[str, Any]] = []
    for name in settings.web_files:
        suffix = "." + name.rsplit(".", 1)[-1] if "." in name else ""
        headers = [
            _header("content-type", WEB_CONTENT_TYPES.get(suffix, "application/octet-stream")),
            # The built files keep their names from one build to the next: always revalidate.
            _header("cache-control", "no-cache"),
            _header("x-content-type-options", "nosniff"),
        ]
        if name == WEB_INDEX:
            headers += [
                _header("content-security-policy", WEB_CSP),
                _header("referrer-policy", "no-referrer"),
                _header("x-frame-options", "DENY"),
            ]
        paths = ["/", f"/{name}"] if name == WEB_INDEX else [f"/{name}"]
        for path in paths:
            table.append(
                {
                    "name": f"web:{path}",
                    "match": {"path": path, "headers": [{"name": ":method", "string_match": {"exact": "GET"}}]},
                    "direct_response": {"status": 200, "body": {"filename": f"{settings.web_root}/{name}"}},
                    "response_headers_to_add": headers,
                    # Not an RPC: the transcoder would refuse the unknown path.
                    "typed_per_filter_config": {F_TRANSCODER: {"@type": FILTER_CONFIG, "disabled": True}},
                }
            )
    return table


def routes(found: list[Rpc], settings: EdgeSettings) -> list[dict[str, Any]]:
    served = [rpc for rpc in found if rpc.service in settings.upstreams]
    table: list[dict[str, Any]] = [
        {
            # Only the CORS filter answers preflights (allowed or not); nothing reaches a service.
            "name": "cors-preflight",
            "match": {"prefix": "/", "headers": [{"name": ":method", "string_match": {"exact": "OPTIONS"}}]},
            "route": {"cluster": JWKS_CLUSTER, "timeout": "1s"},
        },
        {
            "name": "openapi",
            "match": {"path": OPENAPI_ROUTE, "headers": [{"name": ":method", "string_match": {"exact": "GET"}}]},
            "direct_response": {"status": 200, "body": {"filename": settings.openapi_path}},
            "response_headers_to_add": [
                {
                    "append_action": "OVERWRITE_IF_EXISTS_OR_ADD",
                    "header": {"key": "content-type", "value": "application/yaml"},
                }
            ],
            # Not an RPC: the transcoder would refuse the unknown path.
            "typed_per_filter_config": {F_TRANSCODER: {"@type": FILTER_CONFIG, "disabled": True}},
        },
        *web_routes(settings),
    ]
    for rpc in served:
        if rpc.internal:
            table.append(
                {
                    "name": f"internal:{rpc.grpc_path}",
                    "match": {"path": rpc.grpc_path},
                    "direct_response": {"status": 404},
                }
            )
    for rpc in served:
        if rpc.internal:
            continue
        table.append(
            {
                "name": f"grpc:{rpc.grpc_path}",
                "match": {"path": rpc.grpc_path},
                **_route_settings(rpc, settings, rest=False),
            }
        )
    rest: list[tuple[str, dict[str, Any]]] = []
    for rpc in served:
        for binding in rpc.bindings:
            route = {
                "name": f"rest:{binding.verb} {binding.path}",
                "match": {
                    "safe_regex": {"regex": path_regex(binding.path)},
                    "headers": [{"name": ":method", "string_match": {"exact": binding.verb}}],
                },
                **_route_settings(rpc, settings, rest=True),
            }
            rest.append((binding.path, route))
    # Literal paths before templated ones, longer before shorter: the most specific route wins.
    rest.sort(key=lambda item: ("{" in item[0], -len(item[0]), item[0]))
    table.extend(route for _, route in rest)
    return table


def _cors(settings: EdgeSettings) -> dict[str, Any]:
    return {
        "@type": f"{T}.cors.v3.CorsPolicy",
        "allow_origin_string_match": [{"exact": origin} for origin in settings.web_origins],
        "allow_methods": "GET, POST, PATCH, PUT, DELETE, OPTIONS",
        "allow_headers": ", ".join(
            (
                "authorization",
                "content-type",
                "x-grpc-web",
                "x-user-agent",
                "grpc-timeout",
                "x-request-id",
            )
        ),
        "expose_headers": "grpc-status, grpc-message, grpc-status-details-bin, x-request-id, retry-after",
        "max_age": "600",
        # A preflight from an origin not allowed is answered here, without CORS headers, not sent to a service.
        "forward_not_matching_preflights": False,
    }


def _jwt(settings: EdgeSettings) -> dict[str, Any]:
    provider = {
        "issuer": settings.jwt_issuer,
        "audiences": [settings.jwt_audience],
        "remote_jwks": {
            # Auth's GetJwks is gRPC; its REST form is served by this same listener (a public route), which
            # is how the JWKS becomes plain JSON for Envoy.
            "http_uri": {
                "uri": f"http://127.0.0.1:{settings.listen_port}{JWKS_PATH}",
                "cluster": JWKS_CLUSTER,
                "timeout": "5s",
            },
            "cache_duration": _duration(settings.jwks_cache_seconds),
            # Fetched at start and in the background; the listener must not wait for it (it serves the fetch).
            "async_fetch": {"fast_listener": True, "failed_refetch_duration": "1s"},
            "retry_policy": {"num_retries": 3},
        },
        # The services verify the token again (revocations, scopes): it travels on.
        "forward": True,
        "claim_to_headers": [{"header_name": USER_HEADER, "claim_name": "sub"}],
    }
    return {
        "@type": f"{T}.jwt_authn.v3.JwtAuthentication",
        "providers": {JWT_PROVIDER: provider},
        "requirement_map": {
            JWT_USER: {"provider_name": JWT_PROVIDER},
            JWT_PUBLIC: {"requires_any": {"requirements": [{"provider_name": JWT_PROVIDER}, {"allow_missing": {}}]}},
        },
        "bypass_cors_preflight": True,
    }


def _filters(found: list[Rpc], settings: EdgeSettings) -> list[dict[str, Any]]:
    served = [rpc for rpc in found if rpc.service in settings.upstreams]
    return [
        {
            # The edge's own readiness (Kubernetes probes, balancers): 200 while Envoy serves, 503 once it drains
            # or when a service has no healthy endpoint. Answered here; never routed.
            "name": F_HEALTH,
            "typed_config": {
                "@type": f"{T}.health_check.v3.HealthCheck",
                "pass_through_mode": False,
                "headers": [{"name": ":path", "string_match": {"exact": HEALTH_PATH}}],
                "cluster_min_healthy_percentages": {name: {"value": 100.0} for name in settings.upstreams},
            },
        },
        {"name": F_GRPC_WEB, "typed_config": {"@type": f"{T}.grpc_web.v3.GrpcWeb"}},
        {"name": F_CORS, "typed_config": {"@type": f"{T}.cors.v3.Cors"}},
        {
            "name": F_STRIP,
            "typed_config": {
                "@type": HEADER_MUTATION,
                "mutations": {"request_mutations": [{"remove": name} for name in CLAIM_HEADERS]},
            },
        },
        {"name": F_RATE, "typed_config": {"@type": LOCAL_RATE_LIMIT, "stat_prefix": "edge_rate_limit"}},
        {"name": F_JWT, "typed_config": _jwt(settings)},
        {"name": F_REST_REPLY, "typed_config": {"@type": HEADER_MUTATION}},
        # The request size limit (413), for every protocol: the transcoder's own limit does not stop a body
        # it streams through.
        {
            "name": F_BUFFER,
            "typed_config": {"@type": f"{T}.buffer.v3.Buffer", "max_request_bytes": settings.max_request_bytes},
        },
        {
            "name": F_TRANSCODER,
            "typed_config": {
                "@type": f"{T}.grpc_json_transcoder.v3.GrpcJsonTranscoder",
                "proto_descriptor": settings.descriptor_path,
                "services": service_names(served),
                "print_options": {
                    "add_whitespace": False,
                    "always_print_primitive_fields": True,
                    "always_print_enums_as_ints": False,
                    "preserve_proto_field_names": False,
                    # Server streams as NDJSON: one JSON object a line, readable as it arrives.
                    "stream_newline_delimited": True,
                },
                "convert_grpc_status": True,
                "match_incoming_request_route": True,
                "request_validation_options": {
                    "reject_unknown_method": True,
                    "reject_unknown_query_parameters": True,
                    "reject_binding_body_field_collisions": True,
                },
                "max_request_body_size": settings.max_request_bytes,
            },
        },
        {"name": F_ROUTER, "typed_config": {"@type": f"{T}.router.v3.Router"}},
    ]


ACCESS_LOG_FORMAT = {
    "time": "%START_TIME%",
    "request_id": "%REQ(X-REQUEST-ID)%",
    "method": "%REQ(:METHOD)%",
    "path": "%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%",
    "protocol": "%PROTOCOL%",
    "status": "%RESPONSE_CODE%",
    "grpc_status": "%GRPC_STATUS%",
    "flags": "%RESPONSE_FLAGS%",
    "details": "%RESPONSE_CODE_DETAILS%",
    "route": "%ROUTE_NAME%",
    "upstream": "%UPSTREAM_CLUSTER%",
    "upstream_host": "%UPSTREAM_HOST%",
    "duration_ms": "%DURATION%",
    "bytes_in": "%BYTES_RECEIVED%",
    "bytes_out": "%BYTES_SENT%",
    "client": "%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%",
    "user": f"%REQ({USER_HEADER.upper()})%",
    "user_agent": "%REQ(USER-AGENT)%",
}


def bootstrap(found: list[Rpc], settings: EdgeSettings) -> dict[str, Any]:
    """The whole Envoy bootstrap as plain data (dumped to YAML)."""
    manager: dict[str, Any] = {
        "@type": HCM,
        "stat_prefix": "edge",
        "codec_type": "AUTO",
        "use_remote_address": True,
        "generate_request_id": True,
        "always_set_request_id_in_response": True,
        "request_headers_timeout": "10s",
        "stream_idle_timeout": "300s",
        "max_request_headers_kb": 64,
        "common_http_protocol_options": {"idle_timeout": "3600s", "headers_with_underscores_action": "REJECT_REQUEST"},
        "http2_protocol_options": {"max_concurrent_streams": 100},
        "access_log": [
            {
                "name": "envoy.access_loggers.stdout",
                "typed_config": {
                    "@type": "type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog",
                    "log_format": {"json_format": ACCESS_LOG_FORMAT},
                },
            }
        ],
        "route_config": {
            "name": "edge",
            "max_direct_response_body_size_bytes": MAX_DIRECT_RESPONSE_BYTES,
            "virtual_hosts": [
                {
                    "name": "mesh",
                    "domains": ["*"],
                    "typed_per_filter_config": {F_CORS: _cors(settings)} if settings.web_origins else {},
                    "routes": routes(found, settings),
                }
            ],
        },
        "http_filters": _filters(found, settings),
        "local_reply_config": _local_replies(),
    }
    clusters = [
        _cluster(name, upstream.host, upstream.port, settings.discovery, http2=True, health=True)
        for name, upstream in settings.upstreams.items()
    ]
    clusters.append(_cluster(JWKS_CLUSTER, "127.0.0.1", settings.listen_port, "STATIC", http2=False, health=False))
    return {
        "admin": {"address": _socket(settings.admin_host, settings.admin_port)},
        "static_resources": {
            "listeners": [
                {
                    "name": "edge",
                    "address": _socket(settings.listen_host, settings.listen_port),
                    "per_connection_buffer_limit_bytes": settings.max_request_bytes,
                    "filter_chains": [
                        {
                            "filters": [
                                {"name": "envoy.filters.network.http_connection_manager", "typed_config": manager}
                            ]
                        }
                    ],
                }
            ],
            "clusters": clusters,
        },
        "overload_manager": {
            "resource_monitors": [
                {
                    "name": "envoy.resource_monitors.global_downstream_max_connections",
                    "typed_config": {
                        "@type": "type.googleapis.com/envoy.extensions.resource_monitors."
                        "downstream_connections.v3.DownstreamConnectionsConfig",
                        "max_active_downstream_connections": 10000,
                    },
                }
            ]
        },
    }
