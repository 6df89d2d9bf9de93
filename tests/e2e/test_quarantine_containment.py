"""Quarantine that really contains (issue 8), end to end on the twin: network first and untracked before isolated,
credentials revoked from that instance only, evidence taken together, every state an instance can be in, and no
emergency release but the quarantine's own."""

from __future__ import annotations

import json

import pytest

from bluegreen.cli import ops
from bluegreen.proof.invariants import check_quarantine, isolation_order
from bluegreen.twin import server
from tests.e2e.test_quarantine import case_item, fleet, put_finding, quarantine_for, swapped

OWN_GROUPS = {"quarantine": {"snapshot_volumes": True}}  # no group named: bluegreen's own


# --- helpers -------------------------------------------------------------------------------------------------------


def quarantine_profile(app) -> str:
    """The ARN of the stack's deny-all instance profile (template.yaml QuarantineInstanceProfile)."""
    resource = app.aws.client("cloudformation").describe_stack_resource(
        StackName=app.aws.stack, LogicalResourceId="QuarantineInstanceProfile"
    )["StackResourceDetail"]
    name = resource["PhysicalResourceId"].rsplit("/", 1)[-1]
    return app.aws.client("iam").get_instance_profile(InstanceProfileName=name)["InstanceProfile"]["Arn"]


def own_groups(app) -> dict[str, dict]:
    """bluegreen's own quarantine groups in the app's VPC, by kind."""
    found = app.aws.client("ec2").describe_security_groups(
        Filters=[
            {"Name": "vpc-id", "Values": [app.seeded.vpc_id]},
            {"Name": "tag-key", "Values": ["bluegreen:quarantine-group"]},
        ]
    )["SecurityGroups"]
    return {next(t["Value"] for t in g["Tags"] if t["Key"] == "bluegreen:quarantine-group"): g for g in found}


def contained(app, victim: str, case_id: str, isolation_group: str) -> None:
    """I5 with the credentials: the stack's deny-all profile, and the fleet role denying the instance."""
    breaches = check_quarantine(
        app.aws,
        victim,
        isolation_group,
        case_id,
        quarantine_profile=quarantine_profile(app),
        fleet_role=f"{app.name}-fleet",
    )
    assert breaches == []


def instance(app, instance_id: str) -> dict:
    return app.aws.client("ec2").describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]


def log_mark(app) -> int:
    return len(server.api_call_log(app.endpoint))


def calls_since(app, mark: int, function: str) -> list[dict]:
    return [c for c in server.api_call_log(app.endpoint)[mark:] if function in c["function"]]


def live_fleet(app) -> list[str]:
    """The instances of the app's live group (after a swap, the fresh one)."""
    group = app.status()["live"]["asg_name"]
    described = app.aws.client("autoscaling").describe_auto_scaling_groups(AutoScalingGroupNames=[group])
    return sorted(i["InstanceId"] for i in described["AutoScalingGroups"][0]["Instances"])


def unchanged_fleet(app) -> None:
    status = app.status()
    assert status["weights"] == {"blue": 100, "green": 0}
    assert app.groups() == [app.seeded.blue_asg]
    assert app.releases() == []


# --- 1. cut what is already open -----------------------------------------------------------------------------------


@pytest.mark.parametrize("app", [OWN_GROUPS], indirect=True)
def test_each_interface_gets_the_untracking_group_then_the_isolation_group_before_anything_else(app) -> None:
    # Given an instance with a second network interface, in an app that names no quarantine group
    ec2 = app.aws.client("ec2")
    victim = fleet(app)[0]
    second = ec2.create_network_interface(SubnetId=app.seeded.subnets[0])["NetworkInterface"]["NetworkInterfaceId"]
    ec2.attach_network_interface(NetworkInterfaceId=second, InstanceId=victim, DeviceIndex=1)
    interfaces = sorted(n["NetworkInterfaceId"] for n in instance(app, victim)["NetworkInterfaces"])
    mark = log_mark(app)
    # When GuardDuty reports it
    put_finding(app, victim)
    execution = app.wait(quarantine_for(app, victim))
    assert execution.status == "SUCCEEDED", execution.cause
    case = execution.output["case"]
    # Then bluegreen made its two groups in the VPC: one allowing all traffic from and to anywhere, one with no rule
    groups = own_groups(app)
    untracking, isolation = groups["untracking"], groups["isolation"]
    for rules in (untracking["IpPermissions"], untracking["IpPermissionsEgress"]):
        assert any(r["IpProtocol"] == "-1" and r["IpRanges"] == [{"CidrIp": "0.0.0.0/0"}] for r in rules)
        assert any(r["IpProtocol"] == "-1" and r["Ipv6Ranges"] == [{"CidrIpv6": "::/0"}] for r in rules)
    assert isolation["IpPermissions"] == isolation["IpPermissionsEgress"] == []
    # And each interface got the untracking group, then the isolation group, before any other change of the case
    calls = calls_since(app, mark, "IsolateInstances")
    assert isolation_order(calls, interfaces, untracking["GroupId"], isolation["GroupId"]) == []
    first = next(c for c in calls if not c["action"].split(":")[1].startswith(("Describe", "Get", "List")))
    assert first["action"] in ("ec2:CreateSecurityGroup", "dynamodb:UpdateItem")  # the groups, or the metadata record
    # And resolving the event changed nothing in the account (it only opened the case)
    resolving = calls_since(app, mark, "ResolveCase")
    assert {c["action"] for c in resolving} <= {
        "ec2:DescribeInstances",
        "autoscaling:DescribeAutoScalingInstances",
        "autoscaling:DescribeAutoScalingGroups",
        "ssm:GetParameter",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:GetItem",
    }
    # And the fleet was swapped, and I5 holds with bluegreen's isolation group after the compromised group was deleted
    assert case["status"] == "swapped" and app.groups() == [case["swap"]["green_asg"]]
    contained(app, victim, case["case_id"], isolation["GroupId"])


@pytest.mark.parametrize("app", [OWN_GROUPS], indirect=True)
def test_bluegreen_reuses_its_groups_and_puts_their_rules_right(app) -> None:
    # Given bluegreen's groups made by a first case, and someone who then opened the isolation group
    first = fleet(app)[0]
    put_finding(app, first)
    assert app.wait(quarantine_for(app, first)).status == "SUCCEEDED"
    groups = own_groups(app)
    app.aws.client("ec2").authorize_security_group_ingress(
        GroupId=groups["isolation"]["GroupId"],
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
    )
    # When a second case isolates an instance of the fresh fleet, in the same VPC
    victim = live_fleet(app)[0]
    put_finding(app, victim)
    execution = app.wait(quarantine_for(app, victim))
    assert execution.status == "SUCCEEDED", execution.cause
    # Then the same two groups were used, and the isolation group has no rule again
    again = own_groups(app)
    assert {k: g["GroupId"] for k, g in again.items()} == {k: g["GroupId"] for k, g in groups.items()}
    assert again["isolation"]["IpPermissions"] == again["isolation"]["IpPermissionsEgress"] == []
    contained(app, victim, execution.output["case"]["case_id"], again["isolation"]["GroupId"])


def test_an_isolation_group_that_no_longer_exists_fails_the_case_but_the_instance_is_isolated(app) -> None:
    # Given an app whose stored configuration names an isolation group that was deleted since
    ec2 = app.aws.client("ec2")
    ec2.delete_security_group(GroupId=app.seeded.isolation_sg)
    victim = fleet(app)[0]
    # When GuardDuty reports one of its instances
    put_finding(app, victim)
    execution = app.wait(quarantine_for(app, victim))
    # Then the case fails, naming the field, and does not swap the fleet
    assert (execution.status, execution.error) == ("FAILED", "IsolationIncompleteError")
    assert f"quarantine.security_group_id: {app.seeded.isolation_sg} does not exist" in execution.cause
    unchanged_fleet(app)
    # But the instance was isolated all the same, with bluegreen's own isolation group of the VPC
    case_id = next(h["case_id"] for h in ops.history(app.aws, app.name) if h.get("kind") == "case")
    record = case_item(app, case_id)["instances"][victim]
    assert record["steps"]["isolate_network"]["ok"] is False
    assert all(record["steps"][s]["ok"] for s in ("revoke_credentials", "protect", "snapshot"))
    groups = [g["GroupId"] for n in instance(app, victim)["NetworkInterfaces"] for g in n["Groups"]]
    assert groups == [own_groups(app)["isolation"]["GroupId"]]


# --- 2. revoke the instance's credentials ----------------------------------------------------------------------------


def test_the_instance_loses_its_credentials_and_its_elastic_ip_and_the_fleet_keeps_its_own(app) -> None:
    # Given an instance of the fleet with its role's instance profile and an Elastic IP
    ec2 = app.aws.client("ec2")
    victim = fleet(app)[0]
    own_profile = instance(app, victim)["IamInstanceProfile"]["Arn"]
    allocation = ec2.allocate_address(Domain="vpc")
    interface = instance(app, victim)["NetworkInterfaces"][0]["NetworkInterfaceId"]
    ec2.associate_address(AllocationId=allocation["AllocationId"], NetworkInterfaceId=interface)
    # When a responder quarantines it
    execution = app.wait(ops.start_quarantine(app.aws, [victim], "credentials used from an unknown IP"), timeout=120)
    assert execution.status == "SUCCEEDED", execution.cause
    case = execution.output["case"]
    # Then it holds the stack's deny-all profile, its role denies what it signs, and it has no Elastic IP
    contained(app, victim, case["case_id"], app.seeded.isolation_sg)
    # And the role's inline deny names that instance only: the fresh fleet has the role's profile, and its sessions
    iam = app.aws.client("iam")
    steps = case_item(app, case["case_id"])["instances"][victim]["steps"]
    policy = steps["revoke_credentials"]["policy"]
    assert policy.startswith(f"bluegreen-quarantine-{case['case_id']}-")
    deny = iam.get_role_policy(RoleName=f"{app.name}-fleet", PolicyName=policy)["PolicyDocument"]
    sources = deny["Statement"][0]["Condition"]["StringEquals"]["ec2:SourceInstanceARN"]
    assert [s.rsplit("/", 1)[-1] for s in sources] == [victim]
    assert sorted(iam.list_role_policies(RoleName=f"{app.name}-fleet")["PolicyNames"]) == [policy, "read-app-bucket"]
    assert {instance(app, i)["IamInstanceProfile"]["Arn"] for i in live_fleet(app)} == {own_profile}
    # And the case records each step with its time and what to undo
    assert steps["revoke_credentials"]["original_profile"] == own_profile
    assert steps["revoke_credentials"]["role"] == f"{app.name}-fleet"
    assert steps["disassociate_addresses"]["addresses"][0]["allocation_id"] == allocation["AllocationId"]
    assert all(step["at"] for step in steps.values())


@pytest.mark.parametrize(
    "app", [{"quarantine": {"security_group_id": None, "revoke_credentials": False}}], indirect=True
)
def test_credentials_are_left_alone_when_the_app_says_so(app) -> None:
    # Given an app whose config turns credential revocation off
    victim = fleet(app)[0]
    own_profile = instance(app, victim)["IamInstanceProfile"]["Arn"]
    # When one of its instances is quarantined
    put_finding(app, victim)
    execution = app.wait(quarantine_for(app, victim))
    assert execution.status == "SUCCEEDED", execution.cause
    # Then it keeps its profile and its role has no deny, and the case says why
    assert instance(app, victim)["IamInstanceProfile"]["Arn"] == own_profile
    assert app.aws.client("iam").list_role_policies(RoleName=f"{app.name}-fleet")["PolicyNames"] == ["read-app-bucket"]
    record = case_item(app, execution.output["case"]["case_id"])["instances"][victim]
    assert record["steps"]["revoke_credentials"]["result"] == "skipped (quarantine.revoke_credentials is false)"
    breaches = check_quarantine(
        app.aws, victim, own_groups(app)["isolation"]["GroupId"], execution.output["case"]["case_id"]
    )
    assert breaches == []


# --- 4. forensics-grade evidence -------------------------------------------------------------------------------------


def test_every_volume_is_snapshotted_at_once_kept_on_termination_and_the_metadata_comes_first(app) -> None:
    # Given an instance with a data volume besides its root volume
    ec2 = app.aws.client("ec2")
    victim = fleet(app)[0]
    before = instance(app, victim)
    data = ec2.create_volume(AvailabilityZone=before["Placement"]["AvailabilityZone"], Size=8)["VolumeId"]
    ec2.attach_volume(VolumeId=data, InstanceId=victim, Device="/dev/sdf")
    mark = log_mark(app)
    # When it is quarantined
    put_finding(app, victim)
    execution = app.wait(quarantine_for(app, victim))
    assert execution.status == "SUCCEEDED", execution.cause
    case_id = execution.output["case"]["case_id"]
    # Then one CreateSnapshots call took all its volumes together, tagged with the case as they were created
    calls = calls_since(app, mark, "IsolateInstances")
    assert [c["action"] for c in calls].count("ec2:CreateSnapshots") == 1
    assert "ec2:CreateSnapshot" not in [c["action"] for c in calls]
    record = case_item(app, case_id)["instances"][victim]
    volumes = {m["Ebs"]["VolumeId"] for m in instance(app, victim)["BlockDeviceMappings"]}
    assert set(record["snapshots"]) == volumes and data in volumes
    # And no volume goes with the instance any more (I5 checks the snapshot set and DeleteOnTermination)
    contained(app, victim, case_id, app.seeded.isolation_sg)
    # And the metadata was recorded before the first change, as the instance was then
    steps = record["steps"]
    assert record["metadata"]["recorded_at"] <= min(s["at"] for s in steps.values())
    assert {n["id"]: n["groups"] for n in record["metadata"]["network_interfaces"]} == {
        n["NetworkInterfaceId"]: [g["GroupId"] for g in n["Groups"]] for n in before["NetworkInterfaces"]
    }
    assert record["metadata"]["iam_instance_profile"] == before["IamInstanceProfile"]["Arn"]
    assert list(steps) == [
        "isolate_network",
        "network_acl",
        "revoke_credentials",
        "disassociate_addresses",
        "protect",
        "tag",
        "detach",
        "deregister",
        "snapshot",
        "collect_denies",
    ]


# --- 5. every state an instance can be in ----------------------------------------------------------------------------


def one_more_instance(app, lifecycle: str) -> str:
    """The live group scaled out by one, the new instance in `lifecycle` (its minimum stays healthy meanwhile)."""
    before = fleet(app)
    app.aws.client("autoscaling").set_desired_capacity(AutoScalingGroupName=app.seeded.blue_asg, DesiredCapacity=4)
    (added,) = sorted(set(fleet(app)) - set(before))
    server.set_instance_lifecycle(app.endpoint, added, lifecycle)
    return added


def test_a_launching_instance_is_contained_at_once_and_detached_once_auto_scaling_lets_it_go(app) -> None:
    # Given an instance the group is still launching, as it scales out (Auto Scaling refuses to detach it)
    victim = one_more_instance(app, "Pending")
    # When GuardDuty reports it
    put_finding(app, victim)
    arn = quarantine_for(app, victim)
    # Then its network and credentials are cut at once, and it waits in its group, protected from scale-in
    app.wait_until(lambda: (case_item_of(app, victim) or {}).get("status") == "detaching", 30, "the case to wait")
    group = app.aws.client("autoscaling").describe_auto_scaling_instances(InstanceIds=[victim])["AutoScalingInstances"]
    assert group[0]["ProtectedFromScaleIn"] is True
    record = case_item_of(app, victim)["instances"][victim]
    assert record["status"] == "awaiting_detach" and record["contained_at"]
    assert record["steps"]["detach"]["awaiting"] is True
    # When it comes into service
    server.set_instance_lifecycle(app.endpoint, victim, "InService")
    # Then the case detaches it, swaps the fleet, and the instance survives the deletion of its group
    execution = app.wait(arn, timeout=120)
    assert execution.status == "SUCCEEDED", execution.cause
    swapped(app, execution.output["case"], [victim])
    contained(app, victim, execution.output["case"]["case_id"], app.seeded.isolation_sg)


def case_item_of(app, instance_id: str) -> dict | None:
    for item in ops.state_table.history(app.name, "CASE#", 5, ops.table(app.aws)):
        if instance_id in (item.get("instances") or {}):
            return item
    return None


def test_an_instance_on_standby_is_detached_like_one_in_service(app) -> None:
    # Given an instance put on standby
    victim = one_more_instance(app, "Standby")
    # When it is quarantined
    put_finding(app, victim)
    execution = app.wait(quarantine_for(app, victim))
    # Then it is detached at once (Auto Scaling detaches Standby instances) and the fleet swapped
    assert execution.status == "SUCCEEDED", execution.cause
    swapped(app, execution.output["case"], [victim])


def test_an_instance_in_the_warm_pool_is_contained_and_no_swap_deletes_it(app) -> None:
    # Given an instance of the warm pool (Auto Scaling never detaches one from it)
    victim = one_more_instance(app, "Warmed:Stopped")
    # When it is quarantined
    put_finding(app, victim)
    execution = app.wait(quarantine_for(app, victim))
    # Then the case fails before any swap, saying what to do, and the fleet is as it was
    assert (execution.status, execution.error) == ("FAILED", "DetachBlockedError")
    assert "warm pool" in execution.cause and f"bluegreen quarantine {app.name} --swap-only" in execution.cause
    unchanged_fleet(app)
    # And the instance is contained and protected, still in its group, from scale-in too, and running
    described = instance(app, victim)
    assert described["State"]["Name"] == "running"
    assert [g["GroupId"] for n in described["NetworkInterfaces"] for g in n["Groups"]] == [app.seeded.isolation_sg]
    membership = app.aws.client("autoscaling").describe_auto_scaling_instances(InstanceIds=[victim])
    assert membership["AutoScalingInstances"][0]["ProtectedFromScaleIn"] is True
    assert case_item_of(app, victim)["status"] == "swap_failed"


def test_an_instance_of_a_closed_case_is_not_quarantined_again(app) -> None:
    # Given an instance quarantined by a case that has closed
    victim = fleet(app)[0]
    put_finding(app, victim)
    first = app.wait(quarantine_for(app, victim))
    assert first.status == "SUCCEEDED", first.cause
    tags_before = instance(app, victim)["Tags"]
    # When another finding names it
    put_finding(app, victim, finding_type="Trojan:EC2/DNSDataExfiltration")
    second = app.wait(quarantines_of(app, victim)[-1])
    # Then it is reported as in that case, and nothing is touched or swapped again
    assert second.output["case"]["outcome"] == "Ignored"
    assert (
        second.output["case"]["skipped"][0]["reason"]
        == f"already quarantined in case {first.output['case']['case_id']}"
    )
    assert instance(app, victim)["Tags"] == tags_before
    assert [r["source"] for r in app.releases()] == ["quarantine"]


def quarantines_of(app, instance_id: str) -> list[str]:
    from tests.e2e.test_quarantine import quarantines

    return app.wait_until(lambda: (arns := quarantines(app, instance_id)) and len(arns) > 1 and arns, 15, "two cases")


# --- 6. no bypass ----------------------------------------------------------------------------------------------------


def forged(app, **fields: object) -> ops.Execution:
    """The deploy machine started by hand with an emergency request, as anyone with StartExecution could."""
    payload = {"app": app.name, "ami_id": app.seeded.base_ami, "emergency": True, "source": "quarantine", **fields}
    sfn = app.aws.client("stepfunctions")
    arn = sfn.start_execution(stateMachineArn=app.stack.outputs["DeployStateMachineArn"], input=json.dumps(payload))
    return app.wait(arn["executionArn"])


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        ({}, "emergency: only the stack's quarantine state machine starts emergency releases"),
        ({"AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID": "i-am-the-quarantine"}, "is not an execution ARN"),
        (
            {
                "AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID": "arn:aws:states:us-east-1:123456789012:execution:"
                "bluegreen-DeployStateMachine-x:mine"
            },
            "is not an execution of this stack's quarantine state machine",
        ),
        (
            {
                "AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID": "arn:aws:states:us-east-1:123456789012:execution:"
                "bluegreen-QuarantineStateMachine-x:forged"
            },
            "is not found, not RUNNING",
        ),
    ],
)
def test_an_emergency_release_not_started_by_the_quarantine_is_refused_and_changes_nothing(app, fields, says) -> None:
    versions = app.launch_template_versions()
    # When someone starts the deploy machine with emergency (no approval, straight to 100 %)
    execution = forged(app, **fields)
    # Then Prepare refuses it in one line, before any change
    assert (execution.status, execution.error) == ("FAILED", "EmergencyNotAllowedError")
    assert says in execution.cause and "\n" not in execution.cause
    unchanged_fleet(app)
    assert app.lock() is None and app.launch_template_versions() == versions


def test_a_finished_quarantine_cannot_be_named_as_the_parent_of_an_emergency(app) -> None:
    # Given a quarantine that swapped the fleet and ended
    victim = fleet(app)[0]
    put_finding(app, victim)
    done = app.wait(quarantine_for(app, victim))
    assert done.status == "SUCCEEDED", done.cause
    releases = app.releases()
    # When its execution is named as the parent of a new emergency release
    execution = forged(app, AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID=done.arn, ami_id=app.seeded.base_ami)
    # Then it is refused: that quarantine is no longer running
    assert (execution.status, execution.error) == ("FAILED", "EmergencyNotAllowedError")
    assert "is SUCCEEDED, not RUNNING" in execution.cause
    assert app.releases() == releases
