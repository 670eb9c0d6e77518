"""The caller's address book: ListAddresses, CreateAddress, UpdateAddress, DeleteAddress."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from services.auth.domain import Address, AddressBook
from services.auth.handlers.deps import Deps
from services.auth.handlers.sessions import own_account, own_user_id
from services.auth.store import Addresses
from services.kit.ids import new_id
from services.kit.principal import Principal


async def list_addresses(deps: Deps, principal: Principal) -> list[Address]:
    user_id = own_user_id(principal)
    async with deps.sessions() as session:
        return AddressBook(user_id, await Addresses(session).of_user(user_id)).addresses


async def _change_addresses(
    deps: Deps, principal: Principal, change: Callable[[AddressBook], Address | None]
) -> Address | None:
    user_id = own_user_id(principal)
    async with deps.uow() as uow:
        # The user's row lock serialises changes to one address book.
        await own_account(uow.session, principal, for_update=True)
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
