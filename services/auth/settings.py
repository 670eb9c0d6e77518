"""Auth settings from the environment (see `.env.example`)."""

from __future__ import annotations

from typing import ClassVar

from services.kit.settings import ServiceSettings

# Every service of the mesh may obtain a service token (client id = service name).
DEFAULT_SERVICE_CLIENTS = ["auth", "catalog", "cart", "order", "payment", "notify", "seller", "buddy"]

# The scopes each service may ask for when it exchanges a user's token (ExchangeToken).
DEFAULT_EXCHANGE_SCOPES: dict[str, list[str]] = {"buddy": ["catalog:read", "cart:read", "cart:write"]}


class AuthSettings(ServiceSettings):
    service: ClassVar[str] = "auth"

    # An RSA private key (PEM). Empty: a key is generated on first start and kept in the database.
    auth_signing_key_pem: str = ""
    # After RotateSigningKey the new key is published at once but signs only this much later, so that every
    # verifier has it before the first token it signed arrives: longer than the edge's JWKS cache (30 s,
    # `EdgeSettings.jwks_cache_seconds`).
    auth_key_rotation_lead_seconds: float = 40.0
    # How often auth checks that Redis still holds the revocations it restored (gone: it restores them again).
    auth_revocation_check_seconds: float = 5.0
    # The key service client secrets derive from: secret = HMAC-SHA256(key, client_id) hex. Empty: no service
    # can obtain a token.
    service_credentials_key: str = ""
    auth_service_clients: list[str] = DEFAULT_SERVICE_CLIENTS
    auth_exchange_scopes: dict[str, list[str]] = DEFAULT_EXCHANGE_SCOPES

    auth_access_token_ttl_seconds: int = 15 * 60
    auth_refresh_token_ttl_seconds: int = 30 * 24 * 3600
    auth_service_token_ttl_seconds: int = 15 * 60
    # Exchanged (delegated) tokens live at most 5 minutes.
    auth_exchange_token_ttl_seconds: int = 5 * 60
    auth_password_reset_ttl_seconds: int = 3600

    # Failed logins per account (or per unknown login name) before a temporary lockout.
    auth_login_max_failures: int = 5
    auth_login_lockout_seconds: int = 15 * 60
    # The answer to a failed login is delayed base * 2^(failures - 1) seconds, at most the maximum.
    auth_login_delay_base_seconds: float = 0.2
    auth_login_delay_max_seconds: float = 2.0

    # Argon2id parameters (OWASP: m=19 MiB, t=2, p=1). Tests lower them.
    auth_argon2_time_cost: int = 2
    auth_argon2_memory_cost_kib: int = 19 * 1024
    auth_argon2_parallelism: int = 1
