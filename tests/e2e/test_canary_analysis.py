"""The canary judge on the whole stack: green judged against blue on their own target groups' CloudWatch metrics,
which the twin makes from a traffic model; the alarms stay OK throughout (they see the app as a whole)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest

from bluegreen.twin import server
from tests.e2e.conftest import run_cli
from tests.e2e.expect import rolled_back

# A 300 s bake (3 s on the twin) looked at every 60 s; green takes 20 % of the traffic, then all of it.
JUDGED = {"traffic": {"steps": [20, 100], "bake_seconds": 300, "analysis": {"client_errors": True}}}
ROUTERS = [JUDGED, JUDGED | {"seed": {"router": "alb"}}]
HEALTHY = {"error_rate": 0.01, "latency_median_ms": 80, "latency_p99_ms": 400}


@pytest.fixture
def traffic(app) -> Iterator:
    """Model each slot's target group: blue 8 000 requests a minute, green 2 000 (its 20 %); green as told."""

    def model(**green: float) -> None:
        groups = {s: app.seeded.config["slots"][s]["target_group_arns"][0] for s in ("blue", "green")}
        server.set_traffic(app.endpoint, groups["blue"], requests_per_minute=8_000, **HEALTHY)
        server.set_traffic(app.endpoint, groups["green"], **{"requests_per_minute": 2_000, **HEALTHY, **green})

    yield model
    server.clear_traffic(app.endpoint)


@pytest.mark.parametrize("app", ROUTERS, indirect=True, ids=["route53", "alb"])
def test_a_green_with_three_times_the_errors_is_stopped_in_its_first_bake(app, traffic) -> None:
    # Given green's target group answering 3 % of its requests with a 5XX, blue's 1 %, and the app's alarms OK
    traffic(error_rate=0.03)
    app.set_alarm("OK")
    ami = app.publish_ami()
    app.subscribe()
    versions = app.launch_template_versions()

    # When the AMI is released
    execution = app.wait(app.start(ami))

    # Then the judge fails it at 20 % with the evidence, and it rolls back as any failed gate does
    rolled_back(app, execution, "CanaryAnalysisFailedError", ami, versions)
    assert re.search(r"at 20 % on green: Fail: server_errors green 0\.0[23]\d* vs blue 0\.0[01]\d*", execution.cause)
    assert "exact binomial test" in execution.cause
    assert re.search(r"\[alpha [0-9.e-]+, ratio 1\.25, difference 0\.001\]", execution.cause)
    # And it did not wait for the bake's end: the verdict on record is from a look during the bake
    verdicts = app.releases()[0]["canary"]
    assert [(v["percent"], v["outcome"], v["final"]) for v in verdicts] == [(20, "Fail", False)]
    evidence = verdicts[0]
    assert evidence["slots"]["green"]["requests"] > 0 and evidence["slots"]["blue"]["requests"] > 0
    errors = next(c for c in evidence["checks"] if c["name"] == "server_errors")
    assert errors["p_value"] < errors["thresholds"]["alpha"] and errors["ratio"] > 2
    # (a look during the first bake spends a small share of error_alpha 0.005: its interim 20 % of the bake's 80 %)
    assert errors["thresholds"]["alpha"] < 0.005 * 0.8 * 0.2
    # And the people told read the same evidence
    ends = [n for n in app.notifications() if n.get("status") == "rolled_back"]
    assert ends and "server_errors green 0.0" in json.dumps(ends[-1])


@pytest.mark.parametrize("app", ROUTERS, indirect=True, ids=["route53", "alb"])
def test_a_green_no_worse_than_blue_passes_every_step_and_history_shows_the_verdicts(
    app, traffic, capsys, monkeypatch
) -> None:
    # Given green's target group serving a little better than blue's (so that chance alone, about 1 % of A/A steps,
    # cannot fail this test)
    traffic(error_rate=0.008, latency_p99_ms=360)
    app.set_alarm("OK")
    ami = app.publish_ami()

    # When the AMI is released
    execution = app.wait(app.start(ami))

    # Then it goes live, with a Pass at the end of each step's bake on record (100 %: the hard gates alone)
    assert execution.status == "SUCCEEDED", execution.cause
    record = app.releases()[0]
    finals = [(v["percent"], v["outcome"]) for v in record["canary"] if v["final"]]
    assert finals == [(20, "Pass"), (100, "Pass")]
    judged = next(v for v in record["canary"] if v["percent"] == 20)
    assert {c["name"] for c in judged["checks"]} >= {"server_errors", "client_errors", "latency_p99", "sample"}
    assert judged["slots"]["green"]["minutes"] >= 5 and judged["slots"]["green"]["requests"] >= 2_000

    # And `bluegreen history <app> --release <id>` shows them all
    code, out, err = run_cli(
        app.endpoint, capsys, monkeypatch, "history", app.name, "--release", record["release_id"], "--output", "json"
    )
    assert code == 0, err
    assert [v["outcome"] for v in json.loads(out)] == [v["outcome"] for v in record["canary"]]
    code, out, _ = run_cli(app.endpoint, capsys, monkeypatch, "history", app.name, "--release", record["release_id"])
    assert code == 0 and "end of bake" in out and "Pass" in out


@pytest.mark.parametrize(
    "app",
    [{"traffic": {"steps": [20, 100], "bake_seconds": 300, "analysis": {"nodata": "approve", "max_rebakes": 0}}}],
    indirect=True,
    ids=["route53"],
)
def test_too_little_green_traffic_never_promotes_on_its_own_it_asks_for_approval(app, traffic) -> None:
    # Given green's target group serving 50 requests a minute at 20 % (250 per bake, under the 2 000 needed), as fast
    # as blue's and steadier (so its few requests' p99 cannot look slower by chance)
    traffic(requests_per_minute=50, latency_p99_ms=100)
    app.set_alarm("OK")
    app.subscribe()
    arn = app.start(app.publish_ami())

    # When the step's bake ends: Nodata, no bake left, and the app says ask
    app.wait_for_phase("AwaitingApproval", timeout=60)
    status = app.status()
    # Then traffic stays at 20 % while it waits, and people are asked with the reason
    assert status["weights"] == {"blue": 80, "green": 20}
    asked = app.wait_until(lambda: [n for n in app.notifications() if "approve" in n], what="the approval request")
    assert asked[-1]["canary"].startswith("Nodata: sample green")

    # And once approved the release goes on to 100 % (where only the hard gates apply) and succeeds
    app.approve()
    execution = app.wait(arn)
    assert execution.status == "SUCCEEDED", execution.cause
    outcomes = [(v["percent"], v["outcome"]) for v in app.releases()[0]["canary"] if v["final"]]
    assert outcomes == [(20, "Nodata"), (100, "Pass")]


@pytest.mark.parametrize("app", [ROUTERS[1]], indirect=True, ids=["alb"])
def test_a_green_host_the_load_balancer_calls_unhealthy_fails_the_hard_gate(app, traffic) -> None:
    # Given green's target group as good as blue's on errors and latency, but one of its hosts unhealthy throughout
    traffic(unhealthy_hosts=1)
    app.set_alarm("OK")
    app.subscribe()
    ami = app.publish_ami()
    versions = app.launch_template_versions()

    # When the AMI is released
    execution = app.wait(app.start(ami))

    # Then the hard gate fails it at 20 %, once two minutes in a row have an unhealthy host, and it rolls back
    rolled_back(app, execution, "CanaryAnalysisFailedError", ami, versions)
    assert re.search(
        r"at 20 % on green: Fail: unhealthy_hosts green \d+ vs blue - \[minutes in a row 2\]", execution.cause
    )
