"""Fidelity of the twin's older behaviours that need no server: each scenario says what AWS does."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from botocore.exceptions import ClientError
from moto.autoscaling.models import FakeAutoScalingGroup

from bluegreen.twin import (
    autoscaling_detach_replacements,
    autoscaling_notifications,
    autoscaling_policy_alarms,
    autoscaling_policy_descriptions,
    ec2_launch_template_lookup,
    ec2_launch_template_versions,
    stepfunctions_cloudformation_definitions,
    stepfunctions_execution_names,
    stepfunctions_interpreter,
)
from tests.twin.conftest import STOCK_AMI

ROLE = "arn:aws:iam::123456789012:role/twin"
PASS = {"StartAt": "Done", "States": {"Done": {"Type": "Pass", "Result": {"greeting": "${Greeting}"}, "End": True}}}


def finished(sfn: Any, arn: str) -> dict:
    deadline = time.monotonic() + 4  # a Pass machine ends at once; moto alone never ends it
    while (execution := sfn.describe_execution(executionArn=arn))["status"] == "RUNNING":
        assert time.monotonic() < deadline, f"{arn} still running"
        time.sleep(0.02)
    return execution


def launch_template(aws: Any) -> str:
    image = STOCK_AMI
    return aws("ec2").create_launch_template(
        LaunchTemplateName="lt", LaunchTemplateData={"ImageId": image, "InstanceType": "t3.micro"}
    )["LaunchTemplate"]["LaunchTemplateId"]


def group(aws: Any, name: str = "g", size: int = 2) -> str:
    ec2 = aws("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.7.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.7.0.0/24")["Subnet"]["SubnetId"]
    aws("autoscaling").create_auto_scaling_group(
        AutoScalingGroupName=name,
        LaunchTemplate={"LaunchTemplateId": launch_template(aws)},
        MinSize=size,
        MaxSize=size,
        DesiredCapacity=size,
        VPCZoneIdentifier=subnet,
    )
    return name


@pytest.mark.behaviour(stepfunctions_interpreter)
def test_an_execution_runs_the_definition(aws) -> None:
    # Given a state machine whose one state is a Pass with a result
    sfn = aws("stepfunctions")
    arn = sfn.create_state_machine(name="pass", definition=json.dumps(PASS), roleArn=ROLE)["stateMachineArn"]
    # When it runs, Then its output is what the definition says (moto alone answers a canned output)
    execution = finished(sfn, sfn.start_execution(stateMachineArn=arn, input="{}")["executionArn"])
    assert json.loads(execution["output"]) == {"greeting": "${Greeting}"}


@pytest.mark.behaviour(stepfunctions_execution_names)
def test_executions_started_without_a_name_get_one_each(aws) -> None:
    sfn = aws("stepfunctions")
    arn = sfn.create_state_machine(name="unnamed", definition=json.dumps(PASS), roleArn=ROLE)["stateMachineArn"]
    # When two executions are started without a name
    first, second = (sfn.start_execution(stateMachineArn=arn)["executionArn"] for _ in range(2))
    # Then each got its own UUID name
    names = [a.rsplit(":", 1)[-1] for a in (first, second)]
    assert names[0] != names[1] and all(len(n) == 36 for n in names)


@pytest.mark.behaviour(stepfunctions_cloudformation_definitions)
def test_a_state_machine_from_cloudformation_gets_its_substitutions_and_runs(aws) -> None:
    # Given a stack whose state machine has a DefinitionSubstitutions entry
    template = {
        "Resources": {
            "Machine": {
                "Type": "AWS::StepFunctions::StateMachine",
                "Properties": {
                    "StateMachineName": "substituted",
                    "DefinitionString": json.dumps(PASS),
                    "DefinitionSubstitutions": {"Greeting": "hello"},
                    "RoleArn": ROLE,
                },
            }
        }
    }
    aws("cloudformation").create_stack(StackName="machines", TemplateBody=json.dumps(template))
    # When it runs
    sfn = aws("stepfunctions")
    arn = "arn:aws:states:us-east-1:123456789012:stateMachine:substituted"
    execution = finished(sfn, sfn.start_execution(stateMachineArn=arn, input="{}")["executionArn"])
    # Then the value was substituted into the definition
    assert json.loads(execution["output"]) == {"greeting": "hello"}


@pytest.mark.behaviour(ec2_launch_template_versions)
def test_deleted_launch_template_versions_are_gone_and_the_default_stays(aws) -> None:
    ec2 = aws("ec2")
    template = launch_template(aws)
    for _ in range(2):
        ec2.create_launch_template_version(LaunchTemplateId=template, SourceVersion="1", LaunchTemplateData={})
    # When version 2 and the default (1) are deleted
    answer = ec2.delete_launch_template_versions(LaunchTemplateId=template, Versions=["2", "1"])
    # Then 2 is gone, 1 is refused in the response body (not as an error), and 3 keeps its number
    assert [v["VersionNumber"] for v in answer["SuccessfullyDeletedLaunchTemplateVersions"]] == [2]
    refused = answer["UnsuccessfullyDeletedLaunchTemplateVersions"]
    assert [(v["VersionNumber"], v["ResponseError"]["Code"]) for v in refused] == [
        (1, "launchTemplateVersionIsDefault")
    ]
    left = ec2.describe_launch_template_versions(LaunchTemplateId=template)["LaunchTemplateVersions"]
    assert sorted(v["VersionNumber"] for v in left) == [1, 3]
    with pytest.raises(ClientError):
        ec2.describe_launch_template_versions(LaunchTemplateId=template, Versions=["2"])


@pytest.mark.behaviour(autoscaling_notifications)
def test_a_notification_configuration_replaces_the_topics_previous_one(aws) -> None:
    asg = aws("autoscaling")
    name = group(aws)
    topic = aws("sns").create_topic(Name="fleet")["TopicArn"]
    launch, terminate = "autoscaling:EC2_INSTANCE_LAUNCH", "autoscaling:EC2_INSTANCE_TERMINATE"
    # When a topic gets two types, and then the same topic gets one
    asg.put_notification_configuration(AutoScalingGroupName=name, TopicARN=topic, NotificationTypes=[launch, terminate])
    two = asg.describe_notification_configurations(AutoScalingGroupNames=[name])["NotificationConfigurations"]
    asg.put_notification_configuration(AutoScalingGroupName=name, TopicARN=topic, NotificationTypes=[terminate])
    one = asg.describe_notification_configurations(AutoScalingGroupNames=[name])["NotificationConfigurations"]
    # Then there was one row per type, and the second call replaced the first
    assert sorted(r["NotificationType"] for r in two) == [launch, terminate]
    assert [r["NotificationType"] for r in one] == [terminate]


@pytest.mark.behaviour(autoscaling_detach_replacements)
def test_a_detach_without_decrement_never_leaves_the_group_short(aws, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a group of two, and a record of its size whenever it launches a replacement
    name = group(aws)
    sizes: list[int] = []
    launch = FakeAutoScalingGroup.replace_autoscaling_group_instances

    def recording(self: FakeAutoScalingGroup, count: int, tags: Any) -> None:
        sizes.append(len(self.instance_states))
        launch(self, count, tags)

    monkeypatch.setattr(FakeAutoScalingGroup, "replace_autoscaling_group_instances", recording)
    asg = aws("autoscaling")
    victim = asg.describe_auto_scaling_groups(AutoScalingGroupNames=[name])["AutoScalingGroups"][0]["Instances"][0]
    # When an instance is detached without decrementing desired capacity
    asg.detach_instances(
        AutoScalingGroupName=name, InstanceIds=[victim["InstanceId"]], ShouldDecrementDesiredCapacity=False
    )
    # Then its replacement was launched while the group still had its two (a reader never sees it short)
    assert sizes == [2]


@pytest.mark.behaviour(autoscaling_policy_descriptions)
def test_a_new_scaling_policy_answers_its_arn(aws) -> None:
    name = group(aws)
    # When a step policy is put
    answer = aws("autoscaling").put_scaling_policy(
        AutoScalingGroupName=name,
        PolicyName="cpu-high",
        PolicyType="StepScaling",
        AdjustmentType="ChangeInCapacity",
        StepAdjustments=[{"MetricIntervalLowerBound": 0.0, "ScalingAdjustment": 1}],
    )
    # Then the answer names it by ARN, the ARN DescribePolicies gives it
    described = aws("autoscaling").describe_policies(AutoScalingGroupName=name)["ScalingPolicies"][0]
    assert answer["PolicyARN"] == described["PolicyARN"]


@pytest.mark.behaviour(autoscaling_policy_alarms)
def test_a_policy_is_described_with_the_alarms_that_act_on_it(aws) -> None:
    # Given a step policy and an alarm whose action is that policy
    name = group(aws)
    arn = aws("autoscaling").put_scaling_policy(
        AutoScalingGroupName=name,
        PolicyName="cpu-high",
        PolicyType="StepScaling",
        AdjustmentType="ChangeInCapacity",
        StepAdjustments=[{"MetricIntervalLowerBound": 0.0, "ScalingAdjustment": 1}],
    )["PolicyARN"]
    aws("cloudwatch").put_metric_alarm(
        AlarmName="cpu-high",
        MetricName="CPUUtilization",
        Namespace="AWS/EC2",
        Statistic="Average",
        Period=60,
        EvaluationPeriods=1,
        Threshold=70.0,
        ComparisonOperator="GreaterThanThreshold",
        AlarmActions=[arn],
    )
    # When the policy is described, Then it names the alarm
    described = aws("autoscaling").describe_policies(AutoScalingGroupName=name)["ScalingPolicies"][0]
    assert [a["AlarmName"] for a in described["Alarms"]] == ["cpu-high"]


@pytest.mark.behaviour(ec2_launch_template_lookup)
def test_a_launch_template_asked_for_by_an_unknown_id_is_refused(aws) -> None:
    ec2 = aws("ec2")
    known = launch_template(aws)
    # When one template that exists and one that does not are asked for
    with pytest.raises(ClientError) as refused:
        ec2.describe_launch_templates(LaunchTemplateIds=[known, "lt-0123456789abcdef0"])
    # Then EC2 refuses, naming the missing one; the one that exists is still found alone
    assert refused.value.response["Error"]["Code"] == "InvalidLaunchTemplateId.NotFound"
    assert "lt-0123456789abcdef0" in refused.value.response["Error"]["Message"]
    assert len(ec2.describe_launch_templates(LaunchTemplateIds=[known])["LaunchTemplates"]) == 1
