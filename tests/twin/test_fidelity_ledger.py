"""The fidelity ledger is complete: every twin behaviour has a row in docs/twin-fidelity.md and a fidelity test."""

from __future__ import annotations

from pathlib import Path

import pytest

from bluegreen.twin import behaviours

REPO = Path(__file__).resolve().parents[2]
LEDGER = (REPO / "docs" / "twin-fidelity.md").read_text()
FIDELITY_TESTS = "\n".join(p.read_text() for p in (REPO / "tests" / "twin").rglob("test_*.py"))
# Controls that replace nothing of moto's: what they stand for is shown by the tests that use them.
CONTROLS_ONLY: set[str] = set()


@pytest.mark.parametrize("module", behaviours.BEHAVIOURS, ids=lambda m: m.__name__.rsplit(".", 1)[-1])
def test_every_behaviour_is_in_the_ledger_with_its_aws_source(module) -> None:
    name = module.__name__.rsplit(".", 1)[-1]
    rows = [line for line in LEDGER.splitlines() if line.startswith(f"| `{name}` |")]
    assert len(rows) == 1, f"docs/twin-fidelity.md needs one row for {name}"
    assert rows[0].rstrip("| ").split("|")[-1].strip(), f"the row of {name} names no AWS source"
    assert module.__doc__ and "AWS" in module.__doc__, f"{name}'s docstring must say what real AWS does"


@pytest.mark.parametrize(
    "name", [n for n in (m.__name__.rsplit(".", 1)[-1] for m in behaviours.BEHAVIOURS) if n not in CONTROLS_ONLY]
)
def test_every_behaviour_has_a_test_that_fails_on_plain_moto(name: str) -> None:
    assert f"behaviour({name})" in FIDELITY_TESTS, f"no test in tests/twin is marked behaviour({name})"
