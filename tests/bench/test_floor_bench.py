"""The checkout's floor (bench/floor.py): a short run measures every kind of operation against the real servers,
and the floor is the sum of the checkout's steps at the measured costs."""

from __future__ import annotations

import pytest

from bench import floor


@pytest.mark.timeout(120)
async def test_a_short_run_measures_each_operation_and_sums_the_checkouts_steps() -> None:
    result = await floor.run(floor.parse(["--seconds", "0.5", "--concurrency", "2"]))

    for cost in (result.call, result.transaction, result.written, result.delivered):
        assert cost.operations > 0
        assert cost.seconds > 0
    # Both sides of every operation did work: a side that reads zero was not the process measured.
    assert result.call.cpu["server"] > 0 and result.call.cpu["client"] > 0
    assert result.transaction.cpu["postgres"] > 0
    assert result.written.cpu["valkey"] > 0
    costs = result.per_kind_ms()
    assert costs["internal call"] > costs["external call"] > 0
    expected = sum(step.count * costs[step.kind] for step in floor.CHECKOUT)
    assert result.floor_ms == pytest.approx(expected)
    text = floor.report(result, target=300)
    assert f"floor of one checkout: {result.floor_ms:.2f} ms" in text
    assert "budget at 300 checkouts/s" in text


def test_the_floor_counts_every_step_of_the_checkout_at_its_cost() -> None:
    def cost(**sides: float) -> floor.Cost:
        # 1,000 operations in one second, each side's CPU in ms per operation.
        return floor.Cost(operations=1000, seconds=1.0, cpu=dict(sides))

    result = floor.Result(
        cores=2,
        call=cost(client=0.2, server=0.3),
        transaction=cost(client=0.1, postgres=0.2),
        written=cost(client=0.05, valkey=0.02),
        delivered=cost(client=0.01, valkey=0.01),
        busy=1.0,
        elapsed=1.0,
    )
    # 5 external calls at 0.3, 3 internal at 0.5, 8 transactions at 0.3, 2 events written at 0.07, 3 delivered at 0.02.
    assert result.floor_ms == pytest.approx(5 * 0.3 + 3 * 0.5 + 8 * 0.3 + 2 * 0.07 + 3 * 0.02)
    assert "the floor is 84% of it" in floor.report(result, target=300)
