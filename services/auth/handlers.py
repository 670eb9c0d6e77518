"""Auth use cases: one async function each. Each owns its unit of work; none knows about gRPC."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from google.protobuf.message import Message
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from marketplace.common.v1 import roles_pb2
from marketplace.events.v1 import events_pb2
from services.auth import domain, revocations
from services.auth.domain import (
    Address,
    AddressBook,
    LoginThrottle,
    PasswordResetRecord,
    RefreshTokenRecord,
    RefreshVerdict,
    User,
)
from services.auth.keys import KeyRing, SigningKey, generate_private_pem, key_id
from services.auth.passwords import Passwords
from services.auth.settings import AuthSettings
from services.auth.store import Addresses, PasswordResets, RefreshTokens, SigningKeys, Users
from services.kit.credentials import client_secret_matches
from services.kit.errors import (
    AlreadyExists,
    FailedPrecondition,
    NotFound,
    PermissionDenied,
    RateLimited,
    Unauthenticated,
)
from services.kit.ids import new_id
from services.kit.pages import decode_page_token, encode_page_token, list_fingerprint
from services.kit.principal import Principal
from services.kit.protos import timestamp
from services.kit.tokens import RevocationList, TokenVerifier
from services.kit.uow import UnitOfWork

LOGIN_FAILURES_PREFIX = "auth:login-failures:"
# Retired keys stay published this long after the longest-lived token they may have signed.
KEY_RETIREMENT_MARGIN = timedelta(minutes=1)
DEFAULT_PAGE_SIZE = 50
KEY_RELOAD_MIN_SECONDS = 1.0
MAX_EXCHANGE_TTL_SECONDS = 300
# Session revocations outlive the access tokens they refuse by this much (clock leeway of verifiers).
SESSION_REVOCATION_MARGIN_SECONDS = 60

ROLE_NAMES = {
    roles_pb2.ROLE_BUYER: domain.BUYER,
    roles_pb2.ROLE_SELLER: domain.SELLER,
    roles_pb2.ROLE_ADMIN: domain.ADMIN,
}
ROLE_VALUES = {name: value for value, name in ROLE_NAMES.items()}


def _now() -> datetime:
    return datetime.now(UTC)


# --- dependencies -------------------------------------------------------------------------------------------


class SigningKeyHolder:
    """The key ring in use; reloaded from the database after a rotation (here or by another auth process)."""

    def __init__(self, retired_lifetime: timedelta):
        self.retired_lifetime = retired_lifetime
        self._ring: KeyRing | None = None
        self._loaded_at = 0.0

    @property
    def ring(self) -> KeyRing:
        if self._ring is None:
            raise RuntimeError("signing keys are not loaded")
        return self._ring

    def load(self, keys: Sequence[SigningKey]) -> None:
        self._ring = KeyRing(keys, retired_lifetime=self.retired_lifetime)
        self._loaded_at = time.monotonic()

    def stale(self, now: float, max_age: float) -> bool:
        return now - self._loaded_at >= max_age


@dataclass
class Deps:
    settings: AuthSettings
    sessions: async_sessionmaker[AsyncSession]
    redis: Redis
    passwords: Passwords
    keys: SigningKeyHolder
    verifier: TokenVerifier
    revocations: RevocationList
    clock: Callable[[], datetime] = field(default=_now)

    @property
    def throttle(self) -> LoginThrottle:
        return LoginThrottle(
            max_failures=self.settings.auth_login_max_failures,
            lockout_seconds=self.settings.auth_login_lockout_seconds,
            base_delay_seconds=self.settings.auth_login_delay_base_seconds,
            max_delay_seconds=self.settings.auth_login_delay_max_seconds,
        )

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.sessions, source="auth", events=event_payload)


def retired_key_lifetime(settings: AuthSettings) -> timedelta:
    longest = max(
        settings.auth_access_token_ttl_seconds,
        settings.auth_service_token_ttl_seconds,
        settings.auth_exchange_token_ttl_seconds,
    )
    return timedelta(seconds=longest) + KEY_RETIREMENT_MARGIN


# --- events -------------------------------------------------------------------------------------------------


def event_payload(event: Any) -> tuple[str, Message]:
    """Domain event -> (subject, payload message) for the outbox."""
    if isinstance(event, domain.UserRegistered):
        return event.user_id, events_pb2.UserRegistered(
            user_id=event.user_id,
            email=event.email,
            username=event.username,
            display_name=event.display_name,
            role=ROLE_VALUES[event.role],
        )
    if isinstance(event, domain.PasswordResetRequested):
        return event.user_id, events_pb2.PasswordResetRequested(
            user_id=event.user_id,
            email=event.email,
            reset_token=event.reset_token,
            expires_at=timestamp(event.expires_at),
        )
    raise TypeError(f"no payload for {type(event).__name__}")


# --- tokens -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SessionTokens:
    access_token: str
    expires_in: int
    refresh_token: str
    refresh_expires_in: int


def _sign(deps: Deps, **claims: Any) -> str:
    settings = deps.settings
    return deps.keys.ring.sign(
        domain.token_claims(issuer=settings.jwt_issuer, audience=settings.jwt_audience, token_id=new_id(), **claims)
    )


def _user_access_token(deps: Deps, user: User, now: datetime, session_id: str) -> str:
    return _sign(
        deps,
        subject=user.id,
        typ=domain.USER_TOKEN,
        roles=user.roles,
        now=now,
        ttl_seconds=deps.settings.auth_access_token_ttl_seconds,
        session_id=session_id,
    )


def _session_revocation_seconds(deps: Deps) -> int:
    return deps.settings.auth_access_token_ttl_seconds + SESSION_REVOCATION_MARGIN_SECONDS


async def _record_ended_sessions(
    session: AsyncSession, deps: Deps, session_ids: Iterable[str], now: datetime, *, token: Principal | None = None
) -> None:
    """Records, in the open transaction, the sessions (and the token) about to end: auth gives them to Redis
    again at start, should Redis have lost them (revocations.py)."""
    await revocations.record(
        session,
        now,
        session_ids,
        _session_revocation_seconds(deps),
        token_id=token.token_id if token is not None else "",
        token_expires_at=token.expires_at if token is not None else 0,
    )


async def _end_sessions(deps: Deps, session_ids: Iterable[str]) -> None:
    """Refuses, from now on, every access token of these sessions (refresh tokens end in the database)."""
    await deps.revocations.revoke_sessions(session_ids, _session_revocation_seconds(deps))


async def _issue_refresh(session: AsyncSession, deps: Deps, user: User, family_id: str, now: datetime) -> SessionTokens:
    token = domain.new_opaque_token()
    ttl = deps.settings.auth_refresh_token_ttl_seconds
    await RefreshTokens(session).add(
        RefreshTokenRecord(
            token_hash=domain.hash_token(token),
            family_id=family_id,
            user_id=user.id,
            issued_at=now,
            expires_at=now + timedelta(seconds=ttl),
        )
    )
    return SessionTokens(
        access_token=_user_access_token(deps, user, now, family_id),
        expires_in=deps.settings.auth_access_token_ttl_seconds,
        refresh_token=token,
        refresh_expires_in=ttl,
    )


async def _start_session(session: AsyncSession, deps: Deps, user: User, now: datetime) -> SessionTokens:
    family_id = new_id()
    await RefreshTokens(session).start_family(family_id, user.id, now)
    return await _issue_refresh(session, deps, user, family_id, now)


def _own_user(principal: Principal) -> str:
    """The user id of a user's own (not delegated) token; account management never accepts anything else."""
    if principal.kind != domain.USER_TOKEN or principal.actor is not None or principal.scopes is not None:
        raise PermissionDenied("this call needs the user's own access token", reason="USER_TOKEN_REQUIRED")
    return principal.subject


# --- registration and sign-in -------------------------------------------------------------------------------


async def register(
    deps: Deps, *, email: str, username: str, password: str, display_name: str, role: str, store_name: str
) -> tuple[User, SessionTokens]:
    password_hash = await deps.passwords.hash(password)
    now = deps.clock()
    async with deps.uow() as uow:
        users = Users(uow.session)
        user = User.register(
            id=new_id(),
            email=email,
            username=username,
            password_hash=password_hash,
            role=role,
            display_name=display_name,
            store_name=store_name,
            now=now,
        )
        if await users.by_email(user.email) is not None:
            raise AlreadyExists("the email address is already registered", metadata={"field": "email"})
        if await users.by_username(user.username) is not None:
            raise AlreadyExists("the username is taken", metadata={"field": "username"})
        await users.add(uow.track(user))
        tokens = await _start_session(uow.session, deps, user, now)
        await uow.commit()
    return user, tokens


def _failures_key(key: str) -> str:
    return LOGIN_FAILURES_PREFIX + key


async def _check_not_locked(deps: Deps, key: str) -> None:
    raw = await deps.redis.get(_failures_key(key))
    failures = int(raw) if raw else 0
    if deps.throttle.is_locked(failures):
        retry_after = max(1, int(await deps.redis.ttl(_failures_key(key))))
        raise RateLimited("too many failed attempts; try again later", retry_after_seconds=retry_after)


async def _record_failure(deps: Deps, key: str) -> None:
    """Counts a failure and answers after the growing delay."""
    async with deps.redis.pipeline(transaction=True) as pipe:
        pipe.incr(_failures_key(key))
        pipe.expire(_failures_key(key), deps.settings.auth_login_lockout_seconds)
        failures, _ = await pipe.execute()
    await asyncio.sleep(deps.throttle.delay_after(int(failures)))


async def login(deps: Deps, *, login: str, password: str) -> tuple[User, SessionTokens]:
    name = domain.normalize_login(login)
    async with deps.sessions() as session:
        users = Users(session)
        user = await (users.by_email(name) if domain.is_email(name) else users.by_username(name))
    key = domain.throttle_key(user.id if user else None, name)
    await _check_not_locked(deps, key)
    # An unknown login verifies a dummy hash: the same work, the same answer, the same time.
    if not await deps.passwords.verify(user.password_hash if user else None, password) or user is None:
        await _record_failure(deps, key)
        raise Unauthenticated("wrong login or password", reason="INVALID_CREDENTIALS")
    await deps.redis.delete(_failures_key(key))
    now = deps.clock()
    async with deps.uow() as uow:
        if deps.passwords.needs_rehash(user.password_hash):
            user.set_password_hash(await deps.passwords.hash(password))
            await Users(uow.session).save(user)
        tokens = await _start_session(uow.session, deps, user, now)
        await uow.commit()
    return user, tokens


async def refresh(deps: Deps, *, refresh_token: str) -> SessionTokens:
    now = deps.clock()
    async with deps.uow() as uow:
        tokens = RefreshTokens(uow.session)
        found = await tokens.find(domain.hash_token(refresh_token))
        record, family_revoked = found if found is not None else (None, False)
        verdict = domain.judge_refresh(record, family_revoked=family_revoked, now=now)
        if verdict is RefreshVerdict.REUSED and record is not None:
            # A rotated token came back: someone holds a copy. End the whole session, for both holders.
            await tokens.revoke_family(record.family_id, now)
            await _record_ended_sessions(uow.session, deps, [record.family_id], now)
            await uow.commit()
            await _end_sessions(deps, [record.family_id])
            raise Unauthenticated("the refresh token was already used; sign in again", reason="REFRESH_TOKEN_REUSED")
        if verdict is not RefreshVerdict.ROTATE or record is None:
            raise Unauthenticated("invalid refresh token", reason="INVALID_REFRESH_TOKEN")
        user = await Users(uow.session).get(record.user_id)
        if user is None:
            raise Unauthenticated("invalid refresh token", reason="INVALID_REFRESH_TOKEN")
        await tokens.mark_rotated(record.token_hash, now)
        issued = await _issue_refresh(uow.session, deps, user, record.family_id, now)
        await uow.commit()
    return issued


async def logout(deps: Deps, principal: Principal, *, refresh_token: str) -> None:
    user_id = _own_user(principal)
    now = deps.clock()
    async with deps.uow() as uow:
        tokens = RefreshTokens(uow.session)
        found = await tokens.find(domain.hash_token(refresh_token))
        ended = [principal.session_id]
        # Someone else's refresh token is left alone; signing out is idempotent.
        if found is not None and found[0].user_id == user_id:
            await tokens.revoke_family(found[0].family_id, now)
            ended.append(found[0].family_id)
        await _record_ended_sessions(uow.session, deps, ended, now, token=principal)
        await uow.commit()
    await deps.revocations.revoke(principal.token_id, principal.expires_at)
    await _end_sessions(deps, ended)


# --- the caller's account -----------------------------------------------------------------------------------


async def get_me(deps: Deps, principal: Principal) -> User:
    user_id = _own_user(principal)
    async with deps.sessions() as session:
        user = await Users(session).get(user_id)
    if user is None:
        raise NotFound("the account no longer exists", reason="USER_NOT_FOUND")
    return user


async def update_me(deps: Deps, principal: Principal, changes: Mapping[str, str]) -> User:
    user_id = _own_user(principal)
    async with deps.uow() as uow:
        users = Users(uow.session)
        user = await users.get(user_id, for_update=True)
        if user is None:
            raise NotFound("the account no longer exists", reason="USER_NOT_FOUND")
        user.update_profile(changes)
        await users.save(user)
        await uow.commit()
    return user


async def change_password(
    deps: Deps, principal: Principal, *, current_password: str, new_password: str
) -> SessionTokens:
    user_id = _own_user(principal)
    user = await get_me(deps, principal)
    await _check_not_locked(deps, user_id)
    if not await deps.passwords.verify(user.password_hash, current_password):
        await _record_failure(deps, user_id)
        raise Unauthenticated("the current password is wrong", reason="INVALID_CREDENTIALS")
    new_hash = await deps.passwords.hash(new_password)
    now = deps.clock()
    async with deps.uow() as uow:
        users = Users(uow.session)
        locked = await users.get(user_id, for_update=True)
        if locked is None:
            raise NotFound("the account no longer exists", reason="USER_NOT_FOUND")
        locked.set_password_hash(new_hash)
        await users.save(locked)
        # Every other session ends; the caller continues with the new tokens.
        ended = await RefreshTokens(uow.session).revoke_all(user_id, now)
        await PasswordResets(uow.session).use_all(user_id, now)
        tokens = await _start_session(uow.session, deps, locked, now)
        await _record_ended_sessions(uow.session, deps, [*ended, principal.session_id], now)
        await uow.commit()
    await _end_sessions(deps, [*ended, principal.session_id])
    return tokens


# --- password reset -----------------------------------------------------------------------------------------


async def request_password_reset(deps: Deps, *, email: str) -> None:
    """Does the same visible thing whether or not the address has an account."""
    now = deps.clock()
    expires_at = now + timedelta(seconds=deps.settings.auth_password_reset_ttl_seconds)
    async with deps.uow() as uow:
        user = await Users(uow.session).by_email(domain.normalize_email(email))
        if user is None:
            return
        token = domain.new_opaque_token()
        record = PasswordResetRecord(token_hash=domain.hash_token(token), user_id=user.id, expires_at=expires_at)
        await PasswordResets(uow.session).add(record, now)
        uow.track(user).request_password_reset(token, expires_at)
        await uow.commit()


async def reset_password(deps: Deps, *, reset_token: str, new_password: str) -> None:
    new_hash = await deps.passwords.hash(new_password)
    now = deps.clock()
    async with deps.uow() as uow:
        resets = PasswordResets(uow.session)
        record = await resets.find(domain.hash_token(reset_token))
        if record is None or not record.usable(now):
            raise Unauthenticated("the reset link is invalid or has expired", reason="INVALID_RESET_TOKEN")
        users = Users(uow.session)
        user = await users.get(record.user_id, for_update=True)
        if user is None:
            raise Unauthenticated("the reset link is invalid or has expired", reason="INVALID_RESET_TOKEN")
        user.set_password_hash(new_hash)
        await users.save(user)
        await resets.use_all(user.id, now)
        ended = await RefreshTokens(uow.session).revoke_all(user.id, now)
        await _record_ended_sessions(uow.session, deps, ended, now)
        await uow.commit()
    await _end_sessions(deps, ended)
    await deps.redis.delete(_failures_key(user.id))


# --- addresses ----------------------------------------------------------------------------------------------


async def list_addresses(deps: Deps, principal: Principal) -> list[Address]:
    user_id = _own_user(principal)
    async with deps.sessions() as session:
        return AddressBook(user_id, await Addresses(session).of_user(user_id)).addresses


async def _change_addresses(
    deps: Deps, principal: Principal, change: Callable[[AddressBook], Address | None]
) -> Address | None:
    user_id = _own_user(principal)
    async with deps.uow() as uow:
        # The user's row lock serialises changes to one address book.
        if await Users(uow.session).get(user_id, for_update=True) is None:
            raise NotFound("the account no longer exists", reason="USER_NOT_FOUND")
        store = Addresses(uow.session)
        book = AddressBook(user_id, await store.of_user(user_id))
        result = change(book)
        await store.replace(user_id, book.addresses, book.removed)
        await uow.commit()
    return result


async def create_address(deps: Deps, principal: Principal, fields: Mapping[str, Any]) -> Address:
    now = deps.clock()

    def add(book: AddressBook) -> Address:
        return book.add(Address(id=new_id(), user_id=book.user_id, created_at=now, **fields))

    created = await _change_addresses(deps, principal, add)
    assert created is not None
    return created


async def update_address(deps: Deps, principal: Principal, address_id: str, changes: Mapping[str, Any]) -> Address:
    updated = await _change_addresses(deps, principal, lambda book: book.update(address_id, changes))
    assert updated is not None
    return updated


async def delete_address(deps: Deps, principal: Principal, address_id: str) -> None:
    await _change_addresses(deps, principal, lambda book: book.remove(address_id))


# --- administration -----------------------------------------------------------------------------------------


async def list_users(deps: Deps, *, role: str | None, page_size: int, page_token: str) -> tuple[list[User], str]:
    limit = page_size or DEFAULT_PAGE_SIZE
    fingerprint = list_fingerprint("auth.users", role)
    after = decode_page_token(page_token, fingerprint, datetime, str)
    async with deps.sessions() as session:
        page = await Users(session).page(role=role, limit=limit + 1, after=after)
    if len(page) > limit:
        last = page[limit - 1]
        return page[:limit], encode_page_token(fingerprint, last.created_at, last.id)
    return page, ""


async def set_user_role(deps: Deps, *, user_id: str, role: str) -> User:
    async with deps.uow() as uow:
        users = Users(uow.session)
        user = await users.get(user_id, for_update=True)
        if user is None:
            raise NotFound("user not found", reason="USER_NOT_FOUND")
        user.change_role(role)
        await users.save(user)
        await uow.commit()
    return user


# --- revocations --------------------------------------------------------------------------------------------


async def restore_revocations(deps: Deps) -> int:
    """At start: every revocation that still matters, from the database to Redis (which may have lost them)."""
    return await revocations.restore(deps.sessions, deps.revocations, deps.clock)


# --- signing keys -------------------------------------------------------------------------------------------


async def load_signing_keys(deps: Deps) -> None:
    """At start: use AUTH_SIGNING_KEY_PEM when set, else the stored keys, else a new generated key."""
    now = deps.clock()
    configured = deps.settings.auth_signing_key_pem.strip()
    async with deps.sessions() as session, session.begin():
        store = SigningKeys(session)
        await store.lock()
        keys = await store.all()
        if configured:
            kid = key_id(configured)
            if all(key.kid != kid for key in keys):
                await store.add(SigningKey(kid=kid, private_pem=configured, created_at=now))
                await store.retire_all_except(kid, now)
        elif not any(key.retired_at is None for key in keys):
            await store.add(SigningKey.from_pem(generate_private_pem(), now))
        keys = await store.all()
    deps.keys.load(keys)


async def reload_signing_keys(deps: Deps) -> None:
    async with deps.sessions() as session:
        keys = await SigningKeys(session).all()
    deps.keys.load(keys)


async def rotate_signing_key(deps: Deps) -> str:
    """A new signing key; the previous one stays in the JWKS until the tokens it signed have expired."""
    now = deps.clock()
    key = SigningKey.from_pem(await asyncio.to_thread(generate_private_pem), now)
    async with deps.sessions() as session, session.begin():
        store = SigningKeys(session)
        await store.lock()
        await store.add(key)
        await store.retire_all_except(key.kid, now)
    await reload_signing_keys(deps)
    return key.kid


def jwks(deps: Deps) -> list[dict[str, str]]:
    return deps.keys.ring.jwks(deps.clock())["keys"]


async def jwks_for_verifier(deps: Deps) -> dict[str, Any]:
    """The verifier's key source inside auth: the key ring, never a network call to itself. The ring is read
    from the database again at most once a second, to learn of a rotation by another auth process."""
    if deps.keys.stale(time.monotonic(), KEY_RELOAD_MIN_SECONDS):
        await reload_signing_keys(deps)
    return {"keys": jwks(deps)}


# --- service tokens and delegation --------------------------------------------------------------------------


async def issue_service_token(deps: Deps, *, client_id: str, client_secret: str) -> tuple[str, int]:
    settings = deps.settings
    known = client_id in settings.auth_service_clients
    matches = client_secret_matches(settings.service_credentials_key, client_id, client_secret)
    if not (known and matches):
        raise Unauthenticated("invalid client credentials", reason="INVALID_CLIENT")
    ttl = settings.auth_service_token_ttl_seconds
    token = _sign(
        deps,
        subject=f"service:{client_id}",
        typ=domain.SERVICE_TOKEN,
        roles=[domain.SERVICE_ROLE],
        now=deps.clock(),
        ttl_seconds=ttl,
    )
    return token, ttl


async def exchange_token(
    deps: Deps, principal: Principal, *, subject_token: str, scopes: Sequence[str]
) -> tuple[str, int, list[str]]:
    service = principal.service_name
    if service is None or principal.actor is not None:
        raise PermissionDenied("only services may exchange tokens", reason="SERVICE_TOKEN_REQUIRED")
    granted = domain.grant_scopes(scopes, deps.settings.auth_exchange_scopes.get(service, []))
    subject = await deps.verifier.verify(subject_token)
    if subject.kind != domain.USER_TOKEN or subject.actor is not None or subject.scopes is not None:
        raise Unauthenticated("the subject token must be a user's own access token", reason="INVALID_SUBJECT_TOKEN")
    async with deps.sessions() as session:
        user = await Users(session).get(subject.subject)
    if user is None:
        raise Unauthenticated("the subject token's user does not exist", reason="INVALID_SUBJECT_TOKEN")
    ttl = min(deps.settings.auth_exchange_token_ttl_seconds, MAX_EXCHANGE_TTL_SECONDS)
    token = _sign(
        deps,
        subject=user.id,
        typ=domain.USER_TOKEN,
        roles=user.roles,
        now=deps.clock(),
        ttl_seconds=ttl,
        scopes=granted,
        actor=service,
        # Ending the user's session also ends what was delegated from it.
        session_id=subject.session_id,
    )
    return token, ttl, granted


# --- seller provisioning ------------------------------------------------------------------------------------

# Only these services may create seller accounts (the catalog, when it imports a catalog for a seller).
PROVISIONING_SERVICES = ("catalog",)
# Stored in place of a password hash: no password ever verifies against it (Argon2 refuses the format), so
# a provisioned seller signs in only after choosing a password through a password reset.
UNUSABLE_PASSWORD_HASH = "!provisioned"
USERNAME_ATTEMPTS = 5


def _username_candidate(email: str, attempt: int) -> str:
    """A valid username (^[a-z0-9_.]{3,32}$) from the email's local part; later attempts add a random suffix."""
    local = "".join(ch for ch in email.split("@", 1)[0].lower() if ch.isascii() and (ch.isalnum() or ch in "_."))
    base = (local or "seller")[:24].ljust(3, "_")
    return base if attempt == 0 else f"{base}_{new_id()[-6:]}"


async def ensure_seller(deps: Deps, principal: Principal, *, email: str, store_name: str) -> tuple[str, bool]:
    """The id of the seller with this email, and whether this call created the account."""
    if principal.service_name not in PROVISIONING_SERVICES or principal.actor is not None:
        raise PermissionDenied("only the catalog service may provision sellers", reason="SERVICE_NOT_ALLOWED")
    email = domain.normalize_email(email)
    for attempt in range(USERNAME_ATTEMPTS):
        async with deps.uow() as uow:
            users = Users(uow.session)
            existing = await users.by_email(email)
            if existing is not None:
                if existing.role != domain.SELLER:
                    raise FailedPrecondition(
                        "the email address belongs to an account that is not a seller", reason="NOT_A_SELLER"
                    )
                return existing.id, False
            username = _username_candidate(email, attempt)
            if await users.by_username(username) is not None:
                continue
            user = domain.User.register(
                id=new_id(),
                email=email,
                username=username,
                password_hash=UNUSABLE_PASSWORD_HASH,
                role=domain.SELLER,
                display_name=store_name,
                store_name=store_name,
                now=deps.clock(),
            )
            try:
                await users.add(uow.track(user))
            except AlreadyExists:
                # Another call took the email or the username first: look again.
                continue
            await uow.commit()
            return user.id, True
    raise AlreadyExists("could not choose a free username for the seller", reason="USERNAME_UNAVAILABLE")
