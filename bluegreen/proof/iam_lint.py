"""IAM that AWS accepts: every inline policy in template.yaml, after SAM translation, passes parliament.

`python -m bluegreen.proof.iam_lint` (part of `make test`). The template is translated as the twin deploys it, each
intrinsic function is resolved to a plausible value (`${AWS::Region}` -> us-east-1, a resource's ARN -> an ARN of its
type), and parliament (https://github.com/duo-labs/parliament) audits each policy: malformed ARNs, unknown actions,
resources that do not match their actions, bad condition keys. A finding parliament gets wrong is allow-listed in
`FALSE_POSITIVES`, with why.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from parliament import analyze_policy_string

from bluegreen.proof.least_privilege import TEMPLATE, _translated

PSEUDO = {
    "AWS::Partition": "aws",
    "AWS::Region": "us-east-1",
    "AWS::AccountId": "123456789012",
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::StackName": "bluegreen",
}
_ARN_OF_TYPE = {
    "AWS::DynamoDB::Table": "arn:aws:dynamodb:us-east-1:123456789012:table/{name}",
    "AWS::SNS::Topic": "arn:aws:sns:us-east-1:123456789012:{name}",
    "AWS::SQS::Queue": "arn:aws:sqs:us-east-1:123456789012:{name}",
    "AWS::Lambda::Function": "arn:aws:lambda:us-east-1:123456789012:function:{name}",
    "AWS::StepFunctions::StateMachine": "arn:aws:states:us-east-1:123456789012:stateMachine:{name}",
    "AWS::IAM::Role": "arn:aws:iam::123456789012:role/{name}",
    "AWS::IAM::InstanceProfile": "arn:aws:iam::123456789012:instance-profile/{name}",
}
# What `Ref` returns for the types whose Ref is not their name (CloudFormation's "Return values" of each type).
_REF_IS_ARN = {"AWS::SNS::Topic", "AWS::StepFunctions::StateMachine"}
_REF_IS_URL = {"AWS::SQS::Queue": "https://sqs.us-east-1.amazonaws.com/123456789012/{name}"}

# Findings parliament reports that AWS does not: (issue, a substring of its detail) -> why it is wrong.
FALSE_POSITIVES: dict[tuple[str, str], str] = {
    # SAM writes every policy without a Version; IAM then reads it as 2008-10-17, which differs from 2012-10-17 only
    # in policy variables (`${aws:...}`), and `test_no_policy_uses_policy_variables` keeps them out.
    ("NO_VERSION", ""): "SAM omits Version; no policy uses policy variables",
    # parliament audits statements one by one; CreateSnapshot(s) authorises the volume (and instance) and the new
    # snapshot separately, and the snapshot's statement carries the tag condition that the volume's cannot.
    ("RESOURCE_MISMATCH", "ec2:CreateSnapshot"): "volume and snapshot are granted by separate statements",
    # The same for CreateSecurityGroup (EC2 User Guide's own example): the VPC, and the new group with its tag condition.
    ("RESOURCE_MISMATCH", "ec2:CreateSecurityGroup"): "VPC and new group are granted by separate statements",
    # RunInstances: the launch template is granted alone (it must be tagged bluegreen:app), and what it launches (image,
    # subnets, groups, instance...) by a second statement; IAM needs both, which parliament cannot see one at a time.
    ("RESOURCE_MISMATCH", "ec2:RunInstances"): "launch template and what it launches are granted separately",
    # ModifyInstanceAttribute: the instance with its ec2:Attribute condition, and the volumes (where the reference lists
    # no ec2:Attribute) by a second statement.
    ("RESOURCE_MISMATCH", "ec2:ModifyInstanceAttribute"): "instance and volumes are granted by separate statements",
    # DescribeExecution lists an `express` resource type too; the deploy machine is Standard, whose executions are
    # `execution:` ARNs, which the statement names.
    ("RESOURCE_MISMATCH", "express"): "the deploy machine is a Standard workflow",
    # ModifyListener/ModifyRule also accept Network Load Balancer listeners (`listener/net/...`); the ALB router weights
    # Application Load Balancer listeners and rules only, so only `listener/app/...` ARNs are granted, on purpose.
    ("RESOURCE_MISMATCH", "listener/net/"): "the ALB router changes Application Load Balancer listeners only",
}


@dataclass(frozen=True)
class Finding:
    owner: str  # the role's logical id
    issue: str
    detail: str

    def __str__(self) -> str:
        return f"{self.owner}: {self.issue} {self.detail}"


def _resolve(value: Any, resources: dict[str, Any]) -> Any:
    """The value with every intrinsic function replaced by a plausible literal."""
    if isinstance(value, list):
        return [_resolve(v, resources) for v in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        ((key, arg),) = value.items()
        if key == "Ref":
            return _ref(arg, resources)
        if key == "Fn::GetAtt":
            name, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
            return _attribute(name, attribute, resources)
        if key == "Fn::Sub":
            text, extra = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])

            def sub(match: re.Match) -> str:
                name = match.group(1)
                if name in extra:
                    return str(_resolve(extra[name], resources))
                if "." in name:
                    return str(_attribute(*name.split(".", 1), resources))
                return str(_ref(name, resources))

            return re.sub(r"\$\{([^}!]+)\}", sub, text)
        if key == "Fn::Join":
            separator, parts = arg
            return separator.join(str(_resolve(p, resources)) for p in parts)
        if key == "Fn::If":
            return _resolve(arg[1], resources)  # either branch is a policy AWS must accept; take the "true" one
    return {k: _resolve(v, resources) for k, v in value.items()}


def _name(logical_id: str) -> str:
    return f"stack-{logical_id}".lower()


def _ref(name: str, resources: dict[str, Any]) -> str:
    if name in PSEUDO:
        return PSEUDO[name]
    if name in _parameters:  # a template parameter: its default, as a deploy without overrides gets it
        return str(_parameters[name])
    kind = resources.get(name, {}).get("Type", "")
    if kind in _REF_IS_ARN:
        return _ARN_OF_TYPE[kind].format(name=_name(name))
    if kind in _REF_IS_URL:
        return _REF_IS_URL[kind].format(name=_name(name))
    return _name(name)


def _attribute(name: str, attribute: str, resources: dict[str, Any]) -> str:
    kind = resources.get(name, {}).get("Type", "")
    if attribute == "Arn" and kind in _ARN_OF_TYPE:
        return _ARN_OF_TYPE[kind].format(name=_name(name))
    return _name(name)  # TopicName, QueueName, Name...


_parameters: dict[str, Any] = {}


def policies(template_path: Path = TEMPLATE) -> dict[str, list[dict]]:
    """Each IAM role's logical id -> its inline policy documents, intrinsics resolved."""
    template = _translated(Path(template_path))
    resources = template["Resources"]
    _parameters.clear()
    _parameters.update({k: p["Default"] for k, p in template.get("Parameters", {}).items() if "Default" in p})
    found: dict[str, list[dict]] = {}
    for logical_id, resource in resources.items():
        if resource["Type"] != "AWS::IAM::Role":
            continue
        documents = [p["PolicyDocument"] for p in resource["Properties"].get("Policies", [])]
        found[logical_id] = [_resolve(d, resources) for d in documents]
    return found


def audit(documents: dict[str, list[dict]]) -> list[Finding]:
    findings = []
    for owner, policy_documents in sorted(documents.items()):
        for document in policy_documents:
            for finding in analyze_policy_string(json.dumps(document)).findings:
                detail = json.dumps(finding.detail, default=str)
                if any(issue == finding.issue and needle in detail for issue, needle in FALSE_POSITIVES):
                    continue
                findings.append(Finding(owner, finding.issue, detail))
    return findings


def main() -> int:
    findings = audit(policies())
    for finding in findings:
        print(finding)
    print(f"iam-lint: {len(policies())} roles, {len(findings)} findings")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
