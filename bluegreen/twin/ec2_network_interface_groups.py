"""moto 5.2 reports an attached network interface's security groups merged with the instance's; this fixes that.

Real AWS: each network interface has its own security groups. ModifyNetworkInterfaceAttribute with Groups replaces
them; an instance's groups (DescribeInstances, ModifyInstanceAttribute) are those of its primary interface (device
index 0). moto answers every attached interface with its own groups plus the instance's, so groups can never be
taken off an attached interface; here an interface reports its own groups only, and changing the primary
interface's groups changes the instance's (and the other way round).
"""

from __future__ import annotations

from typing import Any

from moto.ec2.models.elastic_network_interfaces import NetworkInterface, NetworkInterfaceBackend
from moto.ec2.models.instances import InstanceBackend

from bluegreen.twin.patching import Patches

_original_modify_interface = NetworkInterfaceBackend.modify_network_interface_attribute
_original_modify_instance_groups = InstanceBackend.modify_instance_security_groups


def _group_set(self: NetworkInterface) -> Any:
    return self._group_set


def _modify_interface(
    self: NetworkInterfaceBackend,
    eni_id: str,
    group_ids: list[str],
    source_dest_check: bool | None = None,
    description: str | None = None,
) -> None:
    _original_modify_interface(self, eni_id, group_ids, source_dest_check, description)
    eni = self.get_network_interface(eni_id)
    if group_ids and eni.instance is not None and eni.device_index == 0:
        eni.instance.security_groups = list(eni._group_set)


def _modify_instance_groups(self: InstanceBackend, instance_id: str, new_group_id_list: list[str]) -> Any:
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
