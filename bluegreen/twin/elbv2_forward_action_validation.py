"""moto 5.2 takes any forward action on ModifyListener, and most on CreateListener/CreateRule/ModifyRule; AWS refuses
a forward action outside its documented limits, and changes nothing.

Real AWS:
- ELB API Reference, "TargetGroupTuple": "The weight. The range is 0 to 999." A weight outside is refused with
  `ValidationError` "The weight for each target group must be between 0 and 999, inclusive" (the message CloudTrail
  records for it, aws/aws-cdk#24805).
- ALB User Guide, "Quotas for your Application Load Balancers": "Target Groups per Action per Application Load
  Balancer: 5" (not adjustable). A sixth is refused (`InvalidLoadBalancerAction`, "The requested action is not
  valid."; the message after it is the twin's own).
- ELB API Reference, "Action": "If you specify both ForwardConfig and TargetGroupArn, you can specify only one target
  group using ForwardConfig and it must be the same target group specified in TargetGroupArn." Otherwise refused
  (`InvalidLoadBalancerAction`, wording the twin's own).
- ELB API Reference, "ModifyListener" errors: `TargetGroupNotFound` "The specified target group does not exist." for
  a forward to a target group that does not exist (moto checks it on the other three calls, not on ModifyListener).
- ELB API Reference, "TargetGroupStickinessConfig": "The range is 1-604800 seconds (7 days). You must specify this
  value when enabling target group stickiness." Refused with `ValidationError` "Target group stickiness duration must
  be between 1 and 604800 seconds" (the message AWS returns, app-sre/qontract-reconcile#2089).
- ALB User Guide, "Action types for listener rules" (forward actions): "If you have a forward rule with multiple
  target groups and one or more of the target groups has sticky sessions enabled, you must enable target group
  stickiness." Refused with `InvalidConfigurationRequest` (wording modelled on AWS's "You must enable group stickiness
  before enabling target stickiness", kubernetes-sigs/aws-load-balancer-controller#2734).

AWS documents no rule for a forward action whose weights are all zero, so the twin takes it as moto does (bluegreen
never sends one).
"""

from __future__ import annotations

from typing import Any

from moto.elbv2.exceptions import ELBClientError
from moto.elbv2.models import ELBv2Backend, FakeAction
from moto.elbv2.responses import ELBV2Response

from bluegreen.twin.patching import Patches

MAX_TARGET_GROUPS_PER_ACTION = 5
MAX_WEIGHT = 999
MAX_STICKINESS_SECONDS = 604_800

_original_validate = ELBv2Backend._validate_actions
_original_modify_listener = ELBV2Response.modify_listener


def _true(value: Any) -> bool:
    return str(value).lower() == "true"


def _check_forward(backend: ELBv2Backend, data: dict[str, Any]) -> None:
    config = data.get("ForwardConfig") or {}
    groups = config.get("TargetGroups") or []
    arns = [g.get("TargetGroupArn") for g in groups]
    single = data.get("TargetGroupArn")
    if single and groups and arns != [single]:
        raise ELBClientError(
            "InvalidLoadBalancerAction",
            "With both TargetGroupArn and ForwardConfig, ForwardConfig must name that one target group only",
        )
    if len(groups) > MAX_TARGET_GROUPS_PER_ACTION:
        raise ELBClientError(
            "InvalidLoadBalancerAction",
            f"A forward action can have at most {MAX_TARGET_GROUPS_PER_ACTION} target groups; it has {len(groups)}",
        )
    if any(not 0 <= int(g.get("Weight", 1)) <= MAX_WEIGHT for g in groups):
        raise ELBClientError("ValidationError", "The weight for each target group must be between 0 and 999, inclusive")
    for arn in [*arns, *([single] if single else [])]:
        if arn not in backend.target_groups:
            raise ELBClientError("TargetGroupNotFound", "The specified target group does not exist.")
    stickiness = config.get("TargetGroupStickinessConfig") or {}
    if _true(stickiness.get("Enabled")):
        seconds = stickiness.get("DurationSeconds")
        if seconds is None or not 1 <= int(seconds) <= MAX_STICKINESS_SECONDS:
            raise ELBClientError(
                "ValidationError", "Target group stickiness duration must be between 1 and 604800 seconds"
            )
    elif len(set(arns)) > 1:
        sticky = [arn for arn in arns if _true(backend.target_groups[arn].attributes.get("stickiness.enabled"))]
        if sticky:
            raise ELBClientError(
                "InvalidConfigurationRequest",
                f"Target group {sticky[0]} has stickiness enabled: you must enable group stickiness on a forward action"
                " to several target groups",
            )


def _validate_actions(self: ELBv2Backend, actions: list[FakeAction]) -> None:
    for action in actions:
        if action.type == "forward":
            _check_forward(self, action.data)
    _original_validate(self, actions)


def _modify_listener(self: ELBV2Response) -> Any:
    # moto replaces the default actions without looking at them; AWS validates them as on CreateListener.
    actions = self._get_params().get("DefaultActions") or []
    if actions:
        self.elbv2_backend._validate_actions([FakeAction(a) for a in actions])
    return _original_modify_listener(self)


patches = Patches(
    __name__,
    (ELBv2Backend, "_validate_actions", _validate_actions),
    (ELBV2Response, "modify_listener", _modify_listener),
)
install, uninstall = patches.install, patches.uninstall
