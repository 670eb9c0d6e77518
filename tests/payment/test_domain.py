"""The Payment aggregate's state machine and when an order may be paid (stdlib only, no server)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.kit.errors import FailedPrecondition, PermissionDenied
from services.payment import domain
from services.payment.domain import OrderSummary, Payment

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def order(status: str = domain.ORDER_PENDING_PAYMENT, due: datetime | None = NOW + timedelta(hours=1)) -> OrderSummary:
    return OrderSummary("order-1", "buyer-1", status, 1500, "USD", due)


def payment(status: str = domain.PENDING) -> Payment:
    made = Payment.start("pay-1", order(), request_id="req-1", provider=domain.LOCAL, now=NOW)
    made.status = status
    return made


def test_a_payment_succeeds_once_then_can_only_be_refunded() -> None:
    paying = payment()
    assert paying.succeed(NOW) is True
    assert paying.succeed(NOW) is False
    assert [type(event) for event in paying.events] == [domain.Succeeded]
    with pytest.raises(FailedPrecondition) as declined:
        paying.fail(domain.CARD_DECLINED, NOW)
    assert declined.value.reason == "PAYMENT_NOT_PENDING"
    assert paying.cancel(NOW) is False
    assert paying.refund("because", NOW) is True
    assert paying.refund("because", NOW) is False
    assert (paying.status, paying.refunded_at, paying.refund_reason) == (domain.REFUNDED, NOW, "because")
    assert [type(event) for event in paying.events] == [domain.Succeeded, domain.Refunded]


@pytest.mark.parametrize("status", [domain.PENDING, domain.FAILED, domain.CANCELLED])
def test_only_a_succeeded_payment_is_refunded(status: str) -> None:
    with pytest.raises(FailedPrecondition) as refused:
        payment(status).refund("why", NOW)
    assert refused.value.reason == "PAYMENT_NOT_SUCCEEDED"


def test_a_declined_payment_is_final_for_the_buyer() -> None:
    paying = payment()
    assert paying.fail(domain.CARD_DECLINED, NOW) is True
    assert paying.fail(domain.CARD_DECLINED, NOW) is False
    (failed,) = paying.events
    assert isinstance(failed, domain.Failed) and failed.reason == "card declined"
    with pytest.raises(FailedPrecondition):
        paying.succeed(NOW)


@pytest.mark.parametrize("status", [domain.FAILED, domain.CANCELLED])
def test_money_the_provider_reports_taken_settles_a_payment_given_up_here(status: str) -> None:
    paying = payment(status)
    assert paying.succeed(NOW, reported_by_provider=True) is True
    assert paying.status == domain.SUCCEEDED


def test_late_provider_reports_change_nothing() -> None:
    refunded = payment(domain.REFUNDED)
    assert refunded.succeed(NOW, reported_by_provider=True) is False
    assert refunded.fail(domain.CARD_DECLINED, NOW, reported_by_provider=True) is False
    assert (refunded.status, refunded.events) == (domain.REFUNDED, [])


def test_provider_states() -> None:
    waiting = payment()
    assert waiting.apply_provider_state(domain.PROVIDER_PENDING, NOW) is False
    assert waiting.status == domain.PENDING
    assert waiting.apply_provider_state(domain.PROVIDER_CANCELED, NOW) is True
    assert waiting.status == domain.CANCELLED and waiting.events == []
    assert payment().apply_provider_state(domain.PROVIDER_SUCCEEDED, NOW) is True


@pytest.mark.parametrize(
    ("summary", "reason"),
    [
        (order("PAID"), "ORDER_ALREADY_PAID"),
        (order("SHIPPED"), "ORDER_ALREADY_PAID"),
        (order("CANCELLED"), "ORDER_NOT_PAYABLE"),
        (order("REFUNDED"), "ORDER_NOT_PAYABLE"),
        (order(due=NOW), "ORDER_NOT_PAYABLE"),
    ],
)
def test_orders_that_cannot_be_paid(summary: OrderSummary, reason: str) -> None:
    with pytest.raises(FailedPrecondition) as refused:
        domain.ensure_payable(summary, "buyer-1", NOW)
    assert refused.value.reason == reason


def test_only_the_buyer_pays_and_learns_nothing_else() -> None:
    domain.ensure_payable(order(), "buyer-1", NOW)
    domain.ensure_payable(order(due=None), "buyer-1", NOW)
    with pytest.raises(PermissionDenied) as denied:
        domain.ensure_payable(order("PAID"), "someone-else", NOW)
    assert (denied.value.message, denied.value.metadata) == ("permission denied", {})
