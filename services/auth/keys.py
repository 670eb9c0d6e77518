"""RS256 signing keys: generation, key ids, the JWKS, and signing."""

from __future__ import annotations

import base64
import functools
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

ALGORITHM = "RS256"


def _b64url_uint(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def generate_private_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


# Loading a PEM validates the RSA key, ~30 ms of CPU on the event loop; the ring is rebuilt from every stored
# key on each reload (every rotation, every 30 s), so each key is loaded once per process.
@functools.lru_cache(maxsize=256)
def _load_private(private_pem: str) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("the signing key must be an RSA private key")
    return key


def public_jwk(private_pem: str) -> dict[str, str]:
    """The public half as a JWK without `kid`/`use`/`alg`."""
    numbers = _load_private(private_pem).public_key().public_numbers()
    return {"kty": "RSA", "n": _b64url_uint(numbers.n), "e": _b64url_uint(numbers.e)}


def key_id(private_pem: str) -> str:
    """The RFC 7638 thumbprint of the public key: the same key always gets the same `kid`."""
    jwk = public_jwk(private_pem)
    canonical = json.dumps({"e": jwk["e"], "kty": jwk["kty"], "n": jwk["n"]}, separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest()).rstrip(b"=").decode()


@dataclass(frozen=True)
class SigningKey:
    kid: str
    private_pem: str
    created_at: datetime
    retired_at: datetime | None = None

    @classmethod
    def from_pem(cls, private_pem: str, now: datetime) -> SigningKey:
        return cls(kid=key_id(private_pem), private_pem=private_pem, created_at=now)

    def jwk(self) -> dict[str, str]:
        return {**public_jwk(self.private_pem), "kid": self.kid, "use": "sig", "alg": ALGORITHM}


class KeyRing:
    """The signing keys: the one that signs now, the ones already published to sign next, and retired ones whose
    tokens may still be alive.

    A key's `retired_at` is when it stops signing. A rotation sets it ahead for the key it replaces, and the
    oldest key not yet retired is the one that signs: so a new key is published from its creation but signs
    only from the moment the key before it retires.
    """

    def __init__(self, keys: Iterable[SigningKey], *, retired_lifetime: timedelta):
        self._keys = sorted(keys, key=lambda key: key.created_at)
        self._retired_lifetime = retired_lifetime
        if not any(key.retired_at is None for key in self._keys):
            raise ValueError("no active signing key")
        self._jwks = {key.kid: key.jwk() for key in self._keys}

    def signing_key(self, now: datetime) -> SigningKey:
        return next(key for key in self._keys if key.retired_at is None or key.retired_at > now)

    def published(self, now: datetime) -> list[SigningKey]:
        """Keys in the JWKS: active ones and those retired less than a token lifetime (+ margin) ago."""
        return [key for key in self._keys if key.retired_at is None or key.retired_at + self._retired_lifetime > now]

    def jwks(self, now: datetime) -> dict[str, list[dict[str, str]]]:
        return {"keys": [self._jwks[key.kid] for key in self.published(now)]}

    def sign(self, claims: dict[str, Any], now: datetime) -> str:
        key = self.signing_key(now)
        return jwt.encode(claims, _load_private(key.private_pem), algorithm=ALGORITHM, headers={"kid": key.kid})
