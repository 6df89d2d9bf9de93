"""The canary bench's rates carry their 95 % Wilson interval, and a bar is met only when the whole interval is on its
side."""

from __future__ import annotations

import pytest

from bluegreen.proof.canary_bench import Scenario, _meets, wilson


# Newcombe (1998), "Two-sided confidence intervals for the single proportion", Statistics in Medicine 17, Table I,
# method 3 (Wilson's score interval without continuity correction)
@pytest.mark.parametrize(
    ("successes", "trials", "low", "high"),
    [(81, 263, 0.2553, 0.3662), (15, 148, 0.0624, 0.1605), (0, 20, 0.0, 0.1611), (1, 29, 0.0061, 0.1718)],
)
def test_the_wilson_interval_matches_newcombes_table(successes: int, trials: int, low: float, high: float) -> None:
    assert wilson(successes, trials) == pytest.approx((low, high), abs=5e-5)


def test_a_bar_is_met_only_by_the_whole_interval() -> None:
    # Given 1 000 healthy steps: 10 failures (1 %, interval 0.5 to 1.8 %) meet "at most 2 %"; 15 (1.5 %, up to 2.5 %)
    # do not, though the rate itself is under the bar
    assert _meets(Scenario("A/A", outcomes={"Fail": 10, "Pass": 990}), healthy=True)
    assert not _meets(Scenario("A/A", outcomes={"Fail": 15, "Pass": 985}), healthy=True)
    # And 200 regressed steps caught 188 times (94 %, from 89.8 %) miss "at least 90 %"; 192 times meet it
    assert not _meets(Scenario("slow", outcomes={"Fail": 188, "Pass": 12}), healthy=False)
    assert _meets(Scenario("slow", outcomes={"Fail": 192, "Pass": 8}), healthy=False)
