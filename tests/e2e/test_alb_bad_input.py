"""Bad input for the ALB router: every new config field refused in one line that names it (`bluegreen app put` exits 2,
the stored configuration and the load balancer untouched), and a release whose listener went away changes nothing."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator

import pytest

from bluegreen.cli import commands, ops
from tests.e2e.conftest import App, finish, new_app, run_cli

ALB = {"seed": {"router": "alb", "rules": 1}}


@pytest.fixture(scope="module")
def alb_app(stack) -> Iterator[App]:
    """One ALB app (a listener and a rule) for the cases that must change nothing; I1-I4 are checked at the end."""
    harness = new_app(stack, ALB)
    yield harness
    breaches = finish(harness)
    assert not breaches, f"invariants breached: {breaches}"


def snapshot(app: App) -> dict:
    """What a refused configuration must leave as it was: the stored document, the listener, the rule, the app."""
    elbv2 = app.aws.client("elbv2")
    return {
        "config": app.aws.client("ssm").get_parameter(Name=f"/bluegreen/apps/{app.name}")["Parameter"]["Value"],
        "listener": elbv2.describe_listeners(ListenerArns=[app.seeded.listener_arn])["Listeners"][0]["DefaultActions"],
        "rule": elbv2.describe_rules(RuleArns=app.seeded.rule_arns)["Rules"][0]["Actions"],
        "weights": app.status()["weights"],
        "groups": app.groups(),
        "releases": app.releases(),
        "lock": app.lock(),
        "versions": app.launch_template_versions(),
    }


@pytest.fixture
def bluegreen(alb_app, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch):
    """Run `bluegreen --endpoint-url <twin> ARGS...` in this process, `stdin` as input: (exit code, stderr)."""

    def invoke(*args: str, stdin: str) -> tuple[int, str]:
        code, _, err = run_cli(alb_app.endpoint, capsys, monkeypatch, *args, stdin=stdin)
        return code, err

    return invoke


def document(app: App, change: Callable[[dict, App], None]) -> str:
    config = json.loads(ops.load_config(app.aws, app.name).model_dump_json(exclude_none=True))
    change(config, app)
    return json.dumps(config)


def _set(path: str, value: object) -> Callable[[dict, App], None]:
    def change(config: dict, app: App) -> None:
        *parents, last = path.split(".")
        node = config
        for key in parents:
            node = node.setdefault(key, {})
        if value is None:
            node.pop(last, None)
        else:
            node[last] = value(app) if callable(value) else value

    return change


def _extra_rule(app: App, actions: list[dict], priority: int) -> str:
    return app.aws.client("elbv2").create_rule(
        ListenerArn=app.seeded.listener_arn,
        Priority=priority,
        Conditions=[{"Field": "path-pattern", "PathPatternConfig": {"Values": [f"/p{priority}/*"]}}],
        Actions=actions,
    )["Rules"][0]["RuleArn"]


def _foreign_rule(app: App) -> list[str]:
    elbv2 = app.aws.client("elbv2")
    group = elbv2.create_target_group(Name=f"{app.name}-x", Protocol="HTTP", Port=80, VpcId=app.seeded.vpc_id)
    return [_extra_rule(app, [{"Type": "forward", "TargetGroupArn": group["TargetGroups"][0]["TargetGroupArn"]}], 300)]


def _fixed_response_rule(app: App) -> list[str]:
    return [_extra_rule(app, [{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "503"}}], 301)]


def _sticky_rule(app: App, priority: int = 302) -> list[str]:
    forward = {
        "Type": "forward",
        "ForwardConfig": {
            "TargetGroups": [{"TargetGroupArn": app.seeded.target_groups["blue"], "Weight": 1}],
            "TargetGroupStickinessConfig": {"Enabled": True, "DurationSeconds": 600},
        },
    }
    return [_extra_rule(app, [forward], priority)]


def _group_of_another_load_balancer(app: App) -> list[str]:
    elbv2 = app.aws.client("elbv2")
    other = elbv2.create_load_balancer(Name=f"{app.name}-o", Subnets=app.seeded.subnets)["LoadBalancers"][0]
    group = elbv2.create_target_group(Name=f"{app.name}-o", Protocol="HTTP", Port=80, VpcId=app.seeded.vpc_id)
    arn = group["TargetGroups"][0]["TargetGroupArn"]
    forward = [{"Type": "forward", "TargetGroupArn": arn}]
    elbv2.create_listener(LoadBalancerArn=other["LoadBalancerArn"], Protocol="HTTP", Port=80, DefaultActions=forward)
    return [arn]


HEADER = {"name": "X-Bluegreen-Test", "value": "idle"}


def _test_rule(conditions: list[dict], priority: int) -> Callable[[App], dict]:
    """A test route through a new rule of the listener, with these conditions, forwarding to blue."""

    def make(app: App) -> dict:
        arn = app.aws.client("elbv2").create_rule(
            ListenerArn=app.seeded.listener_arn,
            Priority=priority,
            Conditions=conditions,
            Actions=[{"Type": "forward", "TargetGroupArn": app.seeded.target_groups["blue"]}],
        )["Rules"][0]["RuleArn"]
        return {"rule_arn": arn, "url": "http://x", "header": HEADER}

    return make


def _header(name: str, value: str) -> dict:
    return {"Field": "http-header", "HttpHeaderConfig": {"HttpHeaderName": name, "Values": [value]}}


def _missing_listener(app: App) -> list[str]:
    return [app.seeded.listener_arn[:-6] + "abcdef"]


CONFIGS = [
    # (id, change, what the one line says)
    ("router", _set("router", "nlb"), "router: Input should be 'route53' or 'alb'"),
    ("alb-missing", _set("alb", None), "alb: is required by the alb router: name the listeners or rules"),
    ("alb-unknown-field", _set("alb.listeners", []), "alb.listeners: is not a known field"),
    ("listener-arn", _set("alb.listener_arns", ["shop-listener"]), "alb.listener_arns: 'shop-listener' is not an Application Load Balancer listener ARN"),
    ("rule-arn", _set("alb.rule_arns", lambda app: [app.seeded.listener_arn]), "alb.rule_arns: "),
    ("nothing-named", _set("alb", {"listener_arns": [], "rule_arns": []}), "alb: name at least one listener (alb.listener_arns) or rule"),
    ("sticky-sessions", _set("alb.sticky_sessions", "always"), "alb.sticky_sessions: Input should be 'refuse' or 'accept'"),
    ("test-route-both", _set("alb.test_route", lambda app: {"listener_arn": app.seeded.listener_arn, "rule_arn": app.seeded.rule_arns[0], "url": "http://x"}), "alb.test_route: name either listener_arn"),
    ("test-route-url", _set("alb.test_route", lambda app: {"rule_arn": app.seeded.rule_arns[0]}), "alb.test_route.url: is required"),
    ("test-route-header", _set("alb.test_route", lambda app: {"rule_arn": app.seeded.rule_arns[0][:-3] + "abc", "url": "http://x", "header": {"name": "X Test", "value": "1"}}), "alb.test_route.header.name: 'X Test' is not an HTTP header name"),
    ("test-route-carries-traffic", _set("alb.test_route", lambda app: {"rule_arn": app.seeded.rule_arns[0], "url": "http://x", "header": HEADER}), "alb.test_route.rule_arn: is also in alb.rule_arns"),
    ("test-rule-without-header", _set("alb.test_route", lambda app: {"rule_arn": app.seeded.rule_arns[0][:-3] + "abc", "url": "http://x"}), "alb.test_route: rule_arn needs header"),
    ("dns-with-alb", _set("dns", {"hosted_zone_id": "Z1", "record_name": "www.example.com"}), "dns: the alb router weights target groups, not records: remove dns"),
    ("alias-with-alb", _set("slots.blue.alias", {"dns_name": "x.elb.amazonaws.com", "hosted_zone_id": "Z"}), "slots.blue.alias: the alb router weights target groups, not records"),
    ("no-test-url", _set("slots.green.test_base_url", None), "slots.green.test_base_url: is required unless alb.test_route"),
    ("unpaired-groups", _set("slots.green.target_group_arns", lambda app: [app.seeded.target_groups["green"]] * 2), "slots.green.target_group_arns: blue has 1 target groups and green 2"),
    # checked against AWS by `app put` (and again by every release)
    ("listener-missing", _set("alb.listener_arns", _missing_listener), "alb.listener_arns: arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/"),
    ("rule-forwards-elsewhere", _set("alb.rule_arns", _foreign_rule), "also forwards to arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/"),
    ("rule-without-forward", _set("alb.rule_arns", _fixed_response_rule), "has no forward action (its actions: fixed-response)"),
    ("stickiness-not-accepted", _set("alb.rule_arns", _sticky_rule), "alb.sticky_sessions: rule app/"),
    ("test-rule-other-header", _set("alb.test_route", _test_rule([_header("X-Other", "idle")], 2)), "matches x-other idle, not exactly the header X-Bluegreen-Test: idle"),
    ("test-rule-other-value", _set("alb.test_route", _test_rule([_header("X-Bluegreen-Test", "live")], 3)), "not exactly the header X-Bluegreen-Test: idle"),
    ("test-rule-more-conditions", _set("alb.test_route", _test_rule([_header("X-Bluegreen-Test", "idle"), {"Field": "path-pattern", "PathPatternConfig": {"Values": ["/x/*"]}}], 4)), "not exactly the header X-Bluegreen-Test: idle"),
    ("test-rule-below-the-apps", _set("alb.test_route", _test_rule([_header("X-Bluegreen-Test", "idle")], 60)), "has priority 60, not above the app's rule"),
    ("group-of-another-alb", _set("slots.green.target_group_arns", _group_of_another_load_balancer), "slots.green.target_group_arns: "),
]  # fmt: skip


@pytest.mark.parametrize(("change", "says"), [c[1:] for c in CONFIGS], ids=[c[0] for c in CONFIGS])
def test_app_put_refuses_a_bad_alb_field_in_one_line(alb_app, bluegreen, change, says: str) -> None:
    # Given the stored configuration, and a document with one ALB field wrong
    text = document(alb_app, change)
    before = snapshot(alb_app)

    # When it is put with `bluegreen app put APP -`
    code, err = bluegreen("app", "put", alb_app.name, "-", stdin=text)

    # Then the CLI exits 2 with one line naming the field, and nothing changed: not the stored configuration, not the
    # load balancer's listener or rule, not the app
    assert code == 2, err
    line = err.strip()
    assert "\n" not in line and line.startswith("error: ") and "Traceback" not in line, err
    assert says in line, line
    assert snapshot(alb_app) == before


def test_app_put_reports_accepted_stickiness(alb_app, bluegreen, capsys) -> None:
    # Given a configuration that names a sticky rule, and accepts stickiness
    text = document(alb_app, lambda c, app: c["alb"].update(rule_arns=_sticky_rule(app, 303), sticky_sessions="accept"))
    good = alb_app.aws.client("ssm").get_parameter(Name=f"/bluegreen/apps/{alb_app.name}")["Parameter"]["Value"]

    # When it is put
    capsys.readouterr()
    monkey = pytest.MonkeyPatch()
    monkey.setattr(sys, "argv", ["bluegreen", "--endpoint-url", alb_app.endpoint, "app", "put", alb_app.name, "-"])
    monkey.setattr(sys, "stdin", type("Stdin", (), {"read": lambda self: text})())
    try:
        with pytest.raises(SystemExit) as done:
            commands.main()
    finally:
        monkey.undo()

    # Then it is stored, and the stickiness is reported
    out = capsys.readouterr().out
    assert done.value.code == 0
    assert "accepted (alb.sticky_sessions): rule app/" in out and "target group stickiness for 600 s" in out
    # (the shared app's own configuration is put back for the other cases)
    alb_app.aws.client("ssm").put_parameter(
        Name=f"/bluegreen/apps/{alb_app.name}", Value=good, Type="String", Overwrite=True
    )


@pytest.mark.parametrize("app", [ALB], indirect=True, ids=["alb"])
def test_a_release_whose_listener_went_away_is_refused_changing_nothing(app) -> None:
    # Given a configuration stored behind the CLI's back, naming a listener that does not exist (any more)
    name = f"/bluegreen/apps/{app.name}"
    before = snapshot(app)
    bad = json.loads(before["config"])
    bad["alb"]["listener_arns"] = _missing_listener(app)
    app.aws.client("ssm").put_parameter(Name=name, Value=json.dumps(bad), Type="String", Overwrite=True)
    ami = app.publish_ami()

    # When a release is started
    execution = app.release(ami)

    # Then Prepare refuses it in one line naming the field, and nothing was changed
    app.aws.client("ssm").put_parameter(Name=name, Value=before["config"], Type="String", Overwrite=True)
    assert (execution.status, execution.error) == ("FAILED", "NotFoundError"), execution.cause
    assert execution.cause.startswith("alb.listener_arns: ") and "does not exist" in execution.cause
    assert "\n" not in execution.cause
    assert snapshot(app) == before
