"""Service credentials (stdlib only): each service's client secret is derived from one key per deployment.

The launcher (or an operator) holds `SERVICE_CREDENTIALS_KEY`; auth holds it too and checks a service's
IssueServiceToken call against the same derivation; every other service only gets its own secret.
"""

from __future__ import annotations

import hashlib
import hmac


def service_client_secret(credentials_key: str, service: str) -> str:
    """The client secret of `service`: HMAC-SHA256(key, service name), hex."""
    return hmac.new(credentials_key.encode(), service.encode(), hashlib.sha256).hexdigest()


def client_secret_matches(credentials_key: str, service: str, client_secret: str) -> bool:
    """Constant-time comparison; never true when no credentials key is configured."""
    if not credentials_key:
        return False
    expected = service_client_secret(credentials_key, service)
    return hmac.compare_digest(expected.encode(), client_secret.encode())
