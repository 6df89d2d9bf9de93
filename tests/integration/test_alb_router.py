"""The ALB router against moto (with the twin's ELB behaviours): adoption in one call per listener and rule, weights
set in a fixed order, a refusal half way put back, and every configuration it must refuse before changing anything."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from orchestrator.adapters import aws as adapter_aws
from orchestrator.adapters import elbv2
from orchestrator.config import AppConfig, parse_config
from orchestrator.domain import routers
from orchestrator.errors import (
    ForwardActionConflictError,
    NotFoundError,
    TrafficSplitError,
    WeightChangeFailedError,
)

from bluegreen.aws import Aws
from bluegreen.demo.seed import SeededApp, seed_app

BLUE_ONLY = {"blue": 100, "green": 0}


@dataclass
class Elbv2Spy:
    """The elbv2 client, recording each Modify call and refusing those a test asks it to."""

    api: Any
    calls: list[tuple[str, str]] = field(default_factory=list)
    refuse: dict[str, str] = field(default_factory=dict)  # ARN -> error code

    def __getattr__(self, name: str) -> Any:
        return getattr(self.api, name)

    def _modify(self, operation: str, arn: str, call: Any, **kwargs: Any) -> Any:
        self.calls.append((operation, arn))
        if arn in self.refuse:
            error = {"Error": {"Code": self.refuse[arn], "Message": "refused by the test"}}
            raise ClientError(error, operation)
        return call(**kwargs)

    def modify_listener(self, **kwargs: Any) -> Any:
        return self._modify("ModifyListener", kwargs["ListenerArn"], self.api.modify_listener, **kwargs)

    def modify_rule(self, **kwargs: Any) -> Any:
        return self._modify("ModifyRule", kwargs["RuleArn"], self.api.modify_rule, **kwargs)


@dataclass
class AlbWorld:
    aws: Aws
    seeded: SeededApp
    spy: Elbv2Spy

    def config(self, **alb: Any) -> AppConfig:
        document = json.loads(json.dumps(self.seeded.config))
        document["alb"].update(alb)
        return parse_config(json.dumps(document), self.seeded.app)

    def router(self, config: AppConfig | None = None) -> routers.AlbRouter:
        clients = lambda service: self.spy if service == "elbv2" else self.aws.client(service)  # noqa: E731
        router = routers.of(config or self.config(), clients)
        assert isinstance(router, routers.AlbRouter)
        return router

    def forwards(self) -> dict[str, dict[str, int]]:
        """Weight per target group name of each listener's and rule's forward action, as AWS describes it."""
        elbv2 = self.aws.client("elbv2")
        found = {"listener": elbv2.describe_listeners(ListenerArns=[self.seeded.listener_arn])["Listeners"][0]}
        described = elbv2.describe_rules(RuleArns=self.seeded.rule_arns)["Rules"] if self.seeded.rule_arns else []
        actions = {"listener": found["listener"]["DefaultActions"]}
        actions |= {f"rule{n}": r["Actions"] for n, r in enumerate(described, 1)}
        names = {arn: slot for slot, arn in self.seeded.target_groups.items()}
        out = {}
        for where, acts in actions.items():
            forward = next(a for a in acts if a["Type"] == "forward")
            out[where] = {names[g["TargetGroupArn"]]: g["Weight"] for g in forward["ForwardConfig"]["TargetGroups"]}
        return out


@pytest.fixture
def alb() -> Iterator[AlbWorld]:
    with mock_aws():
        adapter_aws.client.cache_clear()
        aws = Aws(region="us-east-1")
        seeded = seed_app(aws, "shop", instances=1, router="alb", rules=2)
        yield AlbWorld(aws=aws, seeded=seeded, spy=Elbv2Spy(aws.client("elbv2")))
        adapter_aws.client.cache_clear()


def test_a_listener_forwarding_to_one_target_group_is_adopted_in_one_call_each(alb) -> None:
    # Given a listener and two rules that forward to the blue slot's target group alone (no weights yet)
    router = alb.router()
    assert alb.forwards() == {"listener": {"blue": 1}, "rule1": {"blue": 1}, "rule2": {"blue": 1}}
    assert router.weights() == BLUE_ONLY

    # When the first release checks and converts them
    assert router.check("blue") is True
    router.convert("blue")

    # Then each became a weighted forward with blue at 100 and green at 0, in one call each, in the fixed order
    assert alb.forwards() == {where: {"blue": 100, "green": 0} for where in ("listener", "rule1", "rule2")}
    assert alb.spy.calls == [
        ("ModifyListener", alb.seeded.listener_arn),
        ("ModifyRule", alb.seeded.rule_arns[0]),
        ("ModifyRule", alb.seeded.rule_arns[1]),
    ]
    # And nothing moved: all traffic is still on blue, and a second check finds nothing left to convert
    assert router.weights() == BLUE_ONLY
    assert router.check("blue") is False


def test_a_shift_sets_every_listener_and_rule_in_order(alb) -> None:
    # Given an adopted app
    router = alb.router()
    router.convert("blue")
    alb.spy.calls.clear()

    # When a step moves 25 % to green
    change = router.set_weights({"blue": 75, "green": 25})

    # Then every forward action carries the split, set listener first then rules as named, and it is in effect
    assert change is None and router.in_sync(change)
    assert alb.forwards() == {where: {"blue": 75, "green": 25} for where in ("listener", "rule1", "rule2")}
    assert [arn for _, arn in alb.spy.calls] == [alb.seeded.listener_arn, *alb.seeded.rule_arns]
    assert router.splits() == [(label, {"blue": 75, "green": 25}) for label, _ in router.splits()]

    # When the same split is set again, Then nothing is called (a retried task changes nothing)
    alb.spy.calls.clear()
    router.set_weights({"blue": 75, "green": 25})
    assert alb.spy.calls == []


def test_a_refusal_half_way_puts_back_what_was_changed(alb) -> None:
    # Given an adopted app, all on blue, and the second rule refusing any change
    router = alb.router()
    router.convert("blue")
    alb.spy.refuse[alb.seeded.rule_arns[1]] = "InvalidConfigurationRequest"
    alb.spy.calls.clear()

    # When a step tries to move half the traffic
    with pytest.raises(WeightChangeFailedError) as failed:
        router.set_weights({"blue": 50, "green": 50})

    # Then the listener and the first rule were changed, then put back, the last changed first
    calls = [(op, arn) for op, arn in alb.spy.calls]
    listener, rule1, rule2 = alb.seeded.listener_arn, *alb.seeded.rule_arns
    assert calls == [
        ("ModifyListener", listener),
        ("ModifyRule", rule1),
        ("ModifyRule", rule2),
        ("ModifyRule", rule1),
        ("ModifyListener", listener),
    ]
    # And every forward action is as it was: no listener or rule was left sending traffic to green
    assert alb.forwards() == {where: {"blue": 100, "green": 0} for where in ("listener", "rule1", "rule2")}
    assert "InvalidConfigurationRequest" in str(failed.value)
    assert "put back: " in str(failed.value) and "NOT put back" not in str(failed.value)


def test_a_put_back_that_fails_says_which_listener_or_rule_is_left(alb) -> None:
    # Given an adopted app whose second rule refuses changes, and whose listener refuses once it has changed
    router = alb.router()
    router.convert("blue")
    original = alb.spy._modify

    def refuse_listener_after_first(operation: str, arn: str, call: Any, **kwargs: Any) -> Any:
        if operation == "ModifyListener" and ("ModifyListener", arn) in alb.spy.calls:
            alb.spy.refuse[arn] = "Throttling"
        return original(operation, arn, call, **kwargs)

    alb.spy._modify = refuse_listener_after_first  # type: ignore[method-assign]
    alb.spy.refuse[alb.seeded.rule_arns[1]] = "InvalidConfigurationRequest"
    alb.spy.calls.clear()

    # When a step fails half way and the put back of the listener fails too
    with pytest.raises(WeightChangeFailedError) as failed:
        router.set_weights({"blue": 50, "green": 50})

    # Then the error names what was put back and what was not (the rollback that follows sets it)
    assert "NOT put back: listener" in str(failed.value)
    assert alb.forwards()["rule1"] == {"blue": 100, "green": 0}
    assert alb.forwards()["listener"] == {"blue": 50, "green": 50}


def test_a_rollback_goes_on_instead_of_putting_back(alb) -> None:
    # Given a release at 50 % whose second rule refuses the way back
    router = alb.router()
    router.convert("blue")
    router.set_weights({"blue": 50, "green": 50})
    alb.spy.refuse[alb.seeded.rule_arns[1]] = "Throttling"

    # When the rollback sets all traffic back on blue
    with pytest.raises(ClientError):
        router.set_weights(BLUE_ONLY, put_back=False)

    # Then the listener and first rule stay back on blue (the retry finishes the second rule)
    assert alb.forwards()["listener"] == alb.forwards()["rule1"] == {"blue": 100, "green": 0}
    del alb.spy.refuse[alb.seeded.rule_arns[1]]
    router.set_weights(BLUE_ONLY, put_back=False)
    assert alb.forwards()["rule2"] == {"blue": 100, "green": 0}


def test_listeners_and_rules_that_disagree_are_a_split_to_settle_first(alb) -> None:
    # Given an adopted app whose first rule an operator moved to green by hand
    router = alb.router()
    router.convert("blue")
    rule = alb.aws.client("elbv2").describe_rules(RuleArns=[alb.seeded.rule_arns[0]])["Rules"][0]
    green = {alb.seeded.target_groups["blue"]: 0, alb.seeded.target_groups["green"]: 100}
    alb.aws.client("elbv2").modify_rule(RuleArn=rule["RuleArn"], Actions=elbv2.weighted_actions(rule["Actions"], green))

    # When the weights are read to start a release, Then it is refused naming both splits
    with pytest.raises(TrafficSplitError, match="split traffic differently"):
        router.weights()


def _foreign_target_group(alb: AlbWorld) -> str:
    vpc = alb.seeded.vpc_id
    return alb.aws.client("elbv2").create_target_group(Name="stranger", Protocol="HTTP", Port=80, VpcId=vpc)[
        "TargetGroups"
    ][0]["TargetGroupArn"]


def _rule_forwarding(alb: AlbWorld, actions: list[dict]) -> str:
    return alb.aws.client("elbv2").create_rule(
        ListenerArn=alb.seeded.listener_arn,
        Priority=500,
        Conditions=[{"Field": "path-pattern", "PathPatternConfig": {"Values": ["/other/*"]}}],
        Actions=actions,
    )["Rules"][0]["RuleArn"]


def _sticky_target_group(alb: AlbWorld) -> None:
    alb.aws.client("elbv2").modify_target_group_attributes(
        TargetGroupArn=alb.seeded.target_groups["green"], Attributes=[{"Key": "stickiness.enabled", "Value": "true"}]
    )


def _group_stickiness(alb: AlbWorld, accept: bool) -> AppConfig:
    tgs = alb.seeded.target_groups
    alb.aws.client("elbv2").modify_listener(
        ListenerArn=alb.seeded.listener_arn,
        DefaultActions=[
            {
                "Type": "forward",
                "ForwardConfig": {
                    "TargetGroups": [{"TargetGroupArn": tgs["blue"], "Weight": 1}],
                    "TargetGroupStickinessConfig": {"Enabled": True, "DurationSeconds": 3600},
                },
            }
        ],
    )
    return alb.config(sticky_sessions="accept" if accept else "refuse")


def _on_another_load_balancer(alb: AlbWorld) -> None:
    elbv2 = alb.aws.client("elbv2")
    other = elbv2.create_load_balancer(Name="other", Subnets=alb.seeded.subnets)["LoadBalancers"][0]
    tg = alb.seeded.target_groups["green"]
    elbv2.create_listener(
        LoadBalancerArn=other["LoadBalancerArn"],
        Protocol="HTTP",
        Port=80,
        DefaultActions=[{"Type": "forward", "TargetGroupArn": tg}],
    )


REFUSED = [
    ("foreign-target-group", lambda w: w.config(rule_arns=[_rule_forwarding(w, [{"Type": "forward", "TargetGroupArn": _foreign_target_group(w)}])]),
     ForwardActionConflictError, "also forwards to arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/stranger/"),
    ("no-forward-action", lambda w: w.config(rule_arns=[_rule_forwarding(w, [{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "404"}}])]),
     ForwardActionConflictError, "has no forward action (its actions: fixed-response)"),
    ("default-rule", lambda w: w.config(rule_arns=[next(r["RuleArn"] for r in w.aws.client("elbv2").describe_rules(ListenerArn=w.seeded.listener_arn)["Rules"] if r["IsDefault"])]),
     ForwardActionConflictError, "is its listener's default rule, which only ModifyListener changes"),
    ("missing-rule", lambda w: w.config(rule_arns=[w.seeded.rule_arns[0][:-4] + "beef"]),
     NotFoundError, "alb.rule_arns: arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/shop/"),
    ("stickiness-refused", lambda w: _group_stickiness(w, accept=False),
     ForwardActionConflictError, "alb.sticky_sessions: listener app/shop/"),
    ("sticky-target-group", lambda w: (_sticky_target_group(w), w.config(sticky_sessions="accept"))[1],
     ForwardActionConflictError, "slots.green.target_group_arns: shop-green has sticky sessions (stickiness.enabled), and AWS refuses"),
    ("target-group-of-another-alb", lambda w: (_on_another_load_balancer(w), w.config())[1],
     ForwardActionConflictError, "slots.green.target_group_arns: shop-green serves load balancer app/other/"),
]  # fmt: skip


@pytest.mark.parametrize(("make", "error", "says"), [r[1:] for r in REFUSED], ids=[r[0] for r in REFUSED])
def test_what_bluegreen_cannot_weight_is_refused_before_any_change(alb, make, error, says: str) -> None:
    # Given a configuration naming a listener or rule bluegreen cannot weight
    config = make(alb)
    before = alb.forwards()
    alb.spy.calls.clear()

    # When the release checks it, and `app put` checks it
    for check in (lambda: alb.router(config).check("blue"), lambda: alb.router(config).check_config()):
        with pytest.raises(error) as refused:
            check()
        # Then it is refused in one line naming the field, and nothing was changed
        assert says in str(refused.value) and "\n" not in str(refused.value)
    assert alb.spy.calls == []
    assert alb.forwards() == before


def test_accepted_stickiness_is_reported_and_kept_through_a_shift(alb) -> None:
    # Given a listener with target group stickiness, and a config that accepts it
    config = _group_stickiness(alb, accept=True)
    router = alb.router(config)

    # When `app put` checks it, Then the stickiness is reported
    report = router.check_config()
    assert len(report) == 1 and "target group stickiness for 3600 s" in report[0]

    # When the release converts and shifts, Then the stickiness stays as it was
    router.convert("blue")
    router.set_weights({"blue": 90, "green": 10})
    listener = alb.aws.client("elbv2").describe_listeners(ListenerArns=[alb.seeded.listener_arn])["Listeners"][0]
    stickiness = listener["DefaultActions"][0]["ForwardConfig"]["TargetGroupStickinessConfig"]
    assert stickiness == {"Enabled": True, "DurationSeconds": 3600}


def test_the_test_route_is_pointed_at_the_idle_slot_only() -> None:
    with mock_aws():
        adapter_aws.client.cache_clear()
        # Given an app with a test listener on another port, forwarding to blue (the live slot)
        aws = Aws(region="us-east-1")
        seeded = seed_app(aws, "cart", instances=1, router="alb", test_route={"kind": "listener", "url": "http://x"})
        router = routers.of(parse_config(json.dumps(seeded.config), "cart"), aws.client)

        # When a release into green points it
        router.point_test_route("green")

        # Then it forwards to green's target group alone, and the smoke tests call its URL
        listener = aws.client("elbv2").describe_listeners(ListenerArns=[seeded.test_route_arn])["Listeners"][0]
        groups = listener["DefaultActions"][0]["ForwardConfig"]["TargetGroups"]
        assert [g["TargetGroupArn"] for g in groups] == [seeded.target_groups["green"]]
        assert router.smoke_target("green") == ("http://x", {})
        # And the app's own traffic is untouched: all on blue
        assert router.weights() == BLUE_ONLY
        adapter_aws.client.cache_clear()


def test_prepare_reads_the_routes_and_the_target_groups_once(alb) -> None:
    # Given a router whose elbv2 reads are counted
    reads: Counter[str] = Counter()

    class CountingSpy(Elbv2Spy):
        def __getattr__(self, name: str) -> Any:
            reads[name] += 1
            return getattr(self.api, name)

    alb.spy = CountingSpy(alb.aws.client("elbv2"))
    router = alb.router()

    # When Prepare reads the weights, then checks the routes: the listeners and rules are described once
    assert router.weights() == BLUE_ONLY
    router.check("blue")
    assert (reads["describe_listeners"], reads["describe_rules"]) == (1, 1)

    # And the drain's deregistration delay and the clone's load balancer labels come from what the check read
    reads.clear()
    blue, green = alb.seeded.target_groups["blue"], alb.seeded.target_groups["green"]
    assert router.deregistration_delay([blue]) == elbv2.deregistration_delay(blue, alb.aws.client("elbv2"))
    assert router.load_balancer_label(green) == elbv2.load_balancer_label(green, alb.aws.client("elbv2"))
    assert not reads
