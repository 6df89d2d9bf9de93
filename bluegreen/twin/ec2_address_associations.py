"""moto 5.2 forgets the instance of an Elastic IP associated through its network interface; AWS names it.

Real AWS (EC2 API, "AssociateAddress"): an Elastic IP is associated "with an instance or a network interface"; given
a network interface (and, optionally, one of its private IPs), the address goes to that interface of the instance it
is attached to, and DescribeAddresses reports both the interface and the instance ("InstanceId: The ID of the instance
that the address is associated with (if any)", EC2 API, "Address"); the `instance-id` filter finds it. moto keeps the
interface only: InstanceId reads "" and the `instance-id` filter misses the address, so a quarantine looking for an
instance's Elastic IPs would leave one associated.
"""

from __future__ import annotations

from typing import Any

from moto.ec2.models.elastic_ip_addresses import ElasticAddressBackend

from bluegreen.twin.patching import Patches

_original_associate = ElasticAddressBackend.associate_address


def _associate(
    self: Any,
    instance: Any = None,
    eni: Any = None,
    address: str | None = None,
    allocation_id: str | None = None,
    reassociate: bool = False,
) -> Any:
    if instance is None and eni is not None and getattr(eni, "instance", None) is not None:
        instance = eni.instance  # the interface's instance: the address is that instance's now
    return _original_associate(self, instance, eni, address, allocation_id, reassociate)


patches = Patches(__name__, (ElasticAddressBackend, "associate_address", _associate))
install, uninstall = patches.install, patches.uninstall
