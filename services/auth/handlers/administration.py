"""Administration: ListUsers and SetUserRole."""

from __future__ import annotations

from datetime import datetime

from services.auth.domain import User
from services.auth.handlers.deps import Deps
from services.auth.store import Users
from services.kit.errors import NotFound
from services.kit.pages import decode_page_token, encode_page_token, list_fingerprint

DEFAULT_PAGE_SIZE = 50


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
