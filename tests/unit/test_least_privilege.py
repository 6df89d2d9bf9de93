"""I6 on template.yaml itself: no write on "*" where AWS can scope it, and the checker finds what it should.

The calls each function really makes are checked against these policies when each end-to-end module's twin stops
(tests/e2e/conftest.py); here, the policies and the checker alone.
"""

from __future__ import annotations

from bluegreen.proof import least_privilege
from bluegreen.proof.least_privilege import Statement


def test_no_function_may_write_on_every_resource() -> None:
    # Given every function's policy in template.yaml, SAM policy templates expanded
    policies = least_privilege.function_policies()

    # When write actions granted on "*" are listed (wildcards resolved, the commented exceptions allowed)
    found = least_privilege.writes_on_star(policies)

    # Then there are none
    assert found == []


def test_every_function_of_the_template_has_its_own_policy() -> None:
    # Given / When the template is translated
    policies = least_privilege.function_policies()

    # Then each deploy function is there with statements of its own
    for function in ("PrepareReleaseFunction", "CreateGreenGroupFunction", "RollbackTrafficFunction"):
        assert policies[function], function


def test_a_call_outside_the_policy_is_reported_and_wildcards_count() -> None:
    # Given a policy that allows describing groups by wildcard and one write
    policies = {
        "Fn": [
            Statement("", "Allow", ("autoscaling:Describe*",), ("*",), False),
            Statement("", "Allow", ("route53:ChangeResourceRecordSets",), ("arn:aws:route53:::hostedzone/*",), False),
        ]
    }
    calls = {
        "Fn": ["autoscaling:DescribeAutoScalingGroups", "route53:ChangeResourceRecordSets", "ec2:RunInstances"],
        "Ghost": ["sns:Publish"],
    }

    # When the calls are checked against it
    gaps = least_privilege.calls_not_allowed(calls, policies)

    # Then the call no statement allows is reported, and so is a function the template does not have
    assert gaps == [
        "Fn: ec2:RunInstances is not allowed",
        "Ghost: not a function of template.yaml (called sns:Publish)",
    ]


def test_a_wildcard_write_on_every_resource_is_caught() -> None:
    # Given a statement granting ec2:Create* and autoscaling:Describe* on "*"
    policies = {"Fn": [Statement("Loose", "Allow", ("ec2:Create*", "autoscaling:Describe*"), ("*",), False)]}

    # When writes on "*" are listed
    found = least_privilege.writes_on_star(policies)

    # Then each concrete ec2 Create action is named (the describes are reads)
    assert "Fn (Loose): ec2:CreateSnapshot on *" in found
    assert not [line for line in found if "autoscaling:" in line]


def test_actions_that_have_no_resource_may_be_granted_on_every_resource() -> None:
    # Given a statement granting task callbacks on "*" (task tokens are not resources)
    policies = {"Fn": [Statement("", "Allow", ("states:SendTaskSuccess", "states:SendTaskFailure"), ("*",), False)]}

    # When / Then nothing is reported
    assert least_privilege.writes_on_star(policies) == []
