"""Traffic routers: where an app's traffic goes between its slots, and how a release moves it.

Two routers, chosen per app by `router` in its config:
- `route53` (the default): two weighted alias records changed together in ONE change batch; a change is in effect
  once Route 53 reports it INSYNC, and for clients as their resolvers' caches expire (the record's TTL).
- `alb`: the forward action of each named listener and rule, on one Application Load Balancer, weights the slots'
  target groups; a change is in effect when the call returns. They are changed in a fixed order (listeners, then
  rules, as the config names them); if one change fails, those already made are put back before the error is raised.

The domain calls `of(config)` and the methods of `Router`; nothing else needs to know which router an app has.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, Protocol

from botocore.exceptions import ClientError

from orchestrator.adapters import config_store, elbv2, route53
from orchestrator.adapters.aws import client, error_code
from orchestrator.config import SLOTS, AppConfig, load_balancer_of
from orchestrator.errors import (
    BluegreenError,
    DnsRecordConflictError,
    ForwardActionConflictError,
    TrafficSplitError,
    WeightChangeFailedError,
)

Clients = Callable[[str], Any]


class Router(Protocol):
    # True when one change is several calls (listeners and rules one by one): a change that failed half way may have
    # given the idle slot traffic for a moment even though the weights read back say it has none.
    changes_span_calls: bool
    # True when the record of which release is live (publish_live) can change in the same call as the weights: the
    # last step publishes it with its weights, and a rollback takes it back with its own.
    publishes_with_weights: bool

    def splits(self) -> list[tuple[str, dict[str, int]]]:
        """Percent per slot of each place that routes the app's traffic (a record pair, a listener, a rule)."""
        ...

    def weights(self) -> dict[str, int]:
        """The one split of the app's traffic; TrafficSplitError when its listeners and rules disagree."""
        ...

    def check(self, live_slot: str) -> bool:
        """Refuse (nothing changed) what bluegreen cannot weight; True when the first release must convert first."""
        ...

    def check_config(self) -> list[str]:
        """What `bluegreen app put` checks against AWS; the lines it reports (stickiness it accepts)."""
        ...

    def conversion(self, live_slot: str) -> str:
        """What `convert` will do, for the clone plan."""
        ...

    def convert(self, live_slot: str) -> None:
        """Make the app's traffic path weighted, with all of it on the live slot (no traffic moves)."""
        ...

    def set_weights(
        self, weights: dict[str, int], *, put_back: bool = True, live: str | None = None, unpublish: bool = False
    ) -> str | None:
        """Apply the split; the change to wait for, or None when it is in effect at once. With
        `publishes_with_weights`: `live`, the live record's new text, or `unpublish`, the record deleted as
        `published_live` last read it."""
        ...

    def published_live(self) -> str | None:
        """What the live record holds now (a rollback reads it; None: there is none)."""
        ...

    def in_sync(self, change_id: str | None) -> bool: ...

    def publish_live(self, text: str) -> None:
        """Where anyone can read which release is live."""
        ...

    def point_test_route(self, idle_slot: str) -> None:
        """Send the smoke-test route (if any) to the idle slot only."""
        ...

    def smoke_target(self, slot: str) -> tuple[str, dict[str, str]]:
        """The base URL the smoke tests of `slot` call, and the headers they send."""
        ...

    def test_route_problem(self, idle_slot: str) -> str:
        """Why the smoke requests might not reach the idle slot alone (read from AWS now); '' when they will."""
        ...

    def balancer_label(self) -> str | None:
        """`app/<name>/<id>` of the load balancer every slot shares, if there is one."""
        ...

    def deregistration_delay(self, target_group_arns: list[str]) -> int:
        """The longest deregistration delay of these target groups (what a drain waits for)."""
        ...

    def load_balancer_label(self, target_group_arn: str) -> str | None:
        """`app/<name>/<id>` of the load balancer that routes to the target group; None if none."""
        ...


def of(config: AppConfig, clients: Clients = client) -> Router:
    """The app's router; `clients` builds a boto3 client per service (the CLI passes its own session's)."""
    if config.router == "alb":
        return AlbRouter(config, clients)
    return Route53Router(config, clients)


def percent(by_slot: dict[str, int]) -> dict[str, int]:
    """Relative weights as percent summing to 100; a slot with any weight never reads 0 (nor the other 100)."""
    total = sum(by_slot.values())
    if total <= 0:
        return dict.fromkeys(SLOTS, 0)
    blue = round(100 * by_slot.get("blue", 0) / total)
    if by_slot.get("blue", 0) > 0:
        blue = max(blue, 1)
    if by_slot.get("green", 0) > 0:
        blue = min(blue, 99)
    return {"blue": blue, "green": 100 - blue}


def _settled(splits: list[tuple[str, dict[str, int]]]) -> dict[str, int]:
    if len({tuple(sorted(w.items())) for _, w in splits}) > 1:
        shown = "; ".join(f"{where}: {w}" for where, w in splits)
        raise TrafficSplitError(
            f"the app's listeners and rules split traffic differently ({shown}): finish or roll back the release in"
            " flight, or set them alike, before starting another"
        )
    return splits[0][1]


# --- Route 53: a weighted record pair ----------------------------------------------------------------------------


class Route53Router:
    changes_span_calls = False
    publishes_with_weights = True  # the TXT record goes in the weights' change batch

    def __init__(self, config: AppConfig, clients: Clients = client) -> None:
        assert config.dns is not None
        self.config, self.dns, self._clients = config, config.dns, clients
        self._published: dict | None = None  # the TXT pointer as published_live read it

    @property
    def api(self) -> Any:
        return self._clients("route53")

    @functools.cached_property
    def listed(self) -> list[dict]:
        """Every record of the app's name and type (read once per router)."""
        return route53.records(self.config, self.api)

    def splits(self) -> list[tuple[str, dict[str, int]]]:
        return [(f"record {self.dns.record_name}", route53.weights_of(self.config, self.listed))]

    def weights(self) -> dict[str, int]:
        return route53.weights_of(self.config, self.listed)

    def check(self, live_slot: str) -> bool:
        """DnsRecordConflictError when Route 53 would refuse the weighted records, or when records bluegreen does not
        own would keep a share of the traffic; True when the app's simple record must first become the weighted pair."""
        where = f"dns.record_name: {self.dns.record_name} {self.dns.record_type}"
        simple, others = route53.strangers(self.config, self.listed)
        if others:
            names = ", ".join(r.get("SetIdentifier", "?") for r in others)
            raise DnsRecordConflictError(
                f"{where} also holds records bluegreen does not own ({names}): they would keep traffic whatever the"
                f" weights; delete them, or give the app a record name of its own"
            )
        if simple is None:
            return False
        alias = self.config.slots[live_slot].alias
        target = alias.dns_name if alias else ""
        if not self.dns.convert_simple_record:
            raise DnsRecordConflictError(
                f"{where} is a simple (non-weighted) record, and Route 53 refuses weighted records beside it: replace"
                f" it with the weighted pair in one change batch (README, 'Adopt an existing fleet'), or set"
                f" dns.convert_simple_record to true and the first release does it"
            )
        if not route53.same_target(simple.get("AliasTarget"), target):
            points = (simple.get("AliasTarget") or {}).get("DNSName") or "values, not an alias"
            raise DnsRecordConflictError(
                f"{where} points at {points}, not at the live {live_slot} slot's {target}: converting it would move"
                f" traffic; point it at {target} first, or convert it by hand"
            )
        return True

    def check_config(self) -> list[str]:
        return []

    def conversion(self, live_slot: str) -> str:
        return (
            f"the simple record {self.dns.record_name} becomes the weighted pair ({live_slot} at 100) in one change"
            " batch, once the lock is taken"
        )

    def convert(self, live_slot: str) -> None:
        # The records Prepare read (the ALB router's convert says why they are still the ones there).
        simple, _ = route53.strangers(self.config, self.listed)
        if simple is not None:
            route53.convert_simple_record(self.config, simple, live_slot, self.api)

    def set_weights(
        self, weights: dict[str, int], *, put_back: bool = True, live: str | None = None, unpublish: bool = False
    ) -> str | None:
        # One change batch: Route 53 applies it whole or not at all, so there is nothing to put back.
        gone = self._published if unpublish else None  # deleted exactly as read (DELETE names every value)
        return route53.set_weights(self.config, weights, self.api, live=live, unlive=gone)

    def published_live(self) -> str | None:
        self._published = route53.published_record(self.config, self.api)
        return route53.pointer_text(self._published) if self._published else None

    def in_sync(self, change_id: str | None) -> bool:
        return change_id is None or route53.is_in_sync(change_id, self.api)

    def publish_live(self, text: str) -> None:
        route53.publish_live(self.config, text, self.api)

    def point_test_route(self, idle_slot: str) -> None:
        return None

    def smoke_target(self, slot: str) -> tuple[str, dict[str, str]]:
        return self.config.slots[slot].test_base_url or "", {}

    def test_route_problem(self, idle_slot: str) -> str:
        return ""  # each slot has its own test URL

    def balancer_label(self) -> str | None:
        return None

    def deregistration_delay(self, target_group_arns: list[str]) -> int:
        return _longest_delay(target_group_arns, {})

    def load_balancer_label(self, target_group_arn: str) -> str | None:
        return elbv2.load_balancer_label(target_group_arn)


def _longest_delay(target_group_arns: list[str], facts: dict[str, dict]) -> int:
    """From target group facts read already, else read now."""
    return max(
        (facts[a]["deregistration_delay"] if a in facts else elbv2.deregistration_delay(a) for a in target_group_arns),
        default=elbv2.DEFAULT_DEREGISTRATION_DELAY,
    )


# --- ALB: weighted target groups in the forward actions of listeners and rules -----------------------------------


class AlbRouter:
    changes_span_calls = True
    publishes_with_weights = False  # the live parameter is SSM's: published at the commit

    def __init__(self, config: AppConfig, clients: Clients = client) -> None:
        assert config.alb is not None
        self.config, self.alb, self._clients = config, config.alb, clients
        self.pairs = list(zip(*(config.slots[slot].target_group_arns for slot in SLOTS), strict=True))
        # What this router (one task's) read already: the routes its weights came from, the target groups' facts.
        self._weighed: list[elbv2.Route] | None = None
        self._facts: dict[str, dict] = {}

    @property
    def api(self) -> Any:
        return self._clients("elbv2")

    def routes(self) -> list[elbv2.Route]:
        return elbv2.describe_routes(self.alb.listener_arns, self.alb.rule_arns, self.api)

    # --- reading ---

    def _field(self, route: elbv2.Route) -> str:
        if self.alb.test_route and route.arn in (self.alb.test_route.listener_arn, self.alb.test_route.rule_arn):
            return "alb.test_route"
        return "alb.listener_arns" if route.kind == "listener" else "alb.rule_arns"

    def _forward(self, route: elbv2.Route) -> dict:
        forwards = [a for a in route.actions if a.get("Type") == "forward"]
        if len(forwards) != 1:
            kinds = ", ".join(a.get("Type", "?") for a in route.actions) or "none"
            raise ForwardActionConflictError(
                f"{self._field(route)}: {route.label} has no forward action (its actions: {kinds}): bluegreen weights"
                " the target groups of a forward action; name the listener or rule that forwards the app's traffic"
            )
        return forwards[0]

    def _pair_of(self, route: elbv2.Route) -> int:
        """Which pair of the slots' target groups (blue's n-th, green's n-th) the route's forward action uses."""
        groups = set(elbv2.forward_split(self._forward(route)))
        used = {i for i, pair in enumerate(self.pairs) if groups & set(pair)}
        strangers = sorted(g for g in groups if not any(g in pair for pair in self.pairs))
        if strangers:
            raise ForwardActionConflictError(
                f"{self._field(route)}: {route.label} also forwards to {strangers[0]}, no target group of the app's"
                " slots: it would keep a share of the traffic whatever the weights; forward only to the slots'"
                " target groups, or name another listener or rule"
            )
        if len(used) > 1:
            raise ForwardActionConflictError(
                f"{self._field(route)}: {route.label} forwards to target groups of different pairs: the alb router"
                " weights blue's n-th target group against green's n-th; list the slots' target groups in that order"
            )
        return used.pop() if used else 0

    def _split(self, route: elbv2.Route) -> dict[str, int]:
        pair = self.pairs[self._pair_of(route)]
        by_group = elbv2.forward_split(self._forward(route))
        return percent({slot: by_group.get(pair[n], 0) for n, slot in enumerate(SLOTS)})

    def splits(self) -> list[tuple[str, dict[str, int]]]:
        self._weighed = self.routes()
        return [(route.label, self._split(route)) for route in self._weighed]

    def weights(self) -> dict[str, int]:
        return _settled(self.splits())

    # --- checking ---

    def _test_route(self) -> elbv2.Route | None:
        test = self.alb.test_route
        if test is None:
            return None
        listeners, rules = ([test.listener_arn], []) if test.listener_arn else ([], [test.rule_arn or ""])
        return elbv2.describe_routes(listeners, rules, self.api)[0]

    def _inspect(self, routes: list[elbv2.Route]) -> list[str]:
        """ForwardActionConflictError for what AWS would refuse or bluegreen cannot weight; the stickiness report."""
        test = self._test_route()
        for route in [*routes, *([test] if test else [])]:
            if route.is_default:
                raise ForwardActionConflictError(
                    f"{self._field(route)}: {route.label} is its listener's default rule, which only ModifyListener"
                    " changes: name the listener in alb.listener_arns instead"
                )
            self._pair_of(route)
        problem = self._test_route_problem(test, routes, None) if test else ""
        if problem:
            raise ForwardActionConflictError(problem)
        groups = [arn for pair in self.pairs for arn in pair]
        facts = self._facts = elbv2.target_group_facts(groups, self.api)
        balancer = load_balancer_of(self.alb.routes[0])
        for slot in SLOTS:
            for arn in self.config.slots[slot].target_group_arns:
                others = [lb for lb in facts[arn]["load_balancers"] if not lb.endswith(f":loadbalancer/{balancer}")]
                if others:
                    raise ForwardActionConflictError(
                        f"slots.{slot}.target_group_arns: {facts[arn]['name']} serves load balancer"
                        f" {others[0].split(':loadbalancer/')[-1]}, and a target group can serve only one Application"
                        f" Load Balancer: give the slot a target group of {balancer}"
                    )
        report = []
        for route in routes:
            stickiness = (self._forward(route).get("ForwardConfig") or {}).get("TargetGroupStickinessConfig") or {}
            if stickiness.get("Enabled"):
                report.append(
                    f"{route.label}: target group stickiness for {stickiness.get('DurationSeconds', '?')} s keeps each"
                    " client on the slot it first reached (AWSALBTG cookie): a shift moves new clients only"
                )
            for slot, arn in zip(SLOTS, self.pairs[self._pair_of(route)], strict=True):
                if facts[arn]["sticky"] and not stickiness.get("Enabled"):
                    raise ForwardActionConflictError(
                        f"slots.{slot}.target_group_arns: {facts[arn]['name']} has sticky sessions"
                        f" (stickiness.enabled), and AWS refuses a forward to several target groups one of which"
                        f" is sticky unless the rule's target group stickiness is on: turn on"
                        f" TargetGroupStickinessConfig on {route.label}, or turn the target group's stickiness off"
                    )
        report += [
            f"{facts[arn]['name']}: sticky sessions (stickiness.enabled) keep each client on one target"
            for arn in groups
            if facts[arn]["sticky"]
        ]
        if report and self.alb.sticky_sessions != "accept":
            raise ForwardActionConflictError(
                f"alb.sticky_sessions: {report[0]}; a release could not move those clients: turn stickiness off, or"
                ' set alb.sticky_sessions to "accept"'
            )
        return report

    def _test_route_problem(self, test: elbv2.Route, routes: list[elbv2.Route], idle_slot: str | None) -> str:
        """Why smoke requests sent through the test route might not reach the idle slot (alone); '' when they will.
        Without the rule's exact header, or below another of the app's rules, they fall through to the live fleet."""
        spec = self.alb.test_route
        assert spec is not None
        if test.kind == "rule" and spec.header is not None:
            header = spec.header
            if [_condition(c) for c in test.conditions] != [
                ("http-header", header.name.lower(), (header.value.lower(),))
            ]:
                return (
                    f"alb.test_route.rule_arn: {test.label} matches {_conditions_text(test.conditions)}, not exactly"
                    f" the header {header.name}: {header.value} that every smoke request sends (alb.test_route.header):"
                    " the requests would fall through to the listener's default action, the live fleet; make that"
                    " header the rule's only condition"
                )
            listener = elbv2.listener_of(test.arn)
            ahead = [
                r
                for r in routes
                if r.kind == "rule" and elbv2.listener_of(r.arn) == listener and _rank(r) <= _rank(test)
            ]
            if ahead:
                return (
                    f"alb.test_route.rule_arn: {test.label} has priority {test.priority}, not above the app's"
                    f" {ahead[0].label} (priority {ahead[0].priority}) on the same listener, which ALB evaluates first:"
                    " give the test rule a lower priority number than the app's other rules"
                )
        if idle_slot is not None:
            idle = set(self.config.slots[idle_slot].target_group_arns)
            split = elbv2.forward_split(self._forward(test))
            others = sorted(arn for arn, weight in split.items() if weight > 0 and arn not in idle)
            if others:
                return (
                    f"alb.test_route: {test.label} forwards to {others[0]}, not only to the idle slot ({idle_slot})'s"
                    " target groups: the smoke requests could be answered by another fleet"
                )
        return ""

    def test_route_problem(self, idle_slot: str) -> str:
        if self.alb.test_route is None:
            return ""
        test = self._test_route()
        assert test is not None
        return self._test_route_problem(test, self.routes(), idle_slot)

    def _needs_conversion(self, route: elbv2.Route) -> bool:
        return set(elbv2.forward_split(self._forward(route))) != set(self.pairs[self._pair_of(route)])

    def check(self, live_slot: str) -> bool:
        # The routes the weights were read from a moment ago (Prepare reads the weights first), else read now.
        routes = self._weighed if self._weighed is not None else self.routes()
        self._inspect(routes)
        return any(self._needs_conversion(route) for route in routes)

    def check_config(self) -> list[str]:
        return [f"accepted (alb.sticky_sessions): {line}" for line in self._inspect(self.routes())]

    # --- changing ---

    def _wanted(self, route: elbv2.Route, weights: dict[str, int]) -> dict[str, int]:
        pair = self.pairs[self._pair_of(route)]
        return {pair[n]: weights[slot] for n, slot in enumerate(SLOTS)}

    def conversion(self, live_slot: str) -> str:
        return (
            f"each listener and rule forwarding to one target group becomes a weighted forward ({live_slot} at 100,"
            " the other slot at 0) in one call each, once the lock is taken"
        )

    def convert(self, live_slot: str) -> None:
        weights = {slot: 100 if slot == live_slot else 0 for slot in SLOTS}
        # The routes Prepare read its weights from: no other release changed them since, as none held the lock then
        # (Prepare read it free first) and none can take it before this one.
        for route in self._weighed if self._weighed is not None else self.routes():
            if self._needs_conversion(route):
                elbv2.modify_route(route, elbv2.weighted_actions(route.actions, self._wanted(route, weights)), self.api)

    def set_weights(
        self, weights: dict[str, int], *, put_back: bool = True, live: str | None = None, unpublish: bool = False
    ) -> str | None:
        """Every listener and rule in order; a refusal puts back those already changed (with `put_back`: a rollback
        goes on instead, and its retry sets what is left). The live parameter is not changed here."""
        if sum(weights.values()) <= 0:
            raise ValueError("weights must not all be zero")
        changed: list[elbv2.Route] = []
        for route in self.routes():
            wanted = self._wanted(route, weights)
            if elbv2.forward_split(self._forward(route)) == wanted:
                continue
            try:
                elbv2.modify_route(route, elbv2.weighted_actions(route.actions, wanted), self.api)
            except (BluegreenError, ClientError) as err:
                if not put_back:
                    raise
                reason = str(err) if isinstance(err, BluegreenError) else f"{error_code(err)}: {err}"
                raise WeightChangeFailedError(
                    f"{route.label} refused {weights} ({reason}); {self._put_back(changed)}"
                ) from None
            changed.append(route)
        return None

    def _put_back(self, changed: list[elbv2.Route]) -> str:
        """Restore each route changed so far, the last first; says what was put back and what could not be."""
        if not changed:
            return "nothing had changed"
        stuck = []
        for route in reversed(changed):
            try:
                elbv2.modify_route(route, [elbv2.request_shape(a) for a in route.actions], self.api)
            except (BluegreenError, ClientError) as err:
                stuck.append(f"{route.label} ({err})")
        done = [r.label for r in changed if not any(s.startswith(r.label) for s in stuck)]
        text = f"put back: {', '.join(done)}" if done else "nothing put back"
        return text + (f"; NOT put back: {', '.join(stuck)}" if stuck else "")

    def in_sync(self, change_id: str | None) -> bool:
        return True  # in effect when ModifyListener/ModifyRule returns

    def publish_live(self, text: str) -> None:
        config_store.publish_live(self.config.app, text, self._clients("ssm"))

    def published_live(self) -> str | None:
        return None  # never changed with the weights, so never taken back by a rollback

    def point_test_route(self, idle_slot: str) -> None:
        route = self._test_route()
        if route is None:
            return
        target = self.pairs[self._pair_of(route)][SLOTS.index(idle_slot)]
        if elbv2.forward_split(self._forward(route)) != {target: 1}:
            elbv2.modify_route(route, elbv2.weighted_actions(route.actions, {target: 1}), self.api)

    def smoke_target(self, slot: str) -> tuple[str, dict[str, str]]:
        test = self.alb.test_route
        if test is None:
            return self.config.slots[slot].test_base_url or "", {}
        return test.url, ({test.header.name: test.header.value} if test.header else {})

    def balancer_label(self) -> str | None:
        return load_balancer_of(self.alb.routes[0])

    def deregistration_delay(self, target_group_arns: list[str]) -> int:
        return _longest_delay(target_group_arns, self._facts)

    def load_balancer_label(self, target_group_arn: str) -> str | None:
        if target_group_arn not in self._facts:
            return elbv2.load_balancer_label(target_group_arn)
        return elbv2.label_of(self._facts[target_group_arn]["load_balancers"])


def _condition(condition: dict) -> tuple[str, str, tuple[str, ...]]:
    """A rule condition as (field, header name, values), lowercased where ALB compares without case."""
    kind = condition.get("Field", "")
    if kind == "http-header":
        config = condition.get("HttpHeaderConfig") or {}
        values = tuple(v.lower() for v in config.get("Values") or [])
        return kind, (config.get("HttpHeaderName") or "").lower(), values
    return kind, "", tuple(condition.get("Values") or [])


def _conditions_text(conditions: list[dict]) -> str:
    parts = []
    for condition in conditions:
        kind, name, values = _condition(condition)
        parts.append(f"{name or kind} {'|'.join(values) or '...'}")
    return "; ".join(parts) or "every request (no condition)"


def _rank(rule: elbv2.Route) -> int:
    """Where ALB evaluates a rule: its priority number (the default rule last)."""
    return int(rule.priority) if rule.priority.isdigit() else 50_001
