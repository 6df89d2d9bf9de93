"""The reachability check: its call graph on small packages and on the orchestrator, and the findings it makes."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from bluegreen.proof import reachability
from bluegreen.proof.least_privilege import Statement
from bluegreen.proof.reachability import Finding, Graph, Package

AWS = """
def client(service):
    return service

def paginate(api, operation, key, **kwargs):
    return [item for page in api.get_paginator(operation).paginate(**kwargs) for item in page[key]]
"""


def graph_of(tmp_path: Path, modules: dict[str, str]) -> Graph:
    """A package `pkg` of these modules (dotted name under pkg -> source), its adapters' aws module included."""
    for name, source in {"adapters.aws": AWS, **modules}.items():
        path = tmp_path / "pkg" / Path(*name.split(".")).with_suffix(".py")
        path.parent.mkdir(parents=True, exist_ok=True)
        for folder in (f for f in [path.parent, *path.parent.parents] if tmp_path in f.parents):
            (folder / "__init__.py").touch()
        path.write_text(textwrap.dedent(source))
    return Graph(Package.load(tmp_path, "pkg"))


def test_a_call_through_a_module_alias_reaches_the_adapters_operation(tmp_path: Path) -> None:
    # Given an adapter module imported under another name, and a second adapter never called
    graph = graph_of(
        tmp_path,
        {
            "adapters.ec2": """
                from pkg.adapters.aws import client

                def images(api=None):
                    api = api or client("ec2")
                    return api.describe_images(ImageIds=["ami-1"])

                def launch(api=None):
                    (api or client("ec2")).run_instances(MinCount=1, MaxCount=1)
            """,
            "domain.logic": """
                from pkg.adapters import ec2 as compute

                def run():
                    return compute.images()
            """,
        },
    )

    # When the actions reachable from the domain function are listed
    actions = graph.actions("pkg.domain.logic.run")

    # Then the aliased module's function counts, and the one nothing calls does not
    assert actions == {"ec2:DescribeImages"}


def test_a_method_called_on_an_object_of_unknown_class_reaches_every_method_of_that_name(tmp_path: Path) -> None:
    # Given two routers whose `weights` read different services, chosen at run time, and a caller that only knows
    # the object it was handed
    graph = graph_of(
        tmp_path,
        {
            "domain.routers": """
                from pkg.adapters.aws import client

                class DnsRouter:
                    def weights(self):
                        return client("route53").list_resource_record_sets(HostedZoneId="Z")

                class AlbRouter:
                    def weights(self):
                        return self._rules()

                    def _rules(self):
                        return client("elbv2").describe_rules(RuleArns=["r"])

                def of(kind):
                    return AlbRouter() if kind == "alb" else DnsRouter()
            """,
            "domain.reconcile": """
                from pkg.domain import routers

                def reconcile(kind):
                    return routers.of(kind).weights()
            """,
        },
    )

    # When the actions reachable from the caller are listed
    actions = graph.actions("pkg.domain.reconcile.reconcile")

    # Then both routers' reads are there, the ALB's through a method of its own class
    assert actions == {"route53:ListResourceRecordSets", "elasticloadbalancing:DescribeRules"}


def test_a_builtin_method_name_and_a_method_of_the_own_class_stay_precise(tmp_path: Path) -> None:
    # Given a package class with an `update` method and two classes with a `_read` each, reading different services
    graph = graph_of(
        tmp_path,
        {
            "domain.things": """
                from pkg.adapters.aws import client

                class Store:
                    def update(self, item):
                        client("dynamodb").put_item(TableName="t", Item=item)

                class Dns:
                    def weights(self):
                        return self._read()

                    def _read(self):
                        return client("route53").list_resource_record_sets(HostedZoneId="Z")

                class Alb:
                    def _read(self):
                        return client("elbv2").describe_rules(RuleArns=["r"])

                def merge(fields, more):
                    fields.update(more)
                    return Dns().weights()
            """,
        },
    )

    # When the actions reachable from merge are listed
    actions = graph.actions("pkg.domain.things.merge")

    # Then a dict's update is not Store.update, and self._read is Dns's own, not Alb's
    assert actions == {"route53:ListResourceRecordSets"}


def test_a_paginator_named_by_a_string_is_an_operation_of_the_modules_client(tmp_path: Path) -> None:
    # Given an adapter that pages through a helper with the operation's name, and a helper handed as a callback
    graph = graph_of(
        tmp_path,
        {
            "adapters.ec2": """
                from concurrent.futures import ThreadPoolExecutor

                from pkg.adapters.aws import client, paginate

                def instances(api=None):
                    api = api or client("ec2")
                    return paginate(api, "describe_instances", "Reservations")

                def snapshot(instance_id):
                    return client("ec2").create_snapshots(InstanceSpecification={"InstanceId": instance_id})

                def snapshot_all(ids):
                    with ThreadPoolExecutor(2) as pool:
                        return list(pool.map(snapshot, ids))
            """,
        },
    )

    # When the actions reachable from each are listed
    paged = graph.actions("pkg.adapters.ec2.instances")
    handed_over = graph.actions("pkg.adapters.ec2.snapshot_all")

    # Then the paginator's operation is reached, and so is the callback's (CreateSnapshots without tags needs no more)
    assert paged == {"ec2:DescribeInstances"}
    assert handed_over == {"ec2:CreateSnapshots"}


def test_a_powertools_parameter_read_is_ssm_get_parameter(tmp_path: Path) -> None:
    # Given an adapter that reads a parameter through Powertools' SSMProvider, built by a cached helper
    graph = graph_of(
        tmp_path,
        {
            "adapters.config_store": """
                from aws_lambda_powertools.utilities import parameters

                from pkg.adapters.aws import client

                def _provider(ssm) -> parameters.SSMProvider:
                    return parameters.SSMProvider(boto3_client=ssm)

                def load(name):
                    return _provider(client("ssm")).get(name, max_age=5)
            """,
        },
    )

    # When the actions reachable from load are listed
    actions = graph.actions("pkg.adapters.config_store.load")

    # Then the provider's get is GetParameter
    assert actions == {"ssm:GetParameter"}


def test_a_local_variable_named_like_a_module_function_is_not_a_call_of_it(tmp_path: Path) -> None:
    # Given a function whose local `preempt` shadows the module's preempt(), which reaches an action
    graph = graph_of(
        tmp_path,
        {
            "domain.case": """
                from pkg.adapters.aws import client

                def preempt():
                    client("stepfunctions").send_task_failure(taskToken="t")

                def open_case(times):
                    preempt, lease = times
                    return {"preempt_seconds": preempt, "lease": lease}
            """,
        },
    )

    # When the actions reachable from open_case are listed
    actions = graph.actions("pkg.domain.case.open_case")

    # Then there are none
    assert actions == set()


def test_dependent_actions_come_with_the_parameters_that_need_them(tmp_path: Path) -> None:
    # Given one group update that pins a launch template and one that only resizes
    graph = graph_of(
        tmp_path,
        {
            "adapters.autoscaling": """
                from pkg.adapters.aws import client

                def pin(name, spec):
                    client("autoscaling").update_auto_scaling_group(AutoScalingGroupName=name, LaunchTemplate=spec)

                def resize(name, size):
                    client("autoscaling").update_auto_scaling_group(AutoScalingGroupName=name, MinSize=size)
            """,
        },
    )

    # When the actions each reaches are listed
    pinning = graph.actions("pkg.adapters.autoscaling.pin")
    resizing = graph.actions("pkg.adapters.autoscaling.resize")

    # Then only the launch template's update needs to launch, pass the role and tag
    assert pinning == {
        "autoscaling:UpdateAutoScalingGroup",
        "ec2:RunInstances",
        "iam:PassRole",
        "ec2:CreateTags",
    }
    assert resizing == {"autoscaling:UpdateAutoScalingGroup"}


@pytest.fixture(scope="module")
def orchestrator() -> Graph:
    return Graph(Package.load())


def test_prepare_reaches_the_ami_and_config_reads(orchestrator: Graph) -> None:
    # Given the orchestrator's call graph and Prepare's handler as the template names it
    handler = reachability.handlers()["PrepareReleaseFunction"]

    # When the actions it reaches are listed
    actions = orchestrator.actions(handler)

    # Then the AMI's description, the app's configuration (Powertools' SSMProvider.get) and the ALB router's
    # conversion are among them
    assert {"ec2:DescribeImages", "ssm:GetParameter", "elasticloadbalancing:ModifyRule"} <= actions


def test_a_health_check_reaches_no_write_of_the_green_group(orchestrator: Graph) -> None:
    # Given the orchestrator's call graph and the health check's handler
    handler = reachability.handlers()["CheckGreenHealthFunction"]

    # When the actions it reaches are listed
    actions = orchestrator.actions(handler)

    # Then it reads the group and its targets, and makes no launch template version
    assert {"autoscaling:DescribeAutoScalingGroups", "elasticloadbalancing:DescribeTargetHealth"} <= actions
    assert "ec2:CreateLaunchTemplateVersion" not in actions


def test_reconciling_an_alb_routed_app_reads_its_listeners(orchestrator: Graph) -> None:
    # Given the orchestrator's call graph and the reconciler's handler
    handler = reachability.handlers()["ReconcileReleaseFunction"]

    # When the actions it reaches are listed
    actions = orchestrator.actions(handler)

    # Then the ALB router's weights are read (routers.of(config).weights()), as are Route 53's
    assert {"elasticloadbalancing:DescribeListeners", "route53:ListResourceRecordSets"} <= actions


def test_a_reached_action_the_policy_does_not_allow_is_a_finding() -> None:
    # Given a function that reaches two actions and a policy that allows one of them
    reached = {"Fn": {"ec2:DescribeImages", "ssm:GetParameter"}}
    policies = {"Fn": [Statement("Describe", "Allow", ("ec2:DescribeImages",), ("*",), False)]}

    # When they are checked
    findings, _ = reachability.check(reached, policies, exceptions={})

    # Then the missing one is reported as not allowed
    assert findings == [Finding("Fn", "ssm:GetParameter", "not allowed")]
    assert str(findings[0]) == "Fn reaches ssm:GetParameter, not allowed"


def test_a_grant_nothing_reaches_is_a_finding_unless_a_sam_policy_template_made_it() -> None:
    # Given a function that reaches GetItem, a hand-written grant it never uses, and DynamoDBCrudPolicy's bundle
    crud = ("dynamodb:GetItem", "dynamodb:DeleteItem", "dynamodb:Scan")
    reached = {"Fn": {"dynamodb:GetItem"}}
    policies = {
        "Fn": [
            Statement("", "Allow", crud, ("arn:aws:dynamodb:us-east-1:1:table/t",), False),
            Statement("", "Allow", ("route53:ChangeResourceRecordSets",), ("arn:aws:route53:::hostedzone/*",), False),
        ]
    }

    # When they are checked, the bundle known as a SAM policy template's statement
    findings, accepted = reachability.check(reached, policies, {"Fn": {crud}}, exceptions={})

    # Then the hand-written grant is reported, the template's unused actions are accepted, not reported
    assert findings == [Finding("Fn", "route53:ChangeResourceRecordSets", "unreached")]
    assert accepted == {("Fn", "dynamodb:DeleteItem"), ("Fn", "dynamodb:Scan")}


def test_an_exception_keeps_an_unreached_grant_from_being_a_finding() -> None:
    # Given a grant nothing reaches, named in the exceptions with why
    policies = {"Fn": [Statement("Keep", "Allow", ("ec2:DescribeImages",), ("*",), False)]}
    exceptions = {("Fn", "ec2:DescribeImages"): "why it stays"}

    # When checked with and without that exception
    kept, _ = reachability.check({"Fn": set()}, policies, exceptions=exceptions)
    reported, _ = reachability.check({"Fn": set()}, policies, exceptions={})

    # Then only without it is the grant reported
    assert kept == []
    assert reported == [Finding("Fn", "ec2:DescribeImages", "unreached")]


def test_the_sam_policy_templates_of_the_template_are_recognised() -> None:
    # Given / When the untranslated template's policy templates are read
    statements = reachability.sam_template_statements()

    # Then CheckDnsChange's DynamoDBCrudPolicy is there, and its inline route53 statement is not
    assert any("dynamodb:Scan" in actions for actions in statements["CheckDnsChangeFunction"])
    assert not any("route53:ChangeResourceRecordSets" in a for a in statements["CheckDnsChangeFunction"])
