"""How the canary judge spends each alpha over a step's looks and bakes (canary_alpha)."""

from __future__ import annotations

import pytest
from orchestrator.domain.canary_alpha import look_share


@pytest.mark.parametrize(("looks", "bakes"), [(1, 1), (5, 1), (5, 5), (3, 3), (24, 11), (1, 5)])
def test_a_steps_looks_spend_the_whole_alpha_and_no_more(looks: int, bakes: int) -> None:
    shares = [look_share(i, looks, b, bakes) for b in range(bakes) for i in range(1, looks + 1)]
    assert sum(shares) == pytest.approx(1.0) and min(shares) > 0


def test_the_default_judges_shares_are_the_documented_ones() -> None:
    # Given the default judge: a look a minute in a 300 s bake, up to 2 more bakes on Marginal and 2 on Nodata
    looks, bakes = 5, 5
    first = [look_share(i, looks, 0, bakes) for i in range(1, 6)]
    # Then the first bake's end spends 0.8 x 0.8 of each alpha, its looks during the bake 0.8 x 0.2 as t^3 does:
    # 1/64, 7/64, 19/64, 37/64 of that
    assert first == pytest.approx([0.16 / 64, 0.16 * 7 / 64, 0.16 * 19 / 64, 0.16 * 37 / 64, 0.64])
    # And each later bake holds a quarter of the remaining 0.2, its end 0.8 of that
    assert look_share(5, looks, 3, bakes) == pytest.approx(0.04)
    # And an early look fails only on a far stronger signal than the bake's end
    assert first[0] < first[1] < first[2] < first[3] < first[4] / 5


def test_a_look_out_of_range_is_refused() -> None:
    with pytest.raises(ValueError, match="out of range"):
        look_share(6, 5, 0, 5)
    with pytest.raises(ValueError, match="out of range"):
        look_share(1, 5, 5, 5)
