"""`bluegreen local up --parameter Key=Value`: template parameters for the twin's stack, checked as CloudFormation
checks them before anything starts.

CloudFormation refuses a stack whose parameter values break the template's constraints (CloudFormation User Guide,
"Parameters": `AllowedValues`, `AllowedPattern` ("When applied to a parameter of type CommaDelimitedList, the pattern
must match each value in the list"), `MinLength`/`MaxLength`, `MinValue`/`MaxValue`, a `Number` must be a number) and
a parameter the template does not declare. The twin's CloudFormation (moto) checks none of these, so `local up`
refuses them here, in one line naming the parameter and the fix, with nothing started.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from samtranslator.yaml_helper import yaml_parse

from bluegreen.cli.ops import CliError

# Set by `local up`'s own options: a --parameter may not set them behind the option's back.
OWN_OPTIONS = {"WaitScale": "--wait-scale"}


def declared(template: Path) -> dict[str, dict[str, Any]]:
    return yaml_parse(template.read_text()).get("Parameters", {})


def parse(pairs: list[str], template: Path) -> dict[str, str]:
    """{Key: Value} from Key=Value pairs, each checked against the template's declaration of Key."""
    parameters = declared(template)
    found: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise CliError(f"--parameter: {pair!r} is not Key=Value (e.g. --parameter BuildAccountIds=111122223333)")
        if key in OWN_OPTIONS:
            raise CliError(f"--parameter {key}: set it with {OWN_OPTIONS[key]}")
        if key not in parameters:
            known = ", ".join(k for k in parameters if k not in OWN_OPTIONS)
            raise CliError(f"--parameter {key}: template.yaml declares no such parameter (it has {known})")
        if key in found:
            raise CliError(f"--parameter {key}: given twice")
        problem = _problem(value, parameters[key])
        if problem:
            raise CliError(f"--parameter {key}={value}: {problem}")
        found[key] = value
    return found


def _problem(value: str, spec: dict[str, Any]) -> str | None:
    kind = spec.get("Type", "String")
    items = value.split(",") if kind == "CommaDelimitedList" else [value]
    for item in items if value or kind != "CommaDelimitedList" else []:
        if kind == "Number":
            try:
                number = float(item)
            except ValueError:
                return "must be a number"
            if "MinValue" in spec and number < float(spec["MinValue"]):
                return f"must be at least {spec['MinValue']}"
            if "MaxValue" in spec and number > float(spec["MaxValue"]):
                return f"must be at most {spec['MaxValue']}"
        allowed = [str(v) for v in spec.get("AllowedValues", [])]
        if allowed and item not in allowed:
            return f"must be one of {', '.join(allowed)}"
        pattern = spec.get("AllowedPattern")
        if pattern and not re.fullmatch(pattern, item):
            why = spec.get("ConstraintDescription")
            return f"must match {pattern}" + (f" ({' '.join(str(why).split())})" if why else "")
        if len(item) < int(spec.get("MinLength", 0)) or len(item) > int(spec.get("MaxLength", 4096)):
            return f"must be {spec.get('MinLength', 0)} to {spec.get('MaxLength', 4096)} characters"
    return None
