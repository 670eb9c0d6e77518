"""Addresses with exactly one default; admin-only user listing and roles."""

from __future__ import annotations

import grpc
import pytest

from marketplace.auth.v1 import auth_pb2
from marketplace.common.v1 import roles_pb2
from marketplace.events.v1 import envelope_pb2, events_pb2
from tests.auth.conftest import Auth, bearer
from tests.kit.rpc.support import field_violations


def _address(name: str, *, is_default: bool = False) -> auth_pb2.Address:
    return auth_pb2.Address(
        recipient_name=name,
        line1="1 Main St",
        city="Springfield",
        postal_code="12345",
        country_code="US",
        is_default=is_default,
    )


async def _defaults(auth: Auth, token: str) -> list[str]:
    listed = await auth.stub.ListAddresses(auth_pb2.ListAddressesRequest(), metadata=bearer(token))
    return [address.recipient_name for address in listed.addresses if address.is_default]


async def test_addresses_keep_exactly_one_default(auth: Auth) -> None:
    registered, _ = await auth.register()
    token = registered.tokens.access_token
    create = auth.stub.CreateAddress
    home = (await create(auth_pb2.CreateAddressRequest(address=_address("Home")), metadata=bearer(token))).address
    assert home.is_default
    work = (await create(auth_pb2.CreateAddressRequest(address=_address("Work")), metadata=bearer(token))).address
    assert not work.is_default
    assert await _defaults(auth, token) == ["Home"]

    await create(auth_pb2.CreateAddressRequest(address=_address("Cabin", is_default=True)), metadata=bearer(token))
    assert await _defaults(auth, token) == ["Cabin"]
    await auth.stub.UpdateAddress(
        auth_pb2.UpdateAddressRequest(
            address=auth_pb2.Address(id=work.id, is_default=True, city="Shelbyville"),
            update_mask={"paths": ["is_default", "city"]},
        ),
        metadata=bearer(token),
    )
    assert await _defaults(auth, token) == ["Work"]
    listed = await auth.stub.ListAddresses(auth_pb2.ListAddressesRequest(), metadata=bearer(token))
    assert listed.addresses[0].city == "Shelbyville"

    await auth.stub.DeleteAddress(auth_pb2.DeleteAddressRequest(id=work.id), metadata=bearer(token))
    assert len(await _defaults(auth, token)) == 1

    # Another user cannot touch these addresses, nor learn that they exist.
    other, _ = await auth.register()
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await auth.stub.DeleteAddress(
            auth_pb2.DeleteAddressRequest(id=home.id), metadata=bearer(other.tokens.access_token)
        )
    assert error.value.code() == grpc.StatusCode.NOT_FOUND

    with pytest.raises(grpc.aio.AioRpcError) as incomplete:
        await create(auth_pb2.CreateAddressRequest(address=auth_pb2.Address(city="x")), metadata=bearer(token))
    assert incomplete.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_only_admins_list_users_and_set_roles(auth: Auth) -> None:
    buyer, _ = await auth.register()
    seller, _ = await auth.register(role=roles_pb2.ROLE_SELLER, store_name="Shop")
    buyer_token = bearer(buyer.tokens.access_token)
    with pytest.raises(grpc.aio.AioRpcError) as listing:
        await auth.stub.ListUsers(auth_pb2.ListUsersRequest(), metadata=buyer_token)
    assert listing.value.code() == grpc.StatusCode.PERMISSION_DENIED
    promote = auth_pb2.SetUserRoleRequest(user_id=buyer.user.id, role=roles_pb2.ROLE_ADMIN)
    with pytest.raises(grpc.aio.AioRpcError) as promoting:
        await auth.stub.SetUserRole(promote, metadata=buyer_token)
    assert promoting.value.code() == grpc.StatusCode.PERMISSION_DENIED

    admin = bearer(await auth.admin_token())
    sellers = await auth.stub.ListUsers(auth_pb2.ListUsersRequest(role=roles_pb2.ROLE_SELLER), metadata=admin)
    assert [user.id for user in sellers.users] == [seller.user.id]

    first = await auth.stub.ListUsers(auth_pb2.ListUsersRequest(page_size=2), metadata=admin)
    assert len(first.users) == 2 and first.next_page_token
    rest = await auth.stub.ListUsers(
        auth_pb2.ListUsersRequest(page_size=2, page_token=first.next_page_token), metadata=admin
    )
    assert len(rest.users) == 1 and not rest.next_page_token
    assert len({user.id for user in [*first.users, *rest.users]}) == 3

    promoted = await auth.stub.SetUserRole(promote, metadata=admin)
    assert promoted.user.role == roles_pb2.ROLE_ADMIN
    refreshed = await auth.stub.RefreshToken(auth_pb2.RefreshTokenRequest(refresh_token=buyer.tokens.refresh_token))
    await auth.stub.ListUsers(auth_pb2.ListUsersRequest(), metadata=bearer(refreshed.tokens.access_token))


async def test_an_update_mask_names_only_changeable_fields(auth: Auth) -> None:
    registered, name = await auth.register()
    token = registered.tokens.access_token
    address = (
        await auth.stub.CreateAddress(auth_pb2.CreateAddressRequest(address=_address("Home")), metadata=bearer(token))
    ).address
    refused = [
        auth_pb2.UpdateMeRequest(user=auth_pb2.User(email="new@example.com"), update_mask={"paths": ["email"]}),
        auth_pb2.UpdateMeRequest(user=auth_pb2.User(display_name="X"), update_mask={"paths": []}),
        auth_pb2.UpdateAddressRequest(
            address=auth_pb2.Address(id=address.id, city="Elsewhere"), update_mask={"paths": ["id", "city"]}
        ),
    ]
    for request in refused:
        method = auth.stub.UpdateMe if isinstance(request, auth_pb2.UpdateMeRequest) else auth.stub.UpdateAddress
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await method(request, metadata=bearer(token))
        assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "update_mask" in field_violations(error.value)
    me = await auth.stub.GetMe(auth_pb2.GetMeRequest(), metadata=bearer(token))
    assert me.user.email == f"{name}@example.com"
    listed = await auth.stub.ListAddresses(auth_pb2.ListAddressesRequest(), metadata=bearer(token))
    assert [each.city for each in listed.addresses] == ["Springfield"]


async def test_a_profile_change_is_an_event_and_a_change_to_the_same_values_is_none(auth: Auth) -> None:
    registered, name = await auth.register()
    me = bearer(registered.tokens.access_token)
    rename = auth_pb2.UpdateMeRequest(
        user=auth_pb2.User(display_name="Ada King"), update_mask={"paths": ["display_name"]}
    )
    await auth.stub.UpdateMe(rename, metadata=me)
    await auth.stub.UpdateMe(rename, metadata=me)  # nothing changes the second time

    rows = await auth.sql(
        "SELECT envelope FROM outbox WHERE subject = :id AND type = 'marketplace.events.v1.UserProfileChanged'",
        id=registered.user.id,
    )
    assert len(rows) == 1
    changed = events_pb2.UserProfileChanged()
    assert envelope_pb2.Envelope.FromString(rows[0][0]).payload.Unpack(changed)
    assert (changed.user_id, changed.username, changed.display_name, changed.store_name) == (
        registered.user.id,
        name,
        "Ada King",
        "",
    )
