"""EC2 refuses security groups that do not exist or belong to another VPC, and changes nothing (ec2_network_interface_groups)."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from bluegreen.twin import ec2_network_interface_groups


def network(ec2: Any, cidr: str) -> tuple[str, str, str]:
    """A VPC, a subnet in it and a security group of it."""
    vpc = ec2.create_vpc(CidrBlock=f"{cidr}.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock=f"{cidr}.0.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName=f"app-{cidr}", Description="app", VpcId=vpc)["GroupId"]
    return vpc, subnet, group


def instance_in(ec2: Any, subnet: str, group: str) -> tuple[str, str]:
    """An instance with one interface; returns (instance id, interface id)."""
    # One of moto's stock AMIs (listing them all is slow)
    described = ec2.run_instances(
        ImageId="ami-12c6146b", MinCount=1, MaxCount=1, SubnetId=subnet, SecurityGroupIds=[group]
    )
    instance = described["Instances"][0]
    return instance["InstanceId"], instance["NetworkInterfaces"][0]["NetworkInterfaceId"]


def groups_of(ec2: Any, interface: str) -> list[str]:
    described = ec2.describe_network_interfaces(NetworkInterfaceIds=[interface])["NetworkInterfaces"][0]
    return [g["GroupId"] for g in described["Groups"]]


@pytest.mark.behaviour(ec2_network_interface_groups)
def test_an_interface_cannot_get_a_group_that_does_not_exist(aws) -> None:
    # Given an interface in app-group
    ec2 = aws("ec2")
    _, subnet, group = network(ec2, "10.20")
    _, interface = instance_in(ec2, subnet, group)

    # When it is given a group id that does not exist
    with pytest.raises(ClientError) as refused:
        ec2.modify_network_interface_attribute(NetworkInterfaceId=interface, Groups=["sg-0123456789abcdef0"])

    # Then EC2 refuses, naming the group, and the interface keeps its group
    assert refused.value.response["Error"]["Code"] == "InvalidGroup.NotFound"
    assert "sg-0123456789abcdef0" in refused.value.response["Error"]["Message"]
    assert groups_of(ec2, interface) == [group]


@pytest.mark.behaviour(ec2_network_interface_groups)
def test_an_interface_cannot_get_a_group_of_another_vpc(aws) -> None:
    # Given an interface in one VPC, and a group of another VPC
    ec2 = aws("ec2")
    _, subnet, group = network(ec2, "10.21")
    _, _, elsewhere = network(ec2, "10.22")
    _, interface = instance_in(ec2, subnet, group)

    # When the interface is given its own group and the other VPC's
    with pytest.raises(ClientError) as refused:
        ec2.modify_network_interface_attribute(NetworkInterfaceId=interface, Groups=[group, elsewhere])

    # Then EC2 refuses the whole call, and the interface keeps its group
    assert refused.value.response["Error"]["Code"] == "InvalidGroup.NotFound"
    assert groups_of(ec2, interface) == [group]


@pytest.mark.behaviour(ec2_network_interface_groups)
def test_an_instance_cannot_get_a_group_that_does_not_exist(aws) -> None:
    # Given an instance with one interface, in app-group
    ec2 = aws("ec2")
    _, subnet, group = network(ec2, "10.23")
    instance, interface = instance_in(ec2, subnet, group)

    # When ModifyInstanceAttribute gives it a group id that does not exist
    with pytest.raises(ClientError) as refused:
        ec2.modify_instance_attribute(InstanceId=instance, Groups=["sg-0123456789abcdef0"])

    # Then EC2 refuses, and the instance and its interface keep their group
    assert refused.value.response["Error"]["Code"] == "InvalidGroup.NotFound"
    described = ec2.describe_instances(InstanceIds=[instance])["Reservations"][0]["Instances"][0]
    assert [g["GroupId"] for g in described["SecurityGroups"]] == [group]
    assert groups_of(ec2, interface) == [group]


@pytest.mark.behaviour(ec2_network_interface_groups)
def test_an_instance_with_two_interfaces_needs_an_interface_id(aws) -> None:
    # Given an instance with a second interface attached
    ec2 = aws("ec2")
    _, subnet, group = network(ec2, "10.24")
    instance, primary = instance_in(ec2, subnet, group)
    second = ec2.create_network_interface(SubnetId=subnet, Groups=[group])["NetworkInterface"]["NetworkInterfaceId"]
    ec2.attach_network_interface(NetworkInterfaceId=second, InstanceId=instance, DeviceIndex=1)
    isolation = ec2.create_security_group(GroupName="iso", Description="iso", VpcId=network_vpc(ec2, subnet))["GroupId"]

    # When ModifyInstanceAttribute changes its groups
    with pytest.raises(ClientError) as refused:
        ec2.modify_instance_attribute(InstanceId=instance, Groups=[isolation])

    # Then EC2 asks for an interface id instead, and no interface changed
    assert refused.value.response["Error"]["Code"] == "InvalidInstanceID"
    assert groups_of(ec2, primary) == groups_of(ec2, second) == [group]


def network_vpc(ec2: Any, subnet: str) -> str:
    return ec2.describe_subnets(SubnetIds=[subnet])["Subnets"][0]["VpcId"]
