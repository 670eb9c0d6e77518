"""Auth storage: tables on the service's own MetaData and the repositories over them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    MetaData,
    String,
    Table,
    Text,
    delete,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.auth.domain import (
    ADDRESS_FIELDS,
    Address,
    PasswordResetRecord,
    RefreshTokenRecord,
    Revocation,
    User,
)
from services.auth.keys import SigningKey
from services.kit.errors import AlreadyExists
from services.kit.outbox import add_kit_tables

metadata = MetaData()

users = Table(
    "users",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("email", Text, nullable=False, unique=True),
    Column("username", Text, nullable=False, unique=True),
    Column("password_hash", Text, nullable=False),
    Column("role", String(16), nullable=False),
    Column("display_name", Text, nullable=False),
    Column("store_name", Text, nullable=False, server_default=""),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("users_role_created", "role", "created_at"),
)

refresh_families = Table(
    "refresh_families",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("user_id", String(36), ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
)

refresh_tokens = Table(
    "refresh_tokens",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("family_id", String(36), ForeignKey("refresh_families.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("user_id", String(36), nullable=False),
    Column("issued_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("rotated_at", DateTime(timezone=True), nullable=True),
)

password_resets = Table(
    "password_resets",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("user_id", String(36), ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("used_at", DateTime(timezone=True), nullable=True),
)

addresses = Table(
    "addresses",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("user_id", String(36), ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("recipient_name", Text, nullable=False),
    Column("line1", Text, nullable=False),
    Column("line2", Text, nullable=False, server_default=""),
    Column("city", Text, nullable=False),
    Column("region", Text, nullable=False, server_default=""),
    Column("postal_code", Text, nullable=False),
    Column("country_code", String(2), nullable=False),
    Column("phone", Text, nullable=False, server_default=""),
    Column("is_default", Boolean, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    # The database backs the "one default address" rule too.
    Index("addresses_one_default", "user_id", unique=True, postgresql_where=text("is_default")),
)

signing_keys = Table(
    "signing_keys",
    metadata,
    Column("kid", String(64), primary_key=True),
    Column("private_pem", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("retired_at", DateTime(timezone=True), nullable=True),
)

# Revoked sessions and access tokens, until every token they refuse has expired: Redis holds the list the
# verifiers read, this table is what auth gives Redis again at start (a Redis that lost its data).
revocations = Table(
    "revocations",
    metadata,
    Column("kind", String(16), primary_key=True),
    Column("id", String(64), primary_key=True),
    Column("revoked_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False, index=True),
)

outbox, inbox = add_kit_tables(metadata)


# --- users --------------------------------------------------------------------------------------------------


def _user(row: Any) -> User:
    return User(
        id=row.id,
        email=row.email,
        username=row.username,
        password_hash=row.password_hash,
        role=row.role,
        display_name=row.display_name,
        store_name=row.store_name,
        created_at=row.created_at,
    )


class Users:
    def __init__(self, session: AsyncSession):
        self._session = session

    async def get(self, user_id: str, *, for_update: bool = False) -> User | None:
        query = select(users).where(users.c.id == user_id)
        if for_update:
            query = query.with_for_update()
        row = (await self._session.execute(query)).first()
        return _user(row) if row else None

    async def by_email(self, email: str) -> User | None:
        row = (await self._session.execute(select(users).where(users.c.email == email))).first()
        return _user(row) if row else None

    async def by_username(self, username: str) -> User | None:
        row = (await self._session.execute(select(users).where(users.c.username == username))).first()
        return _user(row) if row else None

    async def add(self, user: User) -> None:
        values = _user_values(user)
        try:
            async with self._session.begin_nested():
                await self._session.execute(insert(users).values(id=user.id, created_at=user.created_at, **values))
        except IntegrityError:
            raise AlreadyExists("the email address or username is already taken") from None

    async def save(self, user: User) -> None:
        try:
            async with self._session.begin_nested():
                await self._session.execute(
                    update(users).where(users.c.id == user.id).values(updated_at=func.now(), **_user_values(user))
                )
        except IntegrityError:
            raise AlreadyExists("the username is already taken", metadata={"field": "username"}) from None

    async def page(self, *, role: str | None, limit: int, after: tuple[datetime, str] | None) -> list[User]:
        """Newest first; `after` is the (created_at, id) of the last user of the previous page."""
        query = select(users).order_by(users.c.created_at.desc(), users.c.id.desc()).limit(limit)
        if role is not None:
            query = query.where(users.c.role == role)
        if after is not None:
            created_at, user_id = after
            query = query.where(
                (users.c.created_at < created_at) | ((users.c.created_at == created_at) & (users.c.id < user_id))
            )
        return [_user(row) for row in (await self._session.execute(query)).all()]


def _user_values(user: User) -> dict[str, Any]:
    return {
        "email": user.email,
        "username": user.username,
        "password_hash": user.password_hash,
        "role": user.role,
        "display_name": user.display_name,
        "store_name": user.store_name,
    }


# --- refresh tokens -----------------------------------------------------------------------------------------


class RefreshTokens:
    def __init__(self, session: AsyncSession):
        self._session = session

    async def start_family(self, family_id: str, user_id: str, now: datetime) -> None:
        await self._session.execute(insert(refresh_families).values(id=family_id, user_id=user_id, created_at=now))

    async def add(self, record: RefreshTokenRecord) -> None:
        await self._session.execute(
            insert(refresh_tokens).values(
                token_hash=record.token_hash,
                family_id=record.family_id,
                user_id=record.user_id,
                issued_at=record.issued_at,
                expires_at=record.expires_at,
            )
        )

    async def find(self, token_hash: str) -> tuple[RefreshTokenRecord, bool] | None:
        """The token and whether its family is revoked; the token row is locked so two refreshes serialise."""
        query = (
            select(refresh_tokens, refresh_families.c.revoked_at.label("family_revoked_at"))
            .join(refresh_families, refresh_families.c.id == refresh_tokens.c.family_id)
            .where(refresh_tokens.c.token_hash == token_hash)
            .with_for_update(of=refresh_tokens)
        )
        row = (await self._session.execute(query)).first()
        if row is None:
            return None
        record = RefreshTokenRecord(
            token_hash=row.token_hash,
            family_id=row.family_id,
            user_id=row.user_id,
            issued_at=row.issued_at,
            expires_at=row.expires_at,
            rotated_at=row.rotated_at,
        )
        return record, row.family_revoked_at is not None

    async def mark_rotated(self, token_hash: str, now: datetime) -> None:
        await self._session.execute(
            update(refresh_tokens).where(refresh_tokens.c.token_hash == token_hash).values(rotated_at=now)
        )

    async def revoke_family(self, family_id: str, now: datetime) -> None:
        await self._session.execute(
            update(refresh_families)
            .where(refresh_families.c.id == family_id, refresh_families.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )

    async def revoke_all(self, user_id: str, now: datetime) -> list[str]:
        """Ends every open session of the user; returns their ids."""
        result = await self._session.execute(
            update(refresh_families)
            .where(refresh_families.c.user_id == user_id, refresh_families.c.revoked_at.is_(None))
            .values(revoked_at=now)
            .returning(refresh_families.c.id)
        )
        return [str(row) for row in result.scalars()]


# --- revocations --------------------------------------------------------------------------------------------


class Revocations:
    def __init__(self, session: AsyncSession):
        self._session = session

    async def record(self, revoked: Sequence[Revocation], now: datetime) -> None:
        """Adds the revocations; one already recorded keeps the later of the two expiries."""
        if not revoked:
            return
        statement = pg_insert(revocations).values(
            [{"kind": r.kind, "id": r.id, "revoked_at": now, "expires_at": r.expires_at} for r in revoked]
        )
        await self._session.execute(
            statement.on_conflict_do_update(
                index_elements=[revocations.c.kind, revocations.c.id],
                set_={"expires_at": func.greatest(revocations.c.expires_at, statement.excluded.expires_at)},
            )
        )

    async def active(self, now: datetime) -> list[Revocation]:
        rows = await self._session.execute(select(revocations).where(revocations.c.expires_at > now))
        return [Revocation(kind=row.kind, id=row.id, expires_at=row.expires_at) for row in rows]

    async def forget_expired(self, now: datetime) -> int:
        result = await self._session.execute(delete(revocations).where(revocations.c.expires_at <= now))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]


# --- password resets ----------------------------------------------------------------------------------------


class PasswordResets:
    def __init__(self, session: AsyncSession):
        self._session = session

    async def add(self, record: PasswordResetRecord, now: datetime) -> None:
        await self._session.execute(
            insert(password_resets).values(
                token_hash=record.token_hash, user_id=record.user_id, created_at=now, expires_at=record.expires_at
            )
        )

    async def find(self, token_hash: str) -> PasswordResetRecord | None:
        query = select(password_resets).where(password_resets.c.token_hash == token_hash).with_for_update()
        row = (await self._session.execute(query)).first()
        if row is None:
            return None
        return PasswordResetRecord(
            token_hash=row.token_hash, user_id=row.user_id, expires_at=row.expires_at, used_at=row.used_at
        )

    async def use_all(self, user_id: str, now: datetime) -> None:
        """Marks every open reset token of the user used: a reset (or password change) ends them all."""
        await self._session.execute(
            update(password_resets)
            .where(password_resets.c.user_id == user_id, password_resets.c.used_at.is_(None))
            .values(used_at=now)
        )


# --- addresses ----------------------------------------------------------------------------------------------

_ADDRESS_COLUMNS = ADDRESS_FIELDS  # the columns are named after the domain's fields


class Addresses:
    def __init__(self, session: AsyncSession):
        self._session = session

    async def of_user(self, user_id: str) -> list[Address]:
        rows = (await self._session.execute(select(addresses).where(addresses.c.user_id == user_id))).all()
        return [
            Address(
                id=row.id,
                user_id=row.user_id,
                created_at=row.created_at,
                **{name: getattr(row, name) for name in _ADDRESS_COLUMNS},
            )
            for row in rows
        ]

    async def replace(self, user_id: str, book: Sequence[Address], removed: Sequence[str]) -> None:
        """Writes the user's address book: deletions, then non-defaults, then the default (the partial unique
        index allows one default per user at every step)."""
        if removed:
            await self._session.execute(
                delete(addresses).where(addresses.c.user_id == user_id, addresses.c.id.in_(removed))
            )
        existing = {
            row.id
            for row in (await self._session.execute(select(addresses.c.id).where(addresses.c.user_id == user_id))).all()
        }
        for address in sorted(book, key=lambda a: a.is_default):
            values = {name: getattr(address, name) for name in _ADDRESS_COLUMNS}
            if address.id in existing:
                await self._session.execute(update(addresses).where(addresses.c.id == address.id).values(**values))
            else:
                await self._session.execute(
                    insert(addresses).values(id=address.id, user_id=user_id, created_at=address.created_at, **values)
                )


# --- signing keys -------------------------------------------------------------------------------------------


class SigningKeys:
    def __init__(self, session: AsyncSession):
        self._session = session

    async def all(self) -> list[SigningKey]:
        rows = (await self._session.execute(select(signing_keys).order_by(signing_keys.c.created_at))).all()
        return [
            SigningKey(kid=row.kid, private_pem=row.private_pem, created_at=row.created_at, retired_at=row.retired_at)
            for row in rows
        ]

    async def lock(self) -> None:
        """Serialises key changes between auth processes for the rest of the transaction."""
        await self._session.execute(text("LOCK TABLE signing_keys IN SHARE ROW EXCLUSIVE MODE"))

    async def add(self, key: SigningKey) -> None:
        await self._session.execute(
            insert(signing_keys).values(kid=key.kid, private_pem=key.private_pem, created_at=key.created_at)
        )

    async def retire_all_except(self, kid: str, now: datetime) -> None:
        await self._session.execute(
            update(signing_keys)
            .where(signing_keys.c.kid != kid, signing_keys.c.retired_at.is_(None))
            .values(retired_at=now)
        )

    async def delete_retired_before(self, cutoff: datetime) -> list[str]:
        """Deletes the keys retired before `cutoff`; returns their kids."""
        result = await self._session.execute(
            delete(signing_keys).where(signing_keys.c.retired_at < cutoff).returning(signing_keys.c.kid)
        )
        return list(result.scalars())
