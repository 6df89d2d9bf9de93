"""moto 5.2 describes a forward action in the shape it was given; AWS describes it in one shape whatever was sent.

Real AWS (ELB API Reference, "Action": `TargetGroupArn` is for "a single target group. To route to one or more
target groups, use ForwardConfig instead."; `ForwardConfig`: "If you specify both ForwardConfig and TargetGroupArn,
you can specify only one target group using ForwardConfig and it must be the same target group specified in
TargetGroupArn."; "TargetGroupTuple": "The weight. The range is 0 to 999."): DescribeListeners and DescribeRules
(and the Create/Modify answers) give a forward action to ONE target group both ways, `TargetGroupArn` and
`ForwardConfig` with that group at its weight (1 unless set) and `TargetGroupStickinessConfig` (`Enabled` false
unless set); a forward action to several target groups has `ForwardConfig` alone. This is the shape real responses
show (e.g. the DescribeListeners fixtures of the amazon.aws Ansible collection, `tests/unit/module_utils/elbv2`).

moto keeps `TargetGroupArn` alone for an action sent that way (no `ForwardConfig`, so no weight to read), and
`ForwardConfig` alone for one target group sent that way; a client that reads either shape, or sends the described
action back (as the ALB router puts a listener back), meets a shape AWS never returns.
"""

from __future__ import annotations

import copy
from typing import Any

from moto.elbv2.models import FakeAction

from bluegreen.twin.patching import Patches

_original_init = FakeAction.__init__


def _as_aws_describes(data: dict[str, Any]) -> dict[str, Any]:
    if data.get("Type") != "forward":
        return data
    data = copy.deepcopy(data)
    groups = (data.get("ForwardConfig") or {}).get("TargetGroups") or []
    if not groups and data.get("TargetGroupArn"):
        data["ForwardConfig"] = {"TargetGroups": [{"TargetGroupArn": data["TargetGroupArn"], "Weight": 1}]}
    elif len(groups) == 1 and "TargetGroupArn" not in data:
        data["TargetGroupArn"] = groups[0]["TargetGroupArn"]
    # Only ever adds what AWS shows: an action AWS refuses (both fields, naming different groups) stays as sent, for
    # elbv2_forward_action_validation to refuse.
    return data


def _init(self: FakeAction, data: dict[str, Any]) -> None:
    _original_init(self, _as_aws_describes(data))


patches = Patches(__name__, (FakeAction, "__init__", _init))
install, uninstall = patches.install, patches.uninstall
