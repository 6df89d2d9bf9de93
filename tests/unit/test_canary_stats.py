"""The canary judge's statistics against known values: exact sums in rationals."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
from orchestrator.domain import canary_stats


def _exact_tail(k: int, n: int, p: Fraction) -> float:
    return float(sum(math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(k, n + 1)))


@pytest.mark.parametrize(
    ("k", "n", "p"),
    [
        (8, 10, "1/2"),
        (3, 20, "1/10"),
        (30, 200, "1/10"),
        (150, 1000, "3/25"),
        (1, 5, "3/10"),
        (50, 60, "7/10"),
        (0, 9, "1/3"),
        (10, 10, "1/2"),
    ],
)
def test_the_binomial_tail_is_the_exact_sum(k: int, n: int, p: str) -> None:
    # P(X >= 8 | 10, 1/2) = 56/1024 is the textbook case; the others are summed exactly in rationals
    assert canary_stats.binomial_sf(k, n, float(Fraction(p))) == pytest.approx(
        _exact_tail(k, n, Fraction(p)), rel=1e-10
    )


def test_the_rate_test_is_the_binomial_of_greens_share_of_the_pooled_errors() -> None:
    # Given green served 1 000 requests and blue 9 000 (a 10 % step), 25 errors against 90
    p = canary_stats.rate_test(25, 1_000, 90, 9_000)
    # Then it is P(X >= 25) for X ~ Binomial(115, 0.1)
    assert p == pytest.approx(_exact_tail(25, 115, Fraction(1, 10)), rel=1e-10)
    # And equal rates are far from significant, no errors at all is 1, and no requests gives no evidence
    assert canary_stats.rate_test(10, 1_000, 90, 9_000) > 0.4
    assert canary_stats.rate_test(0, 1_000, 0, 9_000) == 1.0
    assert canary_stats.rate_test(5, 0, 90, 9_000) == 1.0


def test_the_quantile_interpolates_like_numpy() -> None:
    assert canary_stats.quantile([3.0, 1.0, 2.0, 4.0], 0.5) == 2.5
    assert canary_stats.quantile([1.0, 2.0, 3.0, 4.0, 5.0], 0.9) == pytest.approx(4.6)
    assert math.isnan(canary_stats.quantile([], 0.5))
