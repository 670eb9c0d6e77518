"""ListNotifications: the caller's own notifications, newest first, in pages."""

from __future__ import annotations

from datetime import datetime

from services.kit.pages import decode_page_token, encode_page_token, list_fingerprint
from services.kit.principal import Principal
from services.notify import store
from services.notify.domain import Notification
from services.notify.handlers.deps import Deps, user_of

DEFAULT_PAGE_SIZE = 20


async def list_notifications(
    deps: Deps, principal: Principal, *, page_size: int, page_token: str
) -> tuple[list[Notification], str]:
    """One page of the caller's notifications and the next page's token ("" on the last page)."""
    user_id = user_of(principal)
    size = page_size or DEFAULT_PAGE_SIZE
    fingerprint = list_fingerprint("notify.notifications", user_id)
    position = decode_page_token(page_token, fingerprint, datetime, str)
    after = (position[0], position[1]) if position is not None else None
    async with deps.uow() as uow:
        found = await store.notifications_of(uow.session, user_id, after=after, limit=size + 1)
    page = found[:size]
    token = encode_page_token(fingerprint, page[-1].created_at, page[-1].id) if len(found) > size else ""
    return page, token
