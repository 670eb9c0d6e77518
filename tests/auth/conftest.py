"""The auth tests use the shared auth helpers (tests/support/auth.py)."""

from tests.support.auth import (
    CREDENTIALS_KEY,
    PASSWORD,
    Auth,
    StartAuth,
    auth,
    auth_settings,
    bearer,
    start_auth,
)

__all__ = ["CREDENTIALS_KEY", "PASSWORD", "Auth", "StartAuth", "auth", "auth_settings", "bearer", "start_auth"]
