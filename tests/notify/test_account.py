"""Account emails through the real auth service: a welcome on registration, a password reset whose emailed link
resets the password; preferences; each user lists only their own notifications."""

from __future__ import annotations

import re
import uuid
from urllib.parse import unquote

import grpc
import pytest
from google.protobuf import field_mask_pb2

from marketplace.auth.v1 import auth_pb2
from marketplace.notify.v1 import notify_pb2
from tests.kit.rpc.support import field_violations
from tests.notify.conftest import Notify, StartNotify
from tests.notify.mail import body_text, html_text, one_mail
from tests.support.auth import PASSWORD, Auth, StartAuth, bearer, service_token
from tests.support.polling import eventually


@pytest.fixture
async def stack(start_auth: StartAuth, start_notify: StartNotify) -> tuple[Auth, Notify]:
    auth = await start_auth()
    return auth, await start_notify(auth.running.address)


async def register(auth: Auth, display_name: str = "Ada Lovelace") -> tuple[auth_pb2.RegisterResponse, str, str]:
    name = "u" + uuid.uuid4().hex[:12]
    email = f"{name}@example.com"
    response = await auth.stub.Register(
        auth_pb2.RegisterRequest(email=email, username=name, password=PASSWORD, display_name=display_name)
    )
    return response, name, email


async def test_a_registration_gets_one_welcome_email(stack: tuple[Auth, Notify]) -> None:
    auth, notify = stack
    registered, _name, email = await register(auth)

    mail = await one_mail(notify, email)
    assert mail["Subject"] == "Welcome to the marketplace, Ada Lovelace"
    assert mail["To"] == f"Ada Lovelace <{email}>"
    assert mail["Message-ID"].endswith("@notify.marketplace-mesh>")
    assert f"Sign in with {email}" in body_text(mail)
    assert "<strong>" + email + "</strong>" in html_text(mail)

    me = bearer(registered.tokens.access_token)
    listed = await notify.stub.ListNotifications(notify_pb2.ListNotificationsRequest(), metadata=me)
    assert [(item.template, item.status) for item in listed.notifications] == [
        ("welcome", notify_pb2.NOTIFICATION_STATUS_SENT)
    ]
    assert listed.notifications[0].sent_at.seconds > 0


async def test_a_password_reset_link_from_the_email_resets_the_password(stack: tuple[Auth, Notify]) -> None:
    auth, notify = stack
    _registered, name, email = await register(auth)
    await one_mail(notify, email)  # the welcome

    await auth.stub.RequestPasswordReset(auth_pb2.RequestPasswordResetRequest(email=email))
    mail = await one_mail(notify, email, subject="Reset your password")
    link = re.search(r"http://shop\.test/reset\?token=(\S+)", body_text(mail))
    assert link is not None, body_text(mail)
    token = unquote(link.group(1))
    assert f'href="http://shop.test/reset?token={link.group(1)}"' in html_text(mail)

    await auth.stub.ResetPassword(auth_pb2.ResetPasswordRequest(reset_token=token, new_password="a new pass phrase"))
    login = await auth.stub.Login(auth_pb2.LoginRequest(login=name, password="a new pass phrase"))
    assert login.tokens.access_token
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await auth.stub.Login(auth_pb2.LoginRequest(login=name, password=PASSWORD))
    assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_emails_greet_a_user_by_the_name_they_changed_to(stack: tuple[Auth, Notify]) -> None:
    auth, notify = stack
    registered, _name, email = await register(auth)
    await one_mail(notify, email)  # the welcome, to Ada Lovelace
    await auth.stub.UpdateMe(
        auth_pb2.UpdateMeRequest(
            user=auth_pb2.User(display_name="Ada King"), update_mask=field_mask_pb2.FieldMask(paths=["display_name"])
        ),
        metadata=bearer(registered.tokens.access_token),
    )

    await auth.stub.RequestPasswordReset(auth_pb2.RequestPasswordResetRequest(email=email))
    mail = await one_mail(notify, email, subject="Reset your password")
    assert mail["To"] == f"Ada King <{email}>"


async def test_password_resets_go_out_even_with_account_emails_off(stack: tuple[Auth, Notify]) -> None:
    auth, notify = stack
    registered, _name, email = await register(auth)
    me = bearer(registered.tokens.access_token)
    await one_mail(notify, email)
    updated = await notify.stub.UpdatePreferences(
        notify_pb2.UpdatePreferencesRequest(
            preferences=notify_pb2.NotificationPreferences(security_email=False, marketing_email=False),
            update_mask=field_mask_pb2.FieldMask(paths=["security_email"]),
        ),
        metadata=me,
    )
    # Only the masked field changed.
    prefs = updated.preferences
    assert (prefs.order_updates_email, prefs.marketing_email, prefs.security_email) == (True, True, False)
    assert prefs.update_time.seconds > 0
    got = await notify.stub.GetPreferences(notify_pb2.GetPreferencesRequest(), metadata=me)
    assert got.preferences == prefs

    await auth.stub.RequestPasswordReset(auth_pb2.RequestPasswordResetRequest(email=email))
    await one_mail(notify, email, subject="Reset your password")


async def test_preferences_default_to_on_and_a_mask_must_name_one(stack: tuple[Auth, Notify]) -> None:
    auth, notify = stack
    registered, _name, _email = await register(auth)
    me = bearer(registered.tokens.access_token)
    got = (await notify.stub.GetPreferences(notify_pb2.GetPreferencesRequest(), metadata=me)).preferences
    assert (got.order_updates_email, got.marketing_email, got.security_email) == (True, True, True)
    assert not got.HasField("update_time")
    # No mask, or an empty one, is refused naming the field: it never means "every preference".
    off = notify_pb2.NotificationPreferences()
    for request in (
        notify_pb2.UpdatePreferencesRequest(preferences=off),
        notify_pb2.UpdatePreferencesRequest(preferences=off, update_mask=field_mask_pb2.FieldMask()),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await notify.stub.UpdatePreferences(request, metadata=me)
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "update_mask" in field_violations(refused.value)
    unchanged = (await notify.stub.GetPreferences(notify_pb2.GetPreferencesRequest(), metadata=me)).preferences
    assert unchanged == got
    every = field_mask_pb2.FieldMask(paths=["order_updates_email", "marketing_email", "security_email"])
    request = notify_pb2.UpdatePreferencesRequest(
        preferences=notify_pb2.NotificationPreferences(marketing_email=True), update_mask=every
    )
    updated = (await notify.stub.UpdatePreferences(request, metadata=me)).preferences
    assert (updated.order_updates_email, updated.marketing_email, updated.security_email) == (False, True, False)


async def test_each_user_lists_only_their_own_notifications_in_pages(stack: tuple[Auth, Notify]) -> None:
    auth, notify = stack
    ada, _name, ada_email = await register(auth)
    bob, _bob_name, bob_email = await register(auth, "Bob")
    await one_mail(notify, ada_email)
    await one_mail(notify, bob_email)
    for _ in range(2):
        await auth.stub.RequestPasswordReset(auth_pb2.RequestPasswordResetRequest(email=ada_email))

    async def three() -> bool:
        return len(await notify.records(ada.user.id)) == 3

    await eventually(three, message="Ada's reset notifications not recorded")
    me = bearer(ada.tokens.access_token)
    first = await notify.stub.ListNotifications(notify_pb2.ListNotificationsRequest(page_size=2), metadata=me)
    assert first.next_page_token
    second = await notify.stub.ListNotifications(
        notify_pb2.ListNotificationsRequest(page_size=2, page_token=first.next_page_token), metadata=me
    )
    assert second.next_page_token == ""
    templates = [item.template for item in [*first.notifications, *second.notifications]]
    assert templates == ["password_reset", "password_reset", "welcome"]  # newest first
    ids = {item.id for item in [*first.notifications, *second.notifications]}
    assert len(ids) == 3

    theirs = await notify.stub.ListNotifications(
        notify_pb2.ListNotificationsRequest(), metadata=bearer(bob.tokens.access_token)
    )
    assert [item.template for item in theirs.notifications] == ["welcome"]
    assert not ids & {item.id for item in theirs.notifications}
    # Bob cannot page through Ada's list with her token's page token either: it names her list.
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await notify.stub.ListNotifications(
            notify_pb2.ListNotificationsRequest(page_token=first.next_page_token),
            metadata=bearer(bob.tokens.access_token),
        )
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_a_delegated_token_neither_reads_nor_changes_notifications(stack: tuple[Auth, Notify]) -> None:
    auth, notify = stack
    registered, _name, _email = await register(auth)
    buddy = bearer(await service_token(auth, "buddy"))
    exchanged = await auth.stub.ExchangeToken(
        auth_pb2.ExchangeTokenRequest(subject_token=registered.tokens.access_token, scopes=["catalog:read"]),
        metadata=buddy,
    )
    assistant = bearer(exchanged.access_token)
    calls = [
        notify.stub.ListNotifications(notify_pb2.ListNotificationsRequest(), metadata=assistant),
        notify.stub.GetPreferences(notify_pb2.GetPreferencesRequest(), metadata=assistant),
        notify.stub.UpdatePreferences(
            notify_pb2.UpdatePreferencesRequest(
                preferences=notify_pb2.NotificationPreferences(),
                update_mask=field_mask_pb2.FieldMask(paths=["marketing_email"]),
            ),
            metadata=assistant,
        ),
    ]
    for call in calls:
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await call
        assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
    me = bearer(registered.tokens.access_token)
    prefs = (await notify.stub.GetPreferences(notify_pb2.GetPreferencesRequest(), metadata=me)).preferences
    assert not prefs.HasField("update_time")  # nothing changed


async def test_only_notify_reads_a_users_contact_from_auth(stack: tuple[Auth, Notify]) -> None:
    auth, _notify = stack
    registered, _name, email = await register(auth)
    request = auth_pb2.GetUserContactRequest(user_id=registered.user.id)
    found = await auth.stub.GetUserContact(request, metadata=bearer(await service_token(auth, "notify")))
    assert (found.user_id, found.email, found.display_name) == (registered.user.id, email, "Ada Lovelace")
    for caller in (bearer(await service_token(auth, "order")), bearer(registered.tokens.access_token)):
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await auth.stub.GetUserContact(request, metadata=caller)
        assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.aio.AioRpcError) as missing:
        await auth.stub.GetUserContact(
            auth_pb2.GetUserContactRequest(user_id=str(uuid.uuid4())),
            metadata=bearer(await service_token(auth, "notify")),
        )
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND
