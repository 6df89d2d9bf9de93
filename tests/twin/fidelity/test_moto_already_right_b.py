"""AWS behaviours the twin relies on that moto already has: regression tests, so a moto upgrade that loses one fails."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.twin.conftest import STOCK_AMI

ROLE = "arn:aws:iam::123456789012:role/twin"


def finished(sfn: Any, arn: str) -> dict:
    deadline = time.monotonic() + 20
    while (execution := sfn.describe_execution(executionArn=arn))["status"] == "RUNNING":
        assert time.monotonic() < deadline, f"{arn} still running"
        time.sleep(0.05)
    return execution


def test_a_state_output_over_256_kib_fails_the_execution(twin_moto: Any) -> None:
    # Given a machine whose Pass state copies its 150 KB input next to itself (its output is 300 KB)
    sfn = twin_moto("stepfunctions")
    definition = {
        "StartAt": "Copy",
        "States": {"Copy": {"Type": "Pass", "Parameters": {"data.$": "$.data"}, "ResultPath": "$.copy", "End": True}},
    }
    arn = sfn.create_state_machine(name="grow", definition=json.dumps(definition), roleArn=ROLE)["stateMachineArn"]

    # When it runs
    started = sfn.start_execution(stateMachineArn=arn, input=json.dumps({"data": "x" * 150_000}))
    execution = finished(sfn, started["executionArn"])

    # Then it fails with States.DataLimitExceeded (Step Functions service quotas: 256 KiB per state output)
    assert execution["status"] == "FAILED"
    assert execution["error"] == "States.DataLimitExceeded"


# --- the quarantine path's calls -------------------------------------------------------------------------------


def _instance_with_a_data_volume(ec2: Any) -> tuple[str, str, list[str]]:
    """(vpc, instance, its volumes): a root volume and an attached data volume."""
    vpc = ec2.create_vpc(CidrBlock="10.7.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.7.0.0/24", AvailabilityZone="us-east-1a")["Subnet"]["SubnetId"]
    image = STOCK_AMI
    instance = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, SubnetId=subnet)["Instances"][0]["InstanceId"]
    data = ec2.create_volume(AvailabilityZone="us-east-1a", Size=5)["VolumeId"]
    ec2.attach_volume(VolumeId=data, InstanceId=instance, Device="/dev/sdf")
    described = ec2.describe_instances(InstanceIds=[instance])["Reservations"][0]["Instances"][0]
    return vpc, instance, sorted(m["Ebs"]["VolumeId"] for m in described["BlockDeviceMappings"])


def test_create_snapshots_takes_every_volume_of_the_instance_tagged_as_created(twin_moto: Any) -> None:
    # Given an instance with a root and a data volume
    ec2 = twin_moto("ec2")
    _, instance, volumes = _instance_with_a_data_volume(ec2)
    # When CreateSnapshots is given the instance and tags (EC2 API, "CreateSnapshots": "Creates crash-consistent
    # snapshots of multiple EBS volumes attached to an Amazon EC2 instance")
    tags = [{"Key": "bluegreen:quarantine", "Value": "case-1"}]
    created = ec2.create_snapshots(
        InstanceSpecification={"InstanceId": instance},
        TagSpecifications=[{"ResourceType": "snapshot", "Tags": tags}],
    )["Snapshots"]
    # Then there is one snapshot per volume, each with the tags from the start
    assert sorted(s["VolumeId"] for s in created) == volumes
    found = ec2.describe_snapshots(
        OwnerIds=["self"], Filters=[{"Name": "tag:bluegreen:quarantine", "Values": ["case-1"]}]
    )["Snapshots"]
    assert sorted(s["VolumeId"] for s in found) == volumes


def test_delete_on_termination_can_be_turned_off_on_attached_volumes(twin_moto: Any) -> None:
    # Given an instance whose root volume goes with it on termination
    ec2 = twin_moto("ec2")
    _, instance, _ = _instance_with_a_data_volume(ec2)
    before = ec2.describe_instances(InstanceIds=[instance])["Reservations"][0]["Instances"][0]["BlockDeviceMappings"]
    assert any(m["Ebs"]["DeleteOnTermination"] for m in before)
    # When ModifyInstanceAttribute turns DeleteOnTermination off on every mapping
    ec2.modify_instance_attribute(
        InstanceId=instance,
        BlockDeviceMappings=[{"DeviceName": m["DeviceName"], "Ebs": {"DeleteOnTermination": False}} for m in before],
    )
    # Then every volume stays after the instance (EC2 API, "ModifyInstanceAttribute", BlockDeviceMapping)
    after = ec2.describe_instances(InstanceIds=[instance])["Reservations"][0]["Instances"][0]["BlockDeviceMappings"]
    assert [m["Ebs"]["DeleteOnTermination"] for m in after] == [False] * len(before)


def test_a_new_vpc_group_allows_all_egress_until_that_rule_is_revoked(twin_moto: Any) -> None:
    # Given a new security group in a VPC (VPC User Guide, "Security groups": it has an outbound rule that allows all
    # outbound traffic, and no inbound rule)
    ec2 = twin_moto("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.8.0.0/16")["Vpc"]["VpcId"]
    group = ec2.create_security_group(GroupName="isolation", Description="no rule", VpcId=vpc)["GroupId"]
    described = ec2.describe_security_groups(GroupIds=[group])["SecurityGroups"][0]
    assert described["IpPermissions"] == []
    assert [r["IpProtocol"] for r in described["IpPermissionsEgress"]] == ["-1"]
    # When that rule is revoked, Then the group has no rule at all; a second group of that name in the VPC is refused
    ec2.revoke_security_group_egress(GroupId=group, IpPermissions=described["IpPermissionsEgress"])
    assert ec2.describe_security_groups(GroupIds=[group])["SecurityGroups"][0]["IpPermissionsEgress"] == []
    with pytest.raises(ClientError) as refused:
        ec2.create_security_group(GroupName="isolation", Description="again", VpcId=vpc)
    assert refused.value.response["Error"]["Code"] == "InvalidGroup.Duplicate"


def test_a_disassociated_elastic_ip_leaves_the_instance(twin_moto: Any) -> None:
    # Given an instance with an Elastic IP
    ec2 = twin_moto("ec2")
    _, instance, _ = _instance_with_a_data_volume(ec2)
    allocation = ec2.allocate_address(Domain="vpc")["AllocationId"]
    association = ec2.associate_address(AllocationId=allocation, InstanceId=instance)["AssociationId"]
    # When it is disassociated
    ec2.disassociate_address(AssociationId=association)
    # Then the instance has it no more, the address stays allocated, and a second disassociation is refused
    assert ec2.describe_addresses(Filters=[{"Name": "instance-id", "Values": [instance]}])["Addresses"] == []
    assert "AssociationId" not in ec2.describe_addresses(AllocationIds=[allocation])["Addresses"][0]
    with pytest.raises(ClientError) as refused:
        ec2.disassociate_address(AssociationId=association)
    assert refused.value.response["Error"]["Code"] == "InvalidAssociationID.NotFound"


def test_an_inline_deny_on_a_role_is_kept_as_written_and_can_be_deleted(twin_moto: Any) -> None:
    # Given a role, and a deny conditioned on the instance its sessions come from
    iam = twin_moto("iam")
    iam.create_role(RoleName="fleet", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}))
    arn = "arn:aws:ec2:us-east-1:123456789012:instance/i-0123456789abcdef0"
    condition = {"StringEquals": {"ec2:SourceInstanceARN": arn}}
    deny = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*", "Condition": condition}],
    }
    # When it is put, read and deleted
    iam.put_role_policy(RoleName="fleet", PolicyName="q", PolicyDocument=json.dumps(deny))
    assert iam.get_role_policy(RoleName="fleet", PolicyName="q")["PolicyDocument"] == deny
    iam.delete_role_policy(RoleName="fleet", PolicyName="q")
    # Then it is gone, and deleting it again is NoSuchEntity
    with pytest.raises(ClientError) as refused:
        iam.delete_role_policy(RoleName="fleet", PolicyName="q")
    assert refused.value.response["Error"]["Code"] == "NoSuchEntity"
