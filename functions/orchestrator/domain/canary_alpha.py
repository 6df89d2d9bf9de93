"""How much of each test's alpha one look of the canary judge may spend, so that a step's looks together spend at most
the configured alpha (a healthy green fails a check in at most that share of steps).

A step is looked at many times: `looks` times per bake, and up to `1 + 2 * max_rebakes` bakes (Marginal and Nodata
each bake again). Every look is a chance to fail a healthy green, so each is given a share of the alpha and the shares
add up to at most 1 (Bonferroni: a bound whatever the looks' correlation; their data overlap, so the true rate is
lower). The shares follow group-sequential practice:
- the first bake holds `FIRST_BAKE` of the budget (most steps end there), every later bake an equal part of the rest;
- in a bake, the look at its end holds `1 - INTERIM`; the looks during it share `INTERIM` like an O'Brien-Fleming
  boundary (Lan & DeMets spending t^3: look i of n spends (i^3 - (i-1)^3) / (n-1)^3 of it), so an early look, on
  few minutes, fails only on a very strong signal.
"""

from __future__ import annotations

FIRST_BAKE = 0.8
INTERIM = 0.2


def look_share(look: int, looks: int, bake: int, bakes: int) -> float:
    """The share of each alpha that look `look` (1..looks) of bake `bake` (0 for the first) may spend, when a step has
    at most `bakes` bakes of `looks` looks each."""
    if not (1 <= look <= looks and 0 <= bake < bakes):
        raise ValueError(f"look {look} of {looks}, bake {bake} of {bakes}: out of range")
    bake_share = 1.0 if bakes == 1 else FIRST_BAKE if bake == 0 else (1 - FIRST_BAKE) / (bakes - 1)
    if looks == 1:
        return bake_share
    if look == looks:
        return bake_share * (1 - INTERIM)
    return bake_share * INTERIM * (look**3 - (look - 1) ** 3) / (looks - 1) ** 3
