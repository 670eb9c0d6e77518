"""The seller's read model, as plain values: a seller's part of an order, the figures of a period, earnings and
sales series. Standard library only: the store fills these, the servicer turns them into messages.

A part (one order, one seller) moves through set-once moments: placed, paid, shipped, delivered, cancelled,
refunded. Each event sets at most its own moment and never moves one back, so an event applied twice, late or
out of order leaves the same part; every figure is computed from the parts, never kept as a running count.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from services.kit.errors import FieldViolation, InvalidArgument, PermissionDenied

PENDING_PAYMENT = "PENDING_PAYMENT"
PAID = "PAID"
SHIPPED = "SHIPPED"
DELIVERED = "DELIVERED"
CANCELLED = "CANCELLED"
REFUNDED = "REFUNDED"
STATUSES = (PENDING_PAYMENT, PAID, SHIPPED, DELIVERED, CANCELLED, REFUNDED)

DAILY = "DAILY"
WEEKLY = "WEEKLY"

# Dashboard periods: their length in days; None for all time.
PERIOD_DAYS: dict[str, int | None] = {"7D": 7, "30D": 30, "90D": 90, "365D": 365, "ALL": None}
DEFAULT_PERIOD = "30D"
DEFAULT_TOP_PRODUCTS = 5
# A series longer than this many buckets is refused.
MAX_BUCKETS = 1000
BASIS_POINTS = 10_000


@dataclass(frozen=True)
class Moments:
    """When each step of a part happened; None until it did."""

    created_at: datetime
    paid_at: datetime | None = None
    shipped_at: datetime | None = None
    delivered_at: datetime | None = None
    cancelled_at: datetime | None = None
    refunded_at: datetime | None = None

    @property
    def status(self) -> str:
        if self.refunded_at is not None:
            return REFUNDED
        if self.cancelled_at is not None:
            return CANCELLED
        if self.delivered_at is not None:
            return DELIVERED
        if self.shipped_at is not None:
            return SHIPPED
        if self.paid_at is not None:
            return PAID
        return PENDING_PAYMENT


@dataclass(frozen=True)
class PartLine:
    product_id: str
    variant_id: str
    sku: str
    title: str
    quantity: int
    unit_price: int
    currency: str


@dataclass(frozen=True)
class SellerOrder:
    """One seller's part of an order: only their lines."""

    order_id: str
    buyer_id: str
    currency: str
    moments: Moments
    carrier: str = ""
    tracking_number: str = ""
    lines: list[PartLine] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(line.unit_price * line.quantity for line in self.lines)


@dataclass(frozen=True)
class Money:
    units: int
    currency: str


@dataclass(frozen=True)
class Earnings:
    gross_sales: int
    refunds: int
    fee: int
    net_payable: int
    fee_rate: int


def earnings(gross_sales: int, refunds: int, fee_rate: int) -> Earnings:
    """The fee is `fee_rate` basis points of the sales less refunds, rounded half up to a minor unit."""
    net = gross_sales - refunds
    fee = divide_half_up(net * fee_rate, BASIS_POINTS)
    return Earnings(gross_sales, refunds, fee, net - fee, fee_rate)


def divide_half_up(numerator: int, denominator: int) -> int:
    if denominator <= 0:
        return 0
    quotient, remainder = divmod(numerator, denominator)
    return quotient + (1 if 2 * remainder >= denominator else 0)


@dataclass(frozen=True)
class TopProduct:
    product_id: str
    title: str
    units: int
    revenue: int


@dataclass(frozen=True)
class LowStock:
    product_id: str
    variant_id: str
    sku: str
    title: str
    available: int


@dataclass(frozen=True)
class Sales:
    """Paid parts still standing (neither cancelled nor refunded): how many, units and revenue."""

    orders: int = 0
    units: int = 0
    revenue: int = 0


@dataclass(frozen=True)
class Dashboard:
    period_start: datetime | None
    period_end: datetime
    currency: str
    sales: Sales
    average_order_value: int
    top_products: list[TopProduct]
    low_stock: list[LowStock]
    orders_to_ship: int
    earnings: Earnings


def period_start(period: str, now: datetime) -> datetime | None:
    days = PERIOD_DAYS[period]
    return None if days is None else now - timedelta(days=days)


def seller_in_view(subject: str, is_admin: bool, named: str) -> str:
    """Whose figures a caller reads: their own; an admin names the seller. Naming another seller is refused
    without saying whether they exist."""
    if not named or named == subject:
        if is_admin and not named:
            raise InvalidArgument(
                "an admin names the seller", violations=[FieldViolation("seller_id", "required for an admin")]
            )
        return subject
    if not is_admin:
        raise PermissionDenied("only your own figures")
    return named


@dataclass(frozen=True)
class Bucket:
    start: date
    sales: Sales


def bucket_start(day: date, granularity: str) -> date:
    return day - timedelta(days=day.weekday()) if granularity == WEEKLY else day


def series_starts(first: date, last: date, granularity: str) -> list[date]:
    """The first day of every bucket from `first` to `last` (inclusive); refused when `last` is before `first`
    or there would be more than MAX_BUCKETS."""
    if last < first:
        raise InvalidArgument(
            "the end date is before the start date",
            violations=[FieldViolation("end_date", "must not be before start_date")],
        )
    step = timedelta(days=7 if granularity == WEEKLY else 1)
    start = bucket_start(first, granularity)
    count = (last - start) // step + 1
    if count > MAX_BUCKETS:
        raise InvalidArgument(
            "the series is too long",
            violations=[FieldViolation("end_date", f"at most {MAX_BUCKETS} buckets from start_date")],
        )
    return [start + step * index for index in range(count)]


def series(first: date, last: date, granularity: str, by_day: dict[date, Sales]) -> tuple[list[Bucket], Sales]:
    """Buckets from `first` to `last`, empty ones as zero, and their sum. `by_day`: sales per UTC day."""
    starts = series_starts(first, last, granularity)
    totals: dict[date, Sales] = {start: Sales() for start in starts}
    for day, sales in by_day.items():
        if not first <= day <= last:
            continue
        key = bucket_start(day, granularity)
        totals[key] = add(totals[key], sales)
    buckets = [Bucket(start, totals[start]) for start in starts]
    total = Sales()
    for bucket in buckets:
        total = add(total, bucket.sales)
    return buckets, total


def add(left: Sales, right: Sales) -> Sales:
    return Sales(left.orders + right.orders, left.units + right.units, left.revenue + right.revenue)


def day_bounds(first: date, last: date) -> tuple[datetime, datetime]:
    """[first 00:00 UTC, the day after last 00:00 UTC)."""
    return (
        datetime(first.year, first.month, first.day, tzinfo=UTC),
        datetime(last.year, last.month, last.day, tzinfo=UTC) + timedelta(days=1),
    )
