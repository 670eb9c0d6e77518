"""GetPreferences and UpdatePreferences: the caller's own, always."""

from __future__ import annotations

from services.kit.principal import Principal
from services.notify import store
from services.notify.domain import Preferences
from services.notify.handlers.deps import Deps, user_of


async def get_preferences(deps: Deps, principal: Principal) -> Preferences:
    async with deps.uow() as uow:
        return await store.load_preferences(uow.session, user_of(principal))


async def update_preferences(deps: Deps, principal: Principal, values: dict[str, bool]) -> Preferences:
    """Sets the named preferences (`values`: field name -> on); an empty dict changes nothing but the time."""
    async with deps.uow() as uow:
        preferences = await store.load_preferences(uow.session, user_of(principal), for_update=True)
        preferences.change(values, deps.clock())
        await store.save_preferences(uow.session, preferences)
        await uow.commit()
        return preferences
