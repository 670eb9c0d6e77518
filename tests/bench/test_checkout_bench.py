"""The checkout benchmark (bench/checkout.py) at a tiny size: the whole mesh starts, a few buyers complete
checkouts, every figure is there and the catalog's sold stock is what the paid orders bought."""

from __future__ import annotations

import math

import pytest

from bench import checkout


@pytest.mark.timeout(180)
async def test_a_tiny_checkout_run_completes_checkouts_and_sells_what_was_paid() -> None:
    tiny = {
        "--buyers": 3,
        "--seconds": 2,
        "--warmup": 0.5,
        "--sellers": 2,
        "--products": 3,
        "--baseline-seconds": 1,
        "--idle-seconds": 1,
    }
    # The Python client's baseline, so the test needs no h2load (the benchmark's default uses it when installed).
    args = checkout.parse([str(part) for option in tiny.items() for part in option] + ["--baseline-client", "python"])
    result = await checkout.run(args)

    assert result.completed > 0, result.failures
    assert not result.failures
    assert result.consistent, (result.sold, result.paid_units, result.reserved)
    assert set(result.statuses) == {"PAID"}
    assert all(math.isfinite(value) for value in result.latencies_ms)
    hops = {hop.name for hop in result.hops}
    assert {"order OrderPaid → catalog", "order OrderPaid → cart", "payment PaymentSucceeded → order"} <= hops
    assert all(len(hop.lags_ms) == hop.published for hop in result.hops)
    # Every handled event was found on its stream, after its transaction began (the stream's clock has
    # millisecond steps) and before it was handled.
    for hop in result.hops:
        assert len(hop.to_stream_ms) == len(hop.lags_ms), hop.name
        assert all(-1.0 <= part <= lag + 1.0 for part, lag in zip(hop.to_stream_ms, hop.lags_ms, strict=True))
    assert {"auth", "catalog", "cart", "order", "payment", "bench client"} <= set(result.cpu)
    assert all(measurement.rps > 0 for measurement in result.baselines)
    assert "checkouts/s" in checkout.report(result)
