"""moto 5.2 notes a target group's load balancer only when a listener or rule is created with it, and lets one target
group serve several Application Load Balancers; AWS keeps the association current and allows one.

Real AWS (ELB API Reference, "TargetGroup": `LoadBalancerArns` "The Amazon Resource Name (ARN) of the load balancer
that routes traffic to this target group. You can use each target group with only one load balancer."; ALB User
Guide, "Quotas for your Application Load Balancers": "Load balancers per target group: 1"): DescribeTargetGroups
lists the load balancer whose listeners or rules forward to the group, from the moment a CreateListener, CreateRule,
ModifyListener or ModifyRule makes one forward to it until none does; a call that would have a second load balancer
forward to it is refused with `TargetGroupAssociationLimit` "The following target groups cannot be associated with
more than one load balancer: <arn>" (the message AWS returns, hashicorp/terraform-provider-aws#22005).

moto appends the load balancer on CreateListener and CreateRule only (a group weighted in by ModifyListener never
shows it, a group no longer forwarded to keeps it) and never refuses a second load balancer.
"""

from __future__ import annotations

import inspect
from typing import Any

from moto.elbv2.exceptions import ELBClientError
from moto.elbv2.models import ELBv2Backend, FakeTargetGroup, elbv2_backends

from bluegreen.twin.patching import Patches

_original_create_listener = ELBv2Backend.create_listener
_original_create_rule = ELBv2Backend.create_rule
_original_modify_listener = ELBv2Backend.modify_listener
_original_modify_rule = ELBv2Backend.modify_rule


def forwarding_load_balancers(backend: ELBv2Backend, target_group_arn: str) -> list[str]:
    """The load balancers with a listener or rule whose actions forward to the target group now."""
    found = []
    for balancer in backend.load_balancers.values():
        for listener in balancer.listeners.values():
            if any(
                target_group_arn in backend._get_target_group_arns_from(action.data)
                for rule in listener.rules.values()
                for action in rule.actions
            ):
                found.append(balancer.arn)
                break
    return found


def _load_balancer_arns(self: FakeTargetGroup) -> list[str]:
    return forwarding_load_balancers(elbv2_backends[self.account_id][self.region_name], self.arn)


def _keep(self: FakeTargetGroup, value: list[str]) -> None:
    self.__dict__["load_balancer_arns"] = value  # moto's own list: what it reads again if this module is taken out


def _check(backend: ELBv2Backend, load_balancer_arn: str, actions: list[dict[str, Any]] | None) -> None:
    balancer = backend.load_balancers.get(load_balancer_arn)
    if balancer is None or balancer.type != "application":
        return
    for action in actions or []:
        if action.get("Type") != "forward":
            continue
        for arn in backend._get_target_group_arns_from(action):
            if any(lb != load_balancer_arn for lb in forwarding_load_balancers(backend, arn)):
                raise ELBClientError(
                    "TargetGroupAssociationLimit",
                    f"The following target groups cannot be associated with more than one load balancer: {arn}",
                )


def _listener(backend: ELBv2Backend, arn: str) -> Any:
    for balancer in backend.load_balancers.values():
        if arn in balancer.listeners:
            return balancer.listeners[arn]
    return None


def _bound(original: Any, self: ELBv2Backend, args: tuple, kw: dict) -> dict[str, Any]:
    return inspect.signature(original).bind(self, *args, **kw).arguments


def _create_listener(self: ELBv2Backend, *args: Any, **kw: Any) -> Any:
    call = _bound(_original_create_listener, self, args, kw)
    _check(self, call["load_balancer_arn"], call.get("actions"))
    return _original_create_listener(self, *args, **kw)


def _create_rule(self: ELBv2Backend, *args: Any, **kw: Any) -> Any:
    call = _bound(_original_create_rule, self, args, kw)
    listener = _listener(self, call["listener_arn"])
    if listener is not None:
        _check(self, listener.load_balancer_arn, call.get("actions"))
    return _original_create_rule(self, *args, **kw)


def _modify_listener(self: ELBv2Backend, *args: Any, **kw: Any) -> Any:
    call = _bound(_original_modify_listener, self, args, kw)
    listener = _listener(self, call["arn"])
    if listener is not None:
        _check(self, listener.load_balancer_arn, call.get("actions"))
    return _original_modify_listener(self, *args, **kw)


def _modify_rule(self: ELBv2Backend, *args: Any, **kw: Any) -> Any:
    call = _bound(_original_modify_rule, self, args, kw)
    for balancer in self.load_balancers.values():
        for listener in balancer.listeners.values():
            if any(rule.arn == call["rule_arn"] for rule in listener.rules.values()):
                _check(self, balancer.arn, call.get("actions"))
    return _original_modify_rule(self, *args, **kw)


patches = Patches(
    __name__,
    (FakeTargetGroup, "load_balancer_arns", property(_load_balancer_arns, _keep)),
    (ELBv2Backend, "create_listener", _create_listener),
    (ELBv2Backend, "create_rule", _create_rule),
    (ELBv2Backend, "modify_listener", _modify_listener),
    (ELBv2Backend, "modify_rule", _modify_rule),
)
install, uninstall = patches.install, patches.uninstall
