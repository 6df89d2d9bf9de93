"""moto 5.2 merges an instance's security groups into every attached interface, and takes any group id; this fixes both.

Real AWS: each network interface has its own security groups. ModifyNetworkInterfaceAttribute with Groups replaces
them ("The new set of groups you specify replaces the current set", EC2 API, "ModifyNetworkInterfaceAttribute");
an instance's groups (DescribeInstances, ModifyInstanceAttribute) are those of its primary interface (device index 0).
moto answers every attached interface with its own groups plus the instance's, so groups can never be taken off an
attached interface; here an interface reports its own groups only, and changing the primary interface's groups
changes the instance's (and the other way round).

The groups must exist and belong to the interface's VPC: a group is for the VPC it was created in, unless
AssociateSecurityGroupVpc "Associates a security group with another VPC in the same Region. This enables you to use
the same security group with network interfaces and instances in the specified VPC." (EC2 API,
"AssociateSecurityGroupVpc"; moto has no such call, so here a group is for its own VPC only). AWS refuses the call
and changes nothing: a group that does not exist is `InvalidGroup.NotFound` "The security group 'sg-...' does not
exist"; a group of another VPC is `InvalidGroup.NotFound` "You have specified two resources that belong to different
networks." moto takes any id: an unknown one leaves the interface with no group at all. ModifyInstanceAttribute
Groups on an instance with more than one interface is refused with `InvalidInstanceID` "There are multiple interfaces
attached to instance 'i-...'. Please specify an interface ID for the operation instead."; moto changes the primary
interface.
"""

from __future__ import annotations

from typing import Any

from moto.ec2.exceptions import EC2ClientError, InvalidSecurityGroupNotFoundError
from moto.ec2.models.elastic_network_interfaces import NetworkInterface, NetworkInterfaceBackend
from moto.ec2.models.instances import InstanceBackend

from bluegreen.twin.patching import Patches

_original_modify_interface = NetworkInterfaceBackend.modify_network_interface_attribute
_original_modify_instance_groups = InstanceBackend.modify_instance_security_groups


def _group_set(self: NetworkInterface) -> Any:
    return self._group_set


def _check_groups(backend: Any, group_ids: list[str], vpc_id: str | None) -> None:
    """Refuse the whole call before anything changes, as EC2 does."""
    for group_id in group_ids:
        group = backend.get_security_group_from_id(group_id)
        if group is None:
            raise InvalidSecurityGroupNotFoundError(group_id)
        if vpc_id is not None and group.vpc_id != vpc_id:
            raise EC2ClientError(
                "InvalidGroup.NotFound", "You have specified two resources that belong to different networks."
            )


def _modify_interface(
    self: NetworkInterfaceBackend,
    eni_id: str,
    group_ids: list[str],
    source_dest_check: bool | None = None,
    description: str | None = None,
) -> None:
    eni = self.get_network_interface(eni_id)
    _check_groups(self, group_ids, eni.subnet.vpc_id)
    _original_modify_interface(self, eni_id, group_ids, source_dest_check, description)
    if group_ids and eni.instance is not None and eni.device_index == 0:
        eni.instance.security_groups = list(eni._group_set)


def _modify_instance_groups(self: InstanceBackend, instance_id: str, new_group_id_list: list[str]) -> Any:
    instance = self.get_instance(instance_id)
    if len(instance.nics) > 1:
        raise EC2ClientError(
            "InvalidInstanceID",
            f"There are multiple interfaces attached to instance '{instance_id}'. "
            "Please specify an interface ID for the operation instead.",
        )
    _check_groups(self, new_group_id_list, instance.vpc_id)
    instance = _original_modify_instance_groups(self, instance_id, new_group_id_list)
    for eni in instance.nics.values():
        if eni.device_index == 0:
            eni._group_set = list(instance.security_groups)
    return instance


patches = Patches(
    __name__,
    (NetworkInterface, "group_set", property(_group_set)),
    (NetworkInterfaceBackend, "modify_network_interface_attribute", _modify_interface),
    (InstanceBackend, "modify_instance_security_groups", _modify_instance_groups),
)
install, uninstall = patches.install, patches.uninstall
