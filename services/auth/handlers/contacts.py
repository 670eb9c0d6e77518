"""GetUserContact: where a user's emails go, for the notify service only."""

from __future__ import annotations

from services.auth.domain import User
from services.auth.handlers.deps import Deps
from services.auth.store import Users
from services.kit.errors import NotFound, PermissionDenied
from services.kit.principal import Principal

# Only these services may read users' email addresses.
CONTACT_SERVICES = ("notify",)


async def get_user_contact(deps: Deps, principal: Principal, user_id: str) -> User:
    if principal.service_name not in CONTACT_SERVICES or principal.actor is not None:
        raise PermissionDenied("only the notify service may read users' contacts", reason="SERVICE_NOT_ALLOWED")
    async with deps.uow() as uow:
        user = await Users(uow.session).get(user_id)
    if user is None:
        raise NotFound("no such user", reason="USER_NOT_FOUND", metadata={"user_id": user_id})
    return user
