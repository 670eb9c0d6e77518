"""The notify domain without I/O: money for people, retry delays, delivery states, preferences, and every kind's
templates rendering what intake records."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.kit.errors import FailedPrecondition
from services.notify import domain, templates
from services.notify.domain import Notification, Preferences, format_money, retry_delay

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)

# What intake records for each kind (handlers/intake.py), as the worker renders it.
DATA = {
    "welcome": {"email": "ada@example.com"},
    "password_reset": {"reset_link": "http://x/reset?token=abc", "expires": "2026-12-01 13:00 UTC"},
    "order_paid": {"order_id": "o-1", "order_ref": "#1", "total": "$1.00", "lines": "- 1 × Mug at $1.00"},
    "first_sale": {"order_id": "o-1", "product_title": "Mug", "quantity": "1", "amount": "$1.00"},
    "order_shipped": {
        "order_id": "o-1",
        "order_ref": "#1",
        "carrier": "DHL",
        "tracking_number": "T",
        "lines": "- 1 × Mug at $1.00",
        "progress": "p",
    },
    "order_delivered": {"order_id": "o-1", "order_ref": "#1", "lines": "- 1 × Mug at $1.00", "progress": "p"},
    "order_cancelled": {
        "order_id": "o-1",
        "order_ref": "#1",
        "total": "$1.00",
        "reason": "r",
        "lines": "- 1 × Mug at $1.00",
        "refund": "Nothing was charged.",
    },
    "payment_failed": {"order_id": "o-1", "order_ref": "#1", "amount": "$1.00", "reason": "card declined"},
    "payment_refunded": {"order_id": "o-1", "order_ref": "#1", "amount": "$1.00"},
}


@pytest.mark.parametrize(
    ("units", "currency", "shown"),
    [
        (1999, "USD", "$19.99"),
        (5, "usd", "$0.05"),
        (123456789, "EUR", "€1,234,567.89"),
        (500, "JPY", "¥500"),
        (-250, "GBP", "-£2.50"),
        (1200, "XYZ", "12.00 XYZ"),
    ],
)
def test_amounts_are_written_for_people(units: int, currency: str, shown: str) -> None:
    assert format_money(units, currency) == shown


def test_retry_delays_double_up_to_the_maximum() -> None:
    assert [retry_delay(attempt, base=2.0, maximum=10.0) for attempt in (1, 2, 3, 4, 5)] == [2, 4, 8, 10, 10]


def test_every_kind_has_both_templates_and_renders_what_intake_records() -> None:
    assert sorted(domain.KINDS) == templates.kinds_with_templates() == sorted(DATA)
    for kind, data in DATA.items():
        rendered = templates.render(kind, {"name": "Ada <3", **data})
        assert rendered.subject and "$" not in rendered.subject.replace("$1.00", "")
        assert "Hello Ada <3," in rendered.text
        assert "Hello Ada &lt;3," in rendered.html  # escaped in HTML
    with pytest.raises(KeyError):
        templates.render("order_paid", {"name": "Ada"})


def test_html_lines_become_a_list() -> None:
    rendered = templates.render("order_paid", {"name": "A", **DATA["order_paid"]})
    assert "<ul>\n<li>1 × Mug at $1.00</li>\n</ul>" in rendered.html


def make() -> Notification:
    return Notification("n", "u", "welcome", "s", "a@example.com", "A", {}, NOW)


def test_a_notification_is_sent_once_and_a_dead_workers_lease_runs_out() -> None:
    notification = make()
    notification.queued(NOW)
    notification.start_sending(NOW, timedelta(seconds=30))
    assert (notification.status, notification.attempts) == (domain.SENDING, 1)
    with pytest.raises(FailedPrecondition):
        notification.start_sending(NOW + timedelta(seconds=10), timedelta(seconds=30))
    later = NOW + timedelta(seconds=31)
    assert notification.busy_until(later) is None
    notification.start_sending(later, timedelta(seconds=30))  # the worker holding it died
    notification.sent(later)
    assert notification.final and notification.attempts == 2
    with pytest.raises(FailedPrecondition):
        notification.start_sending(later, timedelta(seconds=30))


def test_a_temporary_failure_queues_again_and_a_failure_is_final() -> None:
    notification = make()
    notification.start_sending(NOW, timedelta(seconds=30))
    notification.will_retry("451 later")
    assert (notification.status, notification.status_reason, notification.lease_until) == (
        domain.QUEUED,
        "451 later",
        None,
    )
    notification.failed("550 no")
    assert notification.final


def test_preferences_govern_every_kind_but_password_resets() -> None:
    preferences = Preferences("u")
    preferences.change({domain.ORDER_UPDATES: False, domain.ACCOUNT: False}, NOW)
    assert not preferences.wants(domain.ORDER_PAID)
    assert not preferences.wants(domain.FIRST_SALE)
    assert not preferences.wants(domain.WELCOME)
    assert preferences.wants(domain.PASSWORD_RESET)
    assert preferences.updated_at == NOW
    with pytest.raises(ValueError):
        preferences.change({"sms": True}, NOW)


def test_an_orders_lines_make_one_sale_per_product() -> None:
    lines = [
        ("shoe", "s1", domain.Line("Shoe", 1, 8000, "USD")),
        ("mug", "s2", domain.Line("Mug", 2, 1999, "USD")),
        ("shoe", "s1", domain.Line("Shoe", 2, 8000, "USD")),  # another size
        ("", "s3", domain.Line("Unknown", 1, 1, "USD")),
    ]
    sales = domain.sales_by_product(lines)
    assert list(sales) == ["shoe", "mug"]
    assert (sales["shoe"].quantity, sales["shoe"].amount_units, sales["shoe"].seller_id) == (3, 24000, "s1")
    assert (sales["mug"].quantity, sales["mug"].amount_units) == (2, 3998)
