"""The seller's domain rules without I/O: whose figures a caller reads, the fee and what is payable, buckets of a
sales series, and a part's status from its moments."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from services.kit.errors import InvalidArgument, PermissionDenied
from services.seller import domain
from services.seller.domain import Moments, Sales


def test_a_seller_reads_their_own_figures_and_only_an_admin_names_another() -> None:
    assert domain.seller_in_view("s1", False, "") == "s1"
    assert domain.seller_in_view("s1", False, "s1") == "s1"
    with pytest.raises(PermissionDenied):
        domain.seller_in_view("s1", False, "s2")
    assert domain.seller_in_view("a1", True, "s2") == "s2"
    with pytest.raises(InvalidArgument) as refused:
        domain.seller_in_view("a1", True, "")
    assert [violation.field for violation in refused.value.violations] == ["seller_id"]


def test_the_fee_is_a_rate_of_sales_less_refunds_rounded_half_up() -> None:
    earned = domain.earnings(gross_sales=10_005, refunds=5, fee_rate=250)
    assert (earned.fee, earned.net_payable) == (250, 9_750)
    # 2.5 % of 1,010 is 25.25 → 25; of 1,030 is 25.75 → 26; of 1,020 is exactly 25.5 → 26.
    assert domain.earnings(1_010, 0, 250).fee == 25
    assert domain.earnings(1_030, 0, 250).fee == 26
    assert domain.earnings(1_020, 0, 250).fee == 26
    assert domain.earnings(0, 0, 250) == domain.Earnings(0, 0, 0, 0, 250)
    assert domain.divide_half_up(7, 0) == 0


def test_a_series_has_every_bucket_empty_ones_as_zero() -> None:
    sales = {
        date(2026, 11, 30): Sales(1, 2, 300),
        date(2026, 12, 2): Sales(2, 3, 500),
        date(2026, 12, 9): Sales(9, 9, 9),
    }
    buckets, total = domain.series(date(2026, 11, 30), date(2026, 12, 3), domain.DAILY, sales)
    assert [bucket.start for bucket in buckets] == [date(2026, 11, d) for d in (30,)] + [
        date(2026, 12, d) for d in (1, 2, 3)
    ]
    assert [bucket.sales.revenue for bucket in buckets] == [300, 0, 500, 0]
    assert total == Sales(3, 5, 800)
    # Weekly buckets start on Monday (2026-11-30 is one); days outside the range are left out.
    weekly, total = domain.series(date(2026, 12, 1), date(2026, 12, 9), domain.WEEKLY, sales)
    assert [bucket.start for bucket in weekly] == [date(2026, 11, 30), date(2026, 12, 7)]
    assert [bucket.sales.orders for bucket in weekly] == [2, 9]
    with pytest.raises(InvalidArgument):
        domain.series_starts(date(2026, 12, 2), date(2026, 12, 1), domain.DAILY)
    with pytest.raises(InvalidArgument):
        domain.series_starts(date(2000, 1, 1), date(2026, 1, 1), domain.DAILY)


def test_a_part_status_follows_its_latest_moment_and_cancelling_outranks_shipping() -> None:
    at = datetime(2026, 12, 2, tzinfo=UTC)
    assert Moments(at).status == domain.PENDING_PAYMENT
    assert Moments(at, paid_at=at).status == domain.PAID
    assert Moments(at, paid_at=at, shipped_at=at).status == domain.SHIPPED
    assert Moments(at, paid_at=at, shipped_at=at, delivered_at=at).status == domain.DELIVERED
    assert Moments(at, paid_at=at, cancelled_at=at).status == domain.CANCELLED
    assert Moments(at, paid_at=at, cancelled_at=at, refunded_at=at).status == domain.REFUNDED
    assert Moments(at, paid_at=at, shipped_at=at, refunded_at=at).status == domain.REFUNDED
