"""The ALB router end to end on the twin: an app whose traffic is split by the forward action of its listener (and
rules) on one Application Load Balancer, with every guarantee of the Route 53 router. The `app` fixture checks I1-I4
on every listener and rule throughout."""

from __future__ import annotations

import contextlib
from datetime import datetime

import pytest

from bluegreen.cli import ops
from bluegreen.twin import server
from tests.e2e.conftest import WAIT_SCALE
from tests.e2e.expect import rolled_back
from tests.e2e.test_quarantine import fleet, put_finding, quarantine_for, swapped

ALB = {"seed": {"router": "alb"}}
TWO_RULES = {"seed": {"router": "alb", "rules": 2}}
BLUE, GREEN = {"blue": 100, "green": 0}, {"blue": 0, "green": 100}


def forwards(app) -> dict[str, dict[str, int]]:
    """Weight per slot of each listener's and rule's forward action, as AWS describes it (the router's own reading
    is not trusted here)."""
    elbv2 = app.aws.client("elbv2")
    described = {"listener": elbv2.describe_listeners(ListenerArns=[app.seeded.listener_arn])["Listeners"][0]}
    actions = {"listener": described["listener"]["DefaultActions"]}
    if app.seeded.rule_arns:
        rules = {r["RuleArn"]: r for r in elbv2.describe_rules(RuleArns=app.seeded.rule_arns)["Rules"]}
        actions |= {f"rule{n}": rules[arn]["Actions"] for n, arn in enumerate(app.seeded.rule_arns, 1)}
    slot_of = {arn: slot for slot, arn in app.seeded.target_groups.items()}
    found = {}
    for where, acts in actions.items():
        forward = next(a for a in acts if a["Type"] == "forward")
        weights = {slot_of[g["TargetGroupArn"]]: g["Weight"] for g in forward["ForwardConfig"]["TargetGroups"]}
        total = sum(weights.values())
        found[where] = {slot: round(100 * weights.get(slot, 0) / total) for slot in ("blue", "green")}
    return found


def everywhere(app, weights: dict[str, int]) -> bool:
    return all(w == weights for w in forwards(app).values())


def live_parameter(app) -> str:
    return app.aws.client("ssm").get_parameter(Name=f"/bluegreen/live/{app.name}")["Parameter"]["Value"]


# --- a release -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "app", [ALB | {"traffic": {"steps": [50, 100], "bake_seconds": 0}}], indirect=True, ids=["alb"]
)
def test_an_ami_event_releases_an_alb_app_all_the_way(app) -> None:
    # Given an ALB app whose listener forwards to blue's target group alone (not weighted yet), and no bake at all
    assert app.seeded.config["router"] == "alb"
    listener = app.aws.client("elbv2").describe_listeners(ListenerArns=[app.seeded.listener_arn])["Listeners"][0]
    assert listener["DefaultActions"][0]["TargetGroupArn"] == app.seeded.target_groups["blue"]

    # When a new AMI tagged for the app is published, and EC2 announces it
    ami = app.publish_ami(tagged=True)
    execution = app.wait(app.execution_for(ami))

    # Then the release succeeds: the listener is a weighted forward with all of it on green, the old fleet gone
    assert execution.status == "SUCCEEDED", execution.cause
    release = execution.output["release"]
    assert forwards(app) == {"listener": GREEN}
    status = app.status()
    assert (status["router"], status["weights"], status["live"]["ami_id"]) == ("alb", GREEN, ami)
    assert app.groups() == [release["green_asg"]]
    # And the live release is published in SSM (an ALB app has no TXT record)
    assert f"release={release['release_id']} ami={ami} slot=green" in live_parameter(app)
    # And each step was in effect at once (no DNS sync) and baked as configured: no TTL floor
    history = app.aws.client("stepfunctions").get_execution_history(executionArn=execution.arn, maxResults=1000)
    entered = [e["stateEnteredEventDetails"]["name"] for e in history["events"] if "stateEnteredEventDetails" in e]
    assert "CheckDnsChange" not in entered and entered.count("ShiftTraffic") == 2
    bakes = app.state_durations(execution.arn, "WaitForBake")
    assert len(bakes) == 2 and all(seconds < 60 * WAIT_SCALE for seconds in bakes), bakes


@pytest.mark.parametrize("app", [TWO_RULES], indirect=True, ids=["listener+2-rules"])
def test_a_listener_with_two_rules_moves_together_step_by_step(app) -> None:
    # Given an ALB app whose listener and two rules forward its traffic, all to blue
    assert forwards(app) == {"listener": {"blue": 100, "green": 0}, "rule1": BLUE, "rule2": BLUE}
    ami = app.publish_ami()

    # When it is released in steps of 50 and 100 %
    arn = app.start(ami)

    # Then during the first step's bake every listener and rule holds the same split
    app.wait_until(lambda: everywhere(app, {"blue": 50, "green": 50}), what="50 % on the listener and both rules")
    # And at the end all of them send everything to green
    execution = app.wait(arn)
    assert execution.status == "SUCCEEDED", execution.cause
    assert forwards(app) == {where: GREEN for where in ("listener", "rule1", "rule2")}
    # And `bluegreen status` shows each of them
    routes = app.status()["routes"]
    assert len(routes) == 3 and all(weights == GREEN for weights in routes.values()), routes


@pytest.mark.parametrize("app", [ALB], indirect=True, ids=["alb"])
def test_two_releases_alternate_slots_on_one_load_balancer(app) -> None:
    # When two AMIs are released one after the other
    first, second = app.publish_ami(), app.publish_ami()
    assert app.release(first).status == "SUCCEEDED"
    assert app.release(second).status == "SUCCEEDED"
    # Then the second went back to blue, through the same listener
    assert forwards(app) == {"listener": BLUE}
    assert app.status()["live"]["slot"] == "blue"


@pytest.mark.parametrize("app", [ALB], indirect=True, ids=["alb"])
def test_a_dry_run_of_an_alb_app_plans_the_adoption_and_changes_nothing(app) -> None:
    # When a dry run is asked for an app whose listener is not weighted yet
    execution = app.release(app.publish_ami(), dry_run=True)
    # Then the plan says the listener becomes weighted once the lock is taken, and nothing was changed
    release = execution.output["release"]
    assert (release["outcome"], release["config"]["router"]) == ("DryRun", "alb")
    adjusted = {i["what"]: i["detail"] for i in release["clone_plan"]["adjusted"]}
    assert "becomes a weighted forward (blue at 100" in adjusted["Forward actions"]
    listener = app.aws.client("elbv2").describe_listeners(ListenerArns=[app.seeded.listener_arn])["Listeners"][0]
    assert listener["DefaultActions"][0]["ForwardConfig"]["TargetGroups"] == [
        {"TargetGroupArn": app.seeded.target_groups["blue"], "Weight": 1}
    ]


# --- the gates and the operator ----------------------------------------------------------------------------------


@pytest.mark.parametrize("app", [TWO_RULES], indirect=True, ids=["listener+2-rules"])
def test_an_alarm_during_a_bake_rolls_every_listener_and_rule_back_at_once(app) -> None:
    # Given a release baking at 50 % on green through a listener and two rules
    ami = app.publish_ami()
    app.subscribe()
    versions = app.launch_template_versions()
    arn = app.start(ami)
    app.wait_until(lambda: app.weights().get("green") == 50, what="50 %")

    # When the app's alarm fires
    app.set_alarm("ALARM")
    execution = app.wait(arn)

    # Then the gate fails the release and every listener and rule is back on blue (green drained before deletion: I2)
    rolled_back(app, execution, "AlarmTriggeredError", ami, versions)
    assert "at 50 % on green" in execution.cause
    assert forwards(app) == {where: BLUE for where in ("listener", "rule1", "rule2")}


@pytest.mark.parametrize("app", [ALB], indirect=True, ids=["alb"])
def test_an_abort_while_baking_rolls_an_alb_release_back(app) -> None:
    # Given an ALB release baking on its first step
    ami = app.publish_ami()
    app.subscribe()
    versions = app.launch_template_versions()
    arn = app.start(ami)
    app.wait_for_phase("Bake")

    # When the operator aborts it
    release_id = ops.abort(app.aws, app.name, "wrong build")
    execution = app.wait(arn)

    # Then it rolls back with ReleaseAbortedError, the listener on blue alone
    rolled_back(app, execution, "ReleaseAbortedError", ami, versions)
    assert f"release {release_id} of {app.name} aborted: wrong build" in execution.cause
    assert forwards(app) == {"listener": BLUE}


@pytest.mark.parametrize("app", [TWO_RULES | {"keep_previous_seconds": 3_000}], indirect=True, ids=["30s"])
def test_a_rollback_in_the_keep_window_flips_every_listener_and_rule_at_once(app) -> None:
    # Given a release with all traffic on green, the old fleet whole in its keep window
    ami = app.publish_ami()
    app.subscribe()
    versions = app.launch_template_versions()
    arn = app.start(ami)
    lock = app.wait_for_phase("KeepWindow")
    assert everywhere(app, GREEN)

    # When the operator rolls it back
    ops.rollback(app.aws, app.name)

    # Then every listener and rule is back on blue when the command returns: an ALB change is in effect at once
    assert forwards(app) == {where: BLUE for where in ("listener", "rule1", "rule2")}
    with contextlib.suppress(ops.CliError):  # a second press changes nothing
        ops.rollback(app.aws, app.name)
    execution = app.wait(arn)
    rolled_back(app, execution, "OperatorRollbackError", ami, versions)
    assert execution.stopped < datetime.fromisoformat(lock["keep_until"])


@pytest.mark.parametrize("app", [ALB], indirect=True, ids=["alb"])
def test_a_guardduty_finding_swaps_an_alb_app_onto_fresh_instances(app) -> None:
    # Given an ALB app on blue, and GuardDuty reporting one of its instances
    app.subscribe()
    victim = fleet(app)[0]
    put_finding(app, victim)

    # When the quarantine runs to its end
    execution = app.wait(quarantine_for(app, victim), timeout=120)

    # Then the instance is isolated (I5) and the fleet swapped onto fresh instances in green, through the listener
    assert execution.status == "SUCCEEDED", execution.cause
    swapped(app, execution.output["case"], [victim])
    assert forwards(app) == {"listener": GREEN}


# --- a change that fails half way --------------------------------------------------------------------------------


@pytest.mark.parametrize("app", [TWO_RULES], indirect=True, ids=["listener+2-rules"])
def test_a_rule_that_refuses_the_first_step_is_put_back_and_the_release_rolls_back(app) -> None:
    # Given a release past its adoption (the listener and rules are weighted, all on blue), waiting for green
    ami = app.publish_ami()
    app.subscribe()
    versions = app.launch_template_versions()
    app.set_slot_health("green", "initial")
    arn = app.start(ami)
    app.wait_for_phase("WaitHealthy")
    assert everywhere(app, BLUE)

    # When the second rule will refuse its next change, and green becomes healthy
    second = app.seeded.rule_arns[1]
    server.inject_api_fault(app.endpoint, "ModifyRule", "InvalidConfigurationRequest", resource=second)
    app.clear_slot_health()
    execution = app.wait(arn)

    # Then the first step failed half way: what it had changed (the listener, the first rule) was put back first
    rolled_back(app, execution, "WeightChangeFailedError", ami, versions)
    assert "InvalidConfigurationRequest" in execution.cause and "put back: listener" in execution.cause
    assert forwards(app) == {where: BLUE for where in ("listener", "rule1", "rule2")}
    assert server.api_faults(app.endpoint) == []
    # And green, which served through the listener for a moment, drained before it was deleted (I2, by the fixture)
    assert app.state_durations(execution.arn, "WaitForGreenDrain")[0] >= 30 * WAIT_SCALE


# A bake long enough (6 s on the twin) that the alarm, not the next step, is what the refusals meet.
LONG_BAKE_AT_HALF = TWO_RULES | {"traffic": {"steps": [50, 100], "bake_seconds": 600}}


@pytest.mark.parametrize("app", [LONG_BAKE_AT_HALF], indirect=True, ids=["listener+2-rules"])
def test_a_rule_that_refuses_the_way_back_is_retried_until_the_rollback_is_done(app) -> None:
    # Given a release baking at 50 % through a listener and two rules
    ami = app.publish_ami()
    app.subscribe()
    versions = app.launch_template_versions()
    arn = app.start(ami)
    # (the lock names a step's weights before they are set: wait for the load balancer itself)
    app.wait_until(lambda: everywhere(app, {"blue": 50, "green": 50}), what="50 % everywhere")

    # When the second rule refuses its next two changes, and the alarm fires
    second = app.seeded.rule_arns[1]
    server.inject_api_fault(app.endpoint, "ModifyRule", "InvalidConfigurationRequest", resource=second, times=2)
    app.set_alarm("ALARM")
    execution = app.wait(arn)

    # Then the rollback never stopped half way: it retried until every listener and rule was back on blue
    rolled_back(app, execution, "AlarmTriggeredError", ami, versions)
    assert forwards(app) == {where: BLUE for where in ("listener", "rule1", "rule2")}
    assert server.api_faults(app.endpoint) == []


# --- smoke tests through the same load balancer ------------------------------------------------------------------


@pytest.mark.parametrize(
    "app",
    [{"seed": {"router": "alb", "test_route": "listener"}}, {"seed": {"router": "alb", "test_route": "header"}}],
    indirect=True,
    ids=["test-listener", "header-rule"],
)
def test_a_broken_green_is_caught_through_the_test_route_before_any_user_reaches_it(app) -> None:
    # Given an ALB app whose smoke tests go through its own load balancer (a test listener on port 8080, or a rule
    # matching X-Bluegreen-Test), which forwards to blue today; and a broken build
    test_route = app.seeded.config["alb"]["test_route"]
    assert "test_base_url" not in app.seeded.config["slots"]["blue"]
    ami = app.publish_ami(broken=True)
    app.subscribe()
    versions = app.launch_template_versions()

    # When it is released
    execution = app.release(ami)

    # Then the smoke test reached green through the test route (pointed at green alone) and failed there
    rolled_back(app, execution, "SmokeTestFailedError", ami, versions)
    assert "status 500" in execution.cause and test_route["url"] in execution.cause
    elbv2 = app.aws.client("elbv2")
    if "listener_arn" in test_route:
        actions = elbv2.describe_listeners(ListenerArns=[test_route["listener_arn"]])["Listeners"][0]["DefaultActions"]
    else:
        actions = elbv2.describe_rules(RuleArns=[test_route["rule_arn"]])["Rules"][0]["Actions"]
    groups = actions[0]["ForwardConfig"]["TargetGroups"]
    assert [g["TargetGroupArn"] for g in groups] == [app.seeded.target_groups["green"]]
    # And no user was sent there: the listener stayed on blue throughout (I1 by the fixture)
    assert forwards(app) == {"listener": BLUE}


@pytest.mark.parametrize("app", [{"seed": {"router": "alb", "test_route": "header"}}], indirect=True, ids=["header"])
def test_a_good_green_passes_through_the_header_rule_and_goes_live(app) -> None:
    # When a good build is released through an app whose smoke tests use a header rule
    execution = app.release(app.publish_ami())
    # Then every smoke request was answered by green, the idle slot (the load balancer stand-in records it)
    assert execution.status == "SUCCEEDED", execution.cause
    assert app.servers["alb"].answered and set(app.servers["alb"].answered) == {"green"}
    # And it goes live; the header rule now forwards to green, the live slot, until the next release
    assert forwards(app) == {"listener": GREEN}
    rule = app.aws.client("elbv2").describe_rules(RuleArns=[app.seeded.test_route_arn])["Rules"][0]
    assert [g["TargetGroupArn"] for g in rule["Actions"][0]["ForwardConfig"]["TargetGroups"]] == [
        app.seeded.target_groups["green"]
    ]


def _other_header(app) -> None:
    """Someone changes the test rule's header behind bluegreen's back: the smoke requests no longer match it."""
    condition = {"Field": "http-header", "HttpHeaderConfig": {"HttpHeaderName": "X-Other", "Values": ["idle"]}}
    app.aws.client("elbv2").modify_rule(RuleArn=app.seeded.test_route_arn, Conditions=[condition])


def _to_live(app) -> None:
    """Someone points the test rule back at the live slot."""
    forward = [{"Type": "forward", "TargetGroupArn": app.seeded.target_groups["blue"]}]
    app.aws.client("elbv2").modify_rule(RuleArn=app.seeded.test_route_arn, Actions=forward)


@pytest.mark.parametrize("app", [{"seed": {"router": "alb", "test_route": "header"}}], indirect=True, ids=["header"])
@pytest.mark.parametrize(
    ("change", "says"),
    [(_other_header, "not exactly the header X-Bluegreen-Test: idle"), (_to_live, "not only to the idle slot (green)")],
    ids=["header-changed", "rule-to-live"],
)
def test_a_test_route_that_no_longer_leads_to_green_fails_the_smoke_step_before_traffic_moves(app, change, says):
    # Given a release of a good build waiting for green to be healthy, and its test rule changed meanwhile, so that the
    # smoke requests would be answered by the live fleet and pass
    app.set_slot_health("green", "unhealthy")
    app.subscribe()
    ami = app.publish_ami()
    versions = app.launch_template_versions()
    arn = app.start(ami)
    app.wait_for_phase("WaitHealthy")
    change(app)

    # When green becomes healthy and the smoke step runs
    app.clear_slot_health()
    execution = app.wait(arn)

    # Then it fails SmokeTestFailedError saying why, having sent no request, and rolls back: no user reached green
    rolled_back(app, execution, "SmokeTestFailedError", ami, versions)
    assert says in execution.cause and "no smoke request was sent" in execution.cause
    assert app.servers["alb"].answered == []
    assert forwards(app) == {"listener": BLUE}
