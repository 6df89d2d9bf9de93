"""moto 5.2 mangles an AWS::Events::Rule EventPattern given as a JSON string; this reads it as the JSON it holds.

Real AWS: CloudFormation accepts a Json property such as EventPattern either as an object or as a string holding
JSON (e.g. built with Fn::Sub, the way to put a Number parameter into a numeric matcher). moto always JSON-encodes
the property, so a string arrives double-encoded and matches nothing.
"""

from __future__ import annotations

import json
from typing import Any

from moto.events.models import Rule

from bluegreen.twin.patching import Patches

_original_create = Rule.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]


def _create(cls: Any, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any):
    properties = cloudformation_json.get("Properties", {})
    if isinstance(properties.get("EventPattern"), str):
        properties["EventPattern"] = json.loads(properties["EventPattern"])
    return _original_create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)


patches = Patches(__name__, (Rule, "create_from_cloudformation_json", classmethod(_create)))
install, uninstall = patches.install, patches.uninstall
