"""IAM that AWS accepts: the template's policies pass parliament, and the check can fail."""

from __future__ import annotations

import json

from bluegreen.proof import iam_lint


def test_every_policy_of_the_template_passes_parliament() -> None:
    findings = iam_lint.audit(iam_lint.policies())
    assert not findings, "\n".join(map(str, findings))


def test_a_malformed_arn_is_found() -> None:
    # Given the ARN the issue found: five fields where IAM needs six
    broken = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "ec2:RunInstances", "Resource": "arn:aws:ec2:us-east-1:*"}],
    }
    # When audited, Then it is reported
    assert [f.issue for f in iam_lint.audit({"Role": [broken]})] == ["INVALID_ARN"]


def test_no_policy_uses_policy_variables() -> None:
    # SAM writes policies without a Version, so IAM reads them as 2008-10-17, where ${aws:...} is not a variable.
    assert "${aws:" not in json.dumps(iam_lint.policies())
