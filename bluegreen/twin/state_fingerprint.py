"""Speed only, no AWS behaviour: a token that changes whenever what the invariant monitor reads could have changed.

The monitor (`bluegreen.proof.invariants.Monitor`) samples an app every 0.1 s through the API: its Auto Scaling groups
(DescribeAutoScalingGroups) and where its traffic goes (ListResourceRecordSets, or DescribeListeners and DescribeRules),
about a tenth of the suite's CPU on both ends of the HTTP connection, while most samples see what the previous one saw
(a bake, a health wait). The twin runs in the test's process, so a sampler can look at moto's objects directly, for
much less than one request: every Auto Scaling group's size, tags and instances (lifecycle state and health), every
hosted zone's record sets, and every listener's and rule's actions, in every account and region the twin holds.

The token is a superset of what the monitor's reads depend on (every group, zone and listener, not just the app's), so
a change the API would show always changes it; a change elsewhere only costs a read. Taken while a request changes the
same objects, it may mix their before and after: it then differs from the previous token, or equals it only because
the change began after the fields it covers were read, which the next token sees. It never answers the monitor's
question: an unchanged token only lets the monitor keep the previous sample's reads, with the new time.
"""

from __future__ import annotations

from collections.abc import Hashable

from moto.autoscaling.models import autoscaling_backends
from moto.elbv2.models import elbv2_backends
from moto.route53.models import route53_backends


def _regional(backends: dict) -> list:
    return [backend for _, regions in list(backends.items()) for _, backend in list(regions.items())]


def _groups() -> tuple:
    return tuple(
        (
            backend.account_id,
            backend.region_name,
            group.name,
            group.min_size,
            group.desired_capacity,
            tuple((tag.get("Key"), tag.get("Value")) for tag in group.tags),
            tuple((s.instance.id, s.lifecycle_state, s.health_status) for s in group.instance_states),
        )
        for backend in _regional(autoscaling_backends)
        for group in list(backend.autoscaling_groups.values())
    )


def _records() -> tuple:
    return tuple(
        (
            zone.resource_id,
            tuple(
                (r.name, r.type, r.set_identifier, r.weight, repr(r.alias_target), repr(r.records), r.ttl)
                for r in list(zone.rrsets)
            ),
        )
        for backend in _regional(route53_backends)
        for zone in list(backend.zones.values())
    )


def _actions(actions: list) -> tuple:
    return tuple(repr(action.data) for action in actions)


def _routes() -> tuple:
    return tuple(
        (
            listener.arn,
            _actions(listener.default_actions),
            tuple((rule.arn, rule.priority, _actions(rule.actions)) for rule in list(listener.rules.values())),
        )
        for backend in _regional(elbv2_backends)
        for balancer in list(backend.load_balancers.values())
        for listener in list(balancer.listeners.values())
    )


def fingerprint() -> Hashable | None:
    """The token of the groups and the traffic routes the twin holds now; None when it could not be taken (a request
    added or removed one of them meanwhile): the monitor then reads."""
    try:
        return (_groups(), _records(), _routes())
    except RuntimeError:  # "dictionary changed size during iteration"
        return None
