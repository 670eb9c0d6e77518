"""A password reset in a real browser, the way a newcomer does it: sign up, sign out, "Forgot your password?",
read the email in the local mail sink's web mailbox, click its link, choose a new password, sign in with it (the
old one refused). My notifications lists the welcome and the reset; a preference change is kept; a used link
and the edge's reset rate limit are said clearly. Screenshots land in var/screenshots/storefront/."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.async_api import Page, Request, expect

from tests.notify.mail import mails
from tests.web.browser import open_page, shot
from tests.web.conftest import MailStorefront

pytestmark = pytest.mark.timeout(90)

OLD_PASSWORD = "correct horse battery"
NEW_PASSWORD = "a brand new passphrase"
NEUTRAL = re.compile(r"^If an account exists for that address, an email")


async def sign_in(page: Page, login: str, password: str) -> None:
    await page.get_by_label("Email or username").fill(login)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Sign in").click()


async def test_a_newcomer_resets_their_password_from_the_emailed_link(mail_storefront: MailStorefront) -> None:
    shop = mail_storefront
    name = "reset_" + uuid.uuid4().hex[:8]
    email = f"{name}@example.com"
    requests: list[Request] = []
    async with open_page(shop.browser_path) as page:
        page.on("request", lambda request: requests.append(request))
        heading = page.get_by_role("heading", level=1)

        # Sign up; the welcome email shows on My notifications.
        await page.goto(shop.url + "/#/signup?next=/notifications")
        await page.get_by_label("Email").fill(email)
        await page.get_by_label("Username").fill(name)
        await page.get_by_label("Password").fill(OLD_PASSWORD)
        await page.get_by_label("Display name").fill("Rita Reset")
        await page.get_by_role("button", name="Create account").click()
        await expect(heading).to_have_text("My notifications")
        await expect(heading).to_be_focused()
        await mails(shop.notify, email, "Welcome to the marketplace, Rita Reset")
        await page.reload()
        sent = page.get_by_test_id("notifications")
        await expect(sent).to_contain_text("Welcome to the marketplace, Rita Reset")
        await expect(sent.get_by_role("row").nth(1)).to_contain_text("Sent")

        # Signed out, the sign-in page offers the reset; the answer says nothing about the account.
        await page.get_by_role("button", name="Sign out").click()
        await page.get_by_role("link", name="Sign in").click()
        await page.get_by_role("link", name="Forgot your password?").click()
        await expect(heading).to_have_text("Forgot your password?")
        await page.get_by_label("Email").fill(email)
        await page.get_by_role("button", name="Email me a reset link").click()
        neutral = page.get_by_role("status")
        await expect(neutral).to_have_text(NEUTRAL)
        said = await neutral.text_content()
        await shot(page, "reset-01-forgot")

        # The local mailbox: the newest message is the reset; its plain text has the link, clickable.
        await mails(shop.notify, email, "Reset your password")
        await page.goto(shop.viewer.url)
        await expect(heading).to_have_text("Local mailbox")
        rows = page.get_by_role("row")
        await expect(rows.nth(1)).to_contain_text("Reset your password")
        await expect(rows.nth(2)).to_contain_text("Welcome to the marketplace")
        await rows.nth(1).get_by_role("link").click()
        await expect(heading).to_have_text("Reset your password")
        await expect(page.frame_locator("iframe").get_by_role("link")).to_have_attribute(
            "href", re.compile(r"/#/reset-password\?token=")
        )
        await shot(page, "reset-02-mailbox")
        link = page.locator("pre").get_by_role("link")
        reset_link = await link.get_attribute("href")
        assert reset_link is not None and reset_link.startswith(shop.url + "/#/reset-password?token=")
        token = reset_link.rsplit("token=", 1)[1]
        await link.click()

        # The reset page: the token leaves the address bar as soon as it is read.
        await expect(heading).to_have_text("Choose a new password")
        await expect(page).to_have_url(shop.url + "/#/reset-password")
        await page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
        await page.get_by_label("Repeat the new password").fill(NEW_PASSWORD + "x")
        await page.get_by_role("button", name="Set the new password").click()
        await expect(page.get_by_role("alert")).to_contain_text("The two passwords differ")
        await page.get_by_label("Repeat the new password").fill(NEW_PASSWORD)
        await shot(page, "reset-03-new-password")
        await page.get_by_role("button", name="Set the new password").click()
        await expect(heading).to_have_text("Sign in")
        await expect(page.get_by_role("status")).to_contain_text("Your password was changed")

        # The old password is refused, the new one signs in.
        await sign_in(page, name, OLD_PASSWORD)
        await expect(page.get_by_role("alert")).to_be_visible()
        await expect(page.get_by_test_id("signed-in-as")).to_have_count(0)
        await sign_in(page, email, NEW_PASSWORD)
        await expect(page.get_by_test_id("signed-in-as")).to_have_text("Signed in as Rita Reset")

        # My notifications: both emails, and a preference change that is kept.
        await page.get_by_role("navigation", name="Main").get_by_role("link", name="My notifications").click()
        await expect(heading).to_have_text("My notifications")
        await expect(sent.get_by_role("row").nth(1)).to_contain_text("Reset your password")
        await expect(sent.get_by_role("row").nth(1)).to_contain_text("Password reset")
        await expect(sent.get_by_role("row").nth(2)).to_contain_text("Welcome to the marketplace, Rita Reset")
        orders = page.get_by_label("Order updates")
        await expect(orders).to_be_checked()
        await expect(orders).to_be_enabled()
        await orders.uncheck()
        await page.get_by_role("button", name="Save preferences").click()
        await expect(page.get_by_role("status")).to_have_text("Saved.")
        await shot(page, "reset-04-notifications")
        await page.reload()
        await expect(page.get_by_label("Order updates")).to_be_enabled()
        await expect(page.get_by_label("Order updates")).not_to_be_checked()
        await expect(page.get_by_label("Account emails")).to_be_checked()

        # The link works once.
        await page.goto(reset_link)
        await expect(heading).to_have_text("Choose a new password")
        await page.get_by_label("New password", exact=True).fill("yet another passphrase")
        await page.get_by_label("Repeat the new password").fill("yet another passphrase")
        await page.get_by_role("button", name="Set the new password").click()
        await expect(page.get_by_role("alert")).to_contain_text("expired or was already used")
        await expect(page.get_by_role("link", name="Ask for a new reset link")).to_be_visible()

        # An unknown address gets the same words; past the edge's limit, the page says to wait.
        await page.goto(shop.url + "/#/forgot-password")
        await page.get_by_label("Email").fill(f"nobody_{uuid.uuid4().hex[:8]}@example.com")
        await page.get_by_role("button", name="Email me a reset link").click()
        await expect(page.get_by_role("status")).to_have_text(said or "")
        await page.get_by_role("button", name="Email me a reset link").click()
        await expect(page.get_by_role("alert")).to_have_text(
            "Too many attempts from here. Please wait about 60 seconds and try again."
        )
        await shot(page, "reset-05-rate-limited")

    # The token went nowhere but the reset call's body: no address the browser asked for holds it.
    assert not [request.url for request in requests if token in request.url]
    calls = [request for request in requests if "/marketplace." in request.url]
    for call in calls:
        assert call.url.startswith(shop.url + "/marketplace."), call.url
        assert call.headers.get("content-type") == "application/grpc-web+proto", call.url
    public = [call for call in calls if call.url.endswith(("/RequestPasswordReset", "/ResetPassword"))]
    assert len(public) == 5 and not [call for call in public if "authorization" in call.headers]
