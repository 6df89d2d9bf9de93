"""The canary judge's statistics, in pure Python (no scipy in the Lambda: importing it costs most of a second).

- `rate_test`: one-sided exact test that green's error rate exceeds blue's, on the pooled errors. Given the total
  errors of both slots, under equal rates green's share of them is binomial with green's share of the requests (the
  conditional test of two Poisson rates, Przyborowski & Wilenski 1940); exact for the small counts of a canary.
  The judge applies it to errors, and to latency as the requests slower than a bound (a like-with-like comparison:
  a per-minute percentile of green's few requests is much noisier than blue's, and a test on the two per-minute
  series reads that wider spread as a regression).
"""

from __future__ import annotations

import math


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


def quantile(values: list[float], q: float) -> float:
    """The q-quantile by linear interpolation between order statistics (numpy's default); nan when empty."""
    if not values:
        return math.nan
    ordered = sorted(values)
    position = q * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)
