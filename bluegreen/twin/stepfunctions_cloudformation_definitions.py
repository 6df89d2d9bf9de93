"""moto's CloudFormation ignores DefinitionSubstitutions and creates state machines that never execute; this fixes both.

Real AWS (AWS::StepFunctions::StateMachine, "DefinitionSubstitutions"): CloudFormation replaces each `${key}` in the
definition with the value given for it before creating the state machine; the state machine then runs like any other.
moto creates it from the raw definition into its plain Step Functions backend, not the one that interprets ASL.
"""

from __future__ import annotations

import json
from typing import Any

from moto.stepfunctions import models
from moto.stepfunctions.responses import get_backend
from moto.stepfunctions.utils import cfn_to_api_tags

from bluegreen.twin.patching import Patches


def _create(cls: Any, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **_: Any) -> Any:
    props = cloudformation_json["Properties"]
    definition = props.get("DefinitionString") or json.dumps(props.get("Definition", {}))
    for key, value in (props.get("DefinitionSubstitutions") or {}).items():
        text = json.dumps(value) if isinstance(value, bool) else str(value)
        definition = definition.replace("${" + key + "}", text)
    return get_backend(account_id, region_name).create_state_machine(
        props.get("StateMachineName", resource_name),
        definition,
        props.get("RoleArn", ""),
        tags=cfn_to_api_tags(props.get("Tags", [])),
        sm_type=props.get("StateMachineType"),
    )


def _delete(cls: Any, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str) -> None:
    get_backend(account_id, region_name).delete_state_machine(resource_name)


patches = Patches(
    __name__,
    (models.StateMachine, "create_from_cloudformation_json", classmethod(_create)),
    (models.StateMachine, "delete_from_cloudformation_json", classmethod(_delete)),
)
install, uninstall = patches.install, patches.uninstall
