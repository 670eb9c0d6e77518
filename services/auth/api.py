"""The AuthService servicer: protobuf <-> domain translation only. Errors are mapped by the kit's interceptor."""

from __future__ import annotations

from typing import Any

import grpc
from google.protobuf.field_mask_pb2 import FieldMask
from google.protobuf.message import Message

from marketplace.auth.v1 import auth_pb2, auth_pb2_grpc
from services.auth import domain
from services.auth.domain import Address, User
from services.auth.handlers import (
    account,
    address_book,
    administration,
    contacts,
    password_reset,
    provisioning,
    service_access,
    sign_in,
    signing_keys,
)
from services.auth.handlers.deps import Deps
from services.auth.handlers.events import ROLE_NAMES, ROLE_VALUES
from services.auth.handlers.sessions import SessionTokens
from services.kit.principal import current_principal
from services.kit.protos import mask_paths, timestamp


def _user(user: User) -> auth_pb2.User:
    return auth_pb2.User(
        id=user.id,
        email=user.email,
        username=user.username,
        display_name=user.display_name,
        role=ROLE_VALUES[user.role],
        store_name=user.store_name,
        create_time=timestamp(user.created_at),
    )


def _tokens(tokens: SessionTokens) -> auth_pb2.SessionTokens:
    return auth_pb2.SessionTokens(
        access_token=tokens.access_token,
        expires_in=tokens.expires_in,
        refresh_token=tokens.refresh_token,
        refresh_expires_in=tokens.refresh_expires_in,
        token_type="Bearer",
    )


def _address(address: Address) -> auth_pb2.Address:
    return auth_pb2.Address(
        id=address.id,
        recipient_name=address.recipient_name,
        line1=address.line1,
        line2=address.line2,
        city=address.city,
        region=address.region,
        postal_code=address.postal_code,
        country_code=address.country_code,
        phone=address.phone,
        is_default=address.is_default,
    )


def _masked(message: Message, mask: FieldMask) -> dict[str, Any]:
    """The values of `message` named by the mask (the contract allows only the changeable fields)."""
    return {path: getattr(message, path) for path in mask_paths(mask)}


class AuthApi(auth_pb2_grpc.AuthServiceServicer):  # type: ignore[misc]  # generated base is untyped
    def __init__(self, deps: Deps):
        self._deps = deps

    async def Register(
        self, request: auth_pb2.RegisterRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> auth_pb2.RegisterResponse:
        user, tokens = await sign_in.register(
            self._deps,
            email=request.email,
            username=request.username,
            password=request.password,
            display_name=request.display_name,
            role=ROLE_NAMES.get(request.role, domain.BUYER),
            store_name=request.store_name,
        )
        return auth_pb2.RegisterResponse(user=_user(user), tokens=_tokens(tokens))

    async def Login(
        self, request: auth_pb2.LoginRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> auth_pb2.LoginResponse:
        user, tokens = await sign_in.login(self._deps, login=request.login, password=request.password)
        return auth_pb2.LoginResponse(user=_user(user), tokens=_tokens(tokens))

    async def RefreshToken(
        self, request: auth_pb2.RefreshTokenRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> auth_pb2.RefreshTokenResponse:
        tokens = await sign_in.refresh(self._deps, refresh_token=request.refresh_token)
        return auth_pb2.RefreshTokenResponse(tokens=_tokens(tokens))

    async def Logout(
        self, request: auth_pb2.LogoutRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> auth_pb2.LogoutResponse:
        await sign_in.logout(self._deps, current_principal(), refresh_token=request.refresh_token)
        return auth_pb2.LogoutResponse()

    async def GetMe(
        self, request: auth_pb2.GetMeRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> auth_pb2.GetMeResponse:
        return auth_pb2.GetMeResponse(user=_user(await account.get_me(self._deps, current_principal())))

    async def UpdateMe(
        self, request: auth_pb2.UpdateMeRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> auth_pb2.UpdateMeResponse:
        changes = _masked(request.user, request.update_mask)
        user = await account.update_me(self._deps, current_principal(), changes)
        return auth_pb2.UpdateMeResponse(user=_user(user))

    async def ChangePassword(
        self, request: auth_pb2.ChangePasswordRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> auth_pb2.ChangePasswordResponse:
        tokens = await account.change_password(
            self._deps,
            current_principal(),
            current_password=request.current_password,
            new_password=request.new_password,
        )
        return auth_pb2.ChangePasswordResponse(tokens=_tokens(tokens))

    async def RequestPasswordReset(
        self, request: auth_pb2.RequestPasswordResetRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> auth_pb2.RequestPasswordResetResponse:
        await password_reset.request_password_reset(self._deps, email=request.email)
        return auth_pb2.RequestPasswordResetResponse()

    async def ResetPassword(
        self, request: auth_pb2.ResetPasswordRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> auth_pb2.ResetPasswordResponse:
        await password_reset.reset_password(
            self._deps, reset_token=request.reset_token, new_password=request.new_password
        )
        return auth_pb2.ResetPasswordResponse()

    async def ListAddresses(
        self, request: auth_pb2.ListAddressesRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> auth_pb2.ListAddressesResponse:
        addresses = await address_book.list_addresses(self._deps, current_principal())
        return auth_pb2.ListAddressesResponse(addresses=[_address(address) for address in addresses])

    async def CreateAddress(
        self, request: auth_pb2.CreateAddressRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> auth_pb2.CreateAddressResponse:
        fields = {name: getattr(request.address, name) for name in domain.ADDRESS_FIELDS}
        address = await address_book.create_address(self._deps, current_principal(), fields)
        return auth_pb2.CreateAddressResponse(address=_address(address))

    async def UpdateAddress(
        self, request: auth_pb2.UpdateAddressRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> auth_pb2.UpdateAddressResponse:
        changes = _masked(request.address, request.update_mask)
        address = await address_book.update_address(self._deps, current_principal(), request.address.id, changes)
        return auth_pb2.UpdateAddressResponse(address=_address(address))

    async def DeleteAddress(
        self, request: auth_pb2.DeleteAddressRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> auth_pb2.DeleteAddressResponse:
        await address_book.delete_address(self._deps, current_principal(), request.id)
        return auth_pb2.DeleteAddressResponse()

    async def GetJwks(
        self, request: auth_pb2.GetJwksRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> auth_pb2.GetJwksResponse:
        return auth_pb2.GetJwksResponse(keys=[auth_pb2.JsonWebKey(**key) for key in signing_keys.jwks(self._deps)])

    async def ListUsers(
        self, request: auth_pb2.ListUsersRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> auth_pb2.ListUsersResponse:
        users, next_page_token = await administration.list_users(
            self._deps,
            role=ROLE_NAMES.get(request.role),
            page_size=request.page_size,
            page_token=request.page_token,
        )
        return auth_pb2.ListUsersResponse(users=[_user(user) for user in users], next_page_token=next_page_token)

    async def SetUserRole(
        self, request: auth_pb2.SetUserRoleRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> auth_pb2.SetUserRoleResponse:
        user = await administration.set_user_role(self._deps, user_id=request.user_id, role=ROLE_NAMES[request.role])
        return auth_pb2.SetUserRoleResponse(user=_user(user))

    async def RotateSigningKey(
        self, request: auth_pb2.RotateSigningKeyRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> auth_pb2.RotateSigningKeyResponse:
        kid, signs_from = await signing_keys.rotate_signing_key(self._deps)
        return auth_pb2.RotateSigningKeyResponse(kid=kid, sign_time=timestamp(signs_from))

    async def IssueServiceToken(
        self, request: auth_pb2.IssueServiceTokenRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> auth_pb2.IssueServiceTokenResponse:
        token, expires_in = await service_access.issue_service_token(
            self._deps, client_id=request.client_id, client_secret=request.client_secret
        )
        return auth_pb2.IssueServiceTokenResponse(access_token=token, expires_in=expires_in)

    async def ExchangeToken(
        self, request: auth_pb2.ExchangeTokenRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> auth_pb2.ExchangeTokenResponse:
        token, expires_in, scopes = await service_access.exchange_token(
            self._deps, current_principal(), subject_token=request.subject_token, scopes=list(request.scopes)
        )
        return auth_pb2.ExchangeTokenResponse(access_token=token, expires_in=expires_in, scope=" ".join(scopes))

    async def EnsureSeller(
        self, request: auth_pb2.EnsureSellerRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> auth_pb2.EnsureSellerResponse:
        user_id, created = await provisioning.ensure_seller(
            self._deps, current_principal(), email=request.email, store_name=request.store_name
        )
        return auth_pb2.EnsureSellerResponse(user_id=user_id, created=created)

    async def GetUserContact(
        self, request: auth_pb2.GetUserContactRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> auth_pb2.GetUserContactResponse:
        user = await contacts.get_user_contact(self._deps, current_principal(), request.user_id)
        return auth_pb2.GetUserContactResponse(user_id=user.id, email=user.email, display_name=user.display_name)
