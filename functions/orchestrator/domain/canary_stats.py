"""The canary judge's statistics, in pure Python (no scipy in the Lambda: importing it costs most of a second).

- `rate_test`: one-sided exact test that green's error rate exceeds blue's, on the pooled errors. Given the total
  errors of both slots, under equal rates green's share of them is binomial with green's share of the requests (the
  conditional test of two Poisson rates, Przyborowski & Wilenski 1940); exact for the small counts of a canary.
- `rank_test`: one-sided Mann-Whitney U test that green's per-minute values are larger than blue's; exact
  distribution when there are no ties and the series are short, normal approximation (tie and continuity corrected)
  otherwise.
"""

from __future__ import annotations

import math

EXACT_RANK_LIMIT = 50  # exact U distribution while the shorter series has at most this many points (and no ties)


def normal_sf(z: float) -> float:
    """P(Z > z) for a standard normal Z."""
    return 0.5 * math.erfc(z / math.sqrt(2.0))


def _beta_fraction(a: float, b: float, x: float) -> float:
    """Continued fraction of the regularized incomplete beta function (modified Lentz; Numerical Recipes 6.4)."""
    tiny, eps = 1e-300, 1e-15
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 10_000):
        m2 = 2 * m
        for numerator in (
            m * (b - m) * x / ((a + m2 - 1) * (a + m2)),
            -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1)),
        ):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + numerator / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1.0) < eps:
            break
    return h


def incomplete_beta(a: float, b: float, x: float) -> float:
    """The regularized incomplete beta function I_x(a, b)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _beta_fraction(a, b, x) / a
    return 1.0 - math.exp(log_front) * _beta_fraction(b, a, 1.0 - x) / b


def binomial_sf(k: int, n: int, p: float) -> float:
    """P(X >= k) for X ~ Binomial(n, p)."""
    if k <= 0:
        return 1.0
    if k > n:
        return 0.0
    return incomplete_beta(k, n - k + 1, p)


def rate_test(green_events: int, green_requests: int, blue_events: int, blue_requests: int) -> float:
    """p-value of H1: green's event rate is higher than blue's (1.0 when either slot has no requests)."""
    if green_requests <= 0 or blue_requests <= 0:
        return 1.0
    share = green_requests / (green_requests + blue_requests)
    return binomial_sf(green_events, green_events + blue_events, share)


def rank_sum_u(green: list[float], blue: list[float]) -> float:
    """Mann-Whitney U of green: the pairs (g, b) with g > b, ties counting one half."""
    return sum(1.0 if g > b else 0.5 if g == b else 0.0 for g in green for b in blue)


def u_counts(m: int, n: int) -> list[int]:
    """How many of the C(m+n, m) orderings give U = 0, 1, ..., m*n: the coefficients of the Gaussian binomial
    [m+n choose m]_q, built as the product over i of (1 - q^(n+i)) / (1 - q^i)."""
    size = m * n + 1
    poly = [1] + [0] * (size - 1)
    for i in range(1, m + 1):
        shift = n + i
        for k in range(size - 1, shift - 1, -1):  # times (1 - q^(n+i))
            poly[k] -= poly[k - shift]
        for k in range(i, size):  # divided by (1 - q^i): exact, the quotient is a polynomial
            poly[k] += poly[k - i]
    return poly


def rank_test(green: list[float], blue: list[float]) -> tuple[float, float]:
    """(U, p-value) of H1: green's values tend to be larger than blue's; (nan, 1.0) when a series is empty."""
    m, n = len(green), len(blue)
    if m == 0 or n == 0:
        return math.nan, 1.0
    u = rank_sum_u(green, blue)
    values = [*green, *blue]
    tied = len(set(values)) < len(values)
    if not tied and min(m, n) <= EXACT_RANK_LIMIT:
        counts = u_counts(m, n)
        return u, sum(counts[math.ceil(u) :]) / math.comb(m + n, m)
    # Normal approximation with the tie correction of the variance and a continuity correction.
    groups: dict[float, int] = {}
    for v in values:
        groups[v] = groups.get(v, 0) + 1
    total = m + n
    ties = sum(t**3 - t for t in groups.values())
    variance = m * n / 12.0 * ((total + 1) - ties / (total * (total - 1)))
    if variance <= 0:
        return u, 1.0
    z = (u - m * n / 2.0 - 0.5) / math.sqrt(variance)
    return u, normal_sf(z)


def quantile(values: list[float], q: float) -> float:
    """The q-quantile by linear interpolation between order statistics (numpy's default); nan when empty."""
    if not values:
        return math.nan
    ordered = sorted(values)
    position = q * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)
