"""Seller provisioning: EnsureSeller, for the catalog importing a catalog for a seller who may not exist yet."""

from __future__ import annotations

from services.auth import domain
from services.auth.handlers.deps import Deps
from services.auth.store import Users
from services.kit.errors import AlreadyExists, FailedPrecondition, PermissionDenied
from services.kit.ids import new_id
from services.kit.principal import Principal

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
