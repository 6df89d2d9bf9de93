"""The canary judge's statistics against known values: published tables, exact sums, and brute-force enumeration."""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

import pytest
from orchestrator.domain import canary_stats


@pytest.mark.parametrize(
    ("z", "tail"),
    [
        (0.0, 0.5),
        (1.6448536269514722, 0.05),
        (1.959963984540054, 0.025),
        (2.3263478740408408, 0.01),
        (3.0, 0.0013498980316301),
    ],
)
def test_the_normal_tail_matches_the_tables(z: float, tail: float) -> None:
    assert canary_stats.normal_sf(z) == pytest.approx(tail, rel=1e-9)


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


def _brute_tail(m: int, n: int, u: int) -> float:
    """P(U >= u) by listing every placement of m green values among m + n (no ties)."""
    hits = total = 0
    for ranks in itertools.combinations(range(m + n), m):
        total += 1
        hits += sum(r - i for i, r in enumerate(ranks)) >= u
    return hits / total


@pytest.mark.parametrize(("m", "n"), [(1, 1), (2, 3), (5, 5), (3, 7), (6, 4), (4, 8)])
def test_the_exact_u_distribution_is_the_enumerated_one(m: int, n: int) -> None:
    counts = canary_stats.u_counts(m, n)
    assert sum(counts) == math.comb(m + n, m) and min(counts) >= 1
    total = math.comb(m + n, m)
    for u in range(m * n + 1):
        assert sum(counts[u:]) / total == pytest.approx(_brute_tail(m, n, u), abs=1e-12)


# Published critical values of U for equal samples (the largest U with P(U <= U_crit) <= alpha, one-tailed), e.g.
# Mann & Whitney (1947) Table 1 and the standard tables reproduced in Siegel & Castellan, Table J.
@pytest.mark.parametrize(
    ("n", "alpha", "critical"),
    [
        (5, 0.05, 4),
        (6, 0.05, 7),
        (8, 0.05, 15),
        (10, 0.05, 27),
        (5, 0.01, 1),
        (6, 0.01, 3),
        (8, 0.01, 9),
        (10, 0.01, 19),
    ],
)
def test_the_exact_u_distribution_gives_the_published_critical_values(n: int, alpha: float, critical: int) -> None:
    counts = canary_stats.u_counts(n, n)
    total = math.comb(2 * n, n)
    assert sum(counts[: critical + 1]) / total <= alpha < sum(counts[: critical + 2]) / total


def test_the_rank_test_is_one_sided_and_exact_for_short_series() -> None:
    # Given five green minutes all slower than five blue minutes
    green, blue = [0.51, 0.52, 0.55, 0.6, 0.58], [0.40, 0.41, 0.39, 0.43, 0.42]
    u, p = canary_stats.rank_test(green, blue)
    # Then U is 25 and p is 1/252, the one arrangement of 252 as extreme
    assert (u, p) == (25.0, pytest.approx(1 / 252))
    # And the other way round is no evidence that green is slower
    assert canary_stats.rank_test(blue, green)[1] == pytest.approx(1.0)


def test_the_rank_tests_normal_approximation_is_close_to_the_exact_law(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given 30 and 30 interleaved values, green somewhat larger
    green = [1.0 + 0.02 * i for i in range(30)]
    blue = [0.93 + 0.02 * i + 0.001 for i in range(30)]
    u, exact = canary_stats.rank_test(green, blue)
    # When the same data go through the normal approximation (as with ties, or long series)
    monkeypatch.setattr(canary_stats, "EXACT_RANK_LIMIT", 0)
    same_u, approx = canary_stats.rank_test(green, blue)
    # Then both give the same U and nearly the same p-value
    assert same_u == u and 0.005 < exact < 0.2
    assert approx == pytest.approx(exact, rel=0.05)
    # And ties count one half: all equal is U = m*n/2 and no evidence
    tied_u, tied_p = canary_stats.rank_test([1.0] * 4, [1.0] * 6)
    assert tied_u == 12.0 and tied_p == 1.0


def test_the_quantile_interpolates_like_numpy() -> None:
    assert canary_stats.quantile([3.0, 1.0, 2.0, 4.0], 0.5) == 2.5
    assert canary_stats.quantile([1.0, 2.0, 3.0, 4.0, 5.0], 0.9) == pytest.approx(4.6)
    assert math.isnan(canary_stats.quantile([], 0.5))
