"""Fidelity of Elastic IP associations: an address given to an instance's interface is that instance's."""

from __future__ import annotations

import pytest

from bluegreen.twin import ec2_address_associations
from tests.twin.conftest import STOCK_AMI


@pytest.mark.behaviour(ec2_address_associations)
def test_an_address_associated_through_an_interface_names_its_instance(aws) -> None:
    # Given an instance in a VPC, and an Elastic IP
    ec2 = aws("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.6.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.6.0.0/24")["Subnet"]["SubnetId"]
    image = STOCK_AMI
    instance = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, SubnetId=subnet)["Instances"][0]
    interface = instance["NetworkInterfaces"][0]
    allocation = ec2.allocate_address(Domain="vpc")["AllocationId"]
    # When the address is associated with the instance's interface and its private IP
    ec2.associate_address(
        AllocationId=allocation,
        NetworkInterfaceId=interface["NetworkInterfaceId"],
        PrivateIpAddress=interface["PrivateIpAddress"],
    )
    # Then DescribeAddresses names the instance too, and a search by instance finds the address
    (address,) = ec2.describe_addresses(AllocationIds=[allocation])["Addresses"]
    assert (address["InstanceId"], address["NetworkInterfaceId"]) == (
        instance["InstanceId"],
        interface["NetworkInterfaceId"],
    )
    found = ec2.describe_addresses(Filters=[{"Name": "instance-id", "Values": [instance["InstanceId"]]}])["Addresses"]
    assert [a["AllocationId"] for a in found] == [allocation]
