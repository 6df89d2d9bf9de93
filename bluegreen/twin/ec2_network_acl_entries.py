"""moto 5.2 takes any rule number and any number of rules in a network ACL; EC2 bounds both.

Real AWS:
- CreateNetworkAclEntry, RuleNumber: "Constraints: Positive integer from 1 to 32766. The range 32767 to 65535 is
  reserved for internal use." (EC2 API, "CreateNetworkAclEntry"); outside it the call fails with `InvalidParameterValue`
  and nothing changes. moto stores any number.
- Amazon VPC User Guide, "Amazon VPC quotas", Network ACLs: "Rules per network ACL: 20. This is the one-way quota for a
  single network ACL. This quota is enforced separately for IPv4 rules and IPv6 rules; for example, you can have 20
  ingress rules for IPv4 traffic and 20 ingress rules for IPv6 traffic. This quota includes the default deny rules
  (rule number 32767 for IPv4 and 32768 for IPv6 ...)". Past it CreateNetworkAclEntry fails with
  `NetworkAclEntryLimitExceeded` and nothing changes. moto takes any number of rules. The twin holds the default quota
  (`RULE_QUOTA`; a test may raise it as an account may, up to 40).
- DeleteNetworkAclEntry of a rule that does not exist fails with `InvalidNetworkAclEntry.NotFound`; moto fails with an
  internal error (StopIteration).

A quarantine denies the instance's addresses in the VPC's network ACLs, so it must meet these limits as AWS sets them.
"""

from __future__ import annotations

from typing import Any

from moto.ec2.exceptions import EC2ClientError
from moto.ec2.models.network_acls import NetworkAclBackend
from moto.ec2.responses.network_acls import NetworkACLs

from bluegreen.twin.patching import Patches

FIRST_RULE, LAST_RULE = 1, 32766
DEFAULT_QUOTA = 20
RULE_QUOTA = DEFAULT_QUOTA  # the account's quota: tests may raise it (up to 40), as a quota increase does

_original_request = NetworkACLs.create_network_acl_entry
_original_create = NetworkAclBackend.create_network_acl_entry
_original_delete = NetworkAclBackend.delete_network_acl_entry


def set_quota(rules: int) -> None:
    global RULE_QUOTA
    RULE_QUOTA = rules


def _is_ipv6(entry: Any) -> bool:
    return bool(getattr(entry, "ipv6_cidr_block", None))


def _request(self: NetworkACLs) -> Any:
    """A caller's rule (moto makes the default rules, 32767, through the backend: those stay allowed)."""
    number = int(self._get_param("RuleNumber"))
    if not FIRST_RULE <= number <= LAST_RULE:
        raise EC2ClientError(
            "InvalidParameterValue",
            f"Invalid value '{number}' for ruleNumber. The rule number must be in the range {FIRST_RULE}-{LAST_RULE}.",
        )
    return _original_request(self)


def _create(self: NetworkAclBackend, network_acl_id: str, rule_number: Any, *args: Any, **kwargs: Any) -> Any:
    number = int(rule_number)
    egress = kwargs["egress"] if "egress" in kwargs else args[3]
    ipv6 = bool(kwargs["ipv6_cidr_block"] if "ipv6_cidr_block" in kwargs else args[-1])
    acl = self.get_network_acl(network_acl_id)
    same = [e for e in acl.network_acl_entries if _as_bool(e.egress) == _as_bool(egress) and _is_ipv6(e) == ipv6]
    taken = any(int(e.rule_number) == number for e in acl.network_acl_entries if _as_bool(e.egress) == _as_bool(egress))
    if not taken and len(same) >= RULE_QUOTA:
        raise EC2ClientError(
            "NetworkAclEntryLimitExceeded",
            f"The maximum number of network ACL entries has been reached for {network_acl_id}.",
        )
    return _original_create(self, network_acl_id, number, *args, **kwargs)


def _delete(self: NetworkAclBackend, network_acl_id: str, rule_number: Any, egress: Any) -> Any:
    acl = self.get_network_acl(network_acl_id)
    number = int(rule_number)
    if not any(
        int(e.rule_number) == number and _as_bool(e.egress) == _as_bool(egress) for e in acl.network_acl_entries
    ):
        raise EC2ClientError(
            "InvalidNetworkAclEntry.NotFound", f"The network acl entry identified by {number} does not exist."
        )
    entry = next(
        e for e in acl.network_acl_entries if int(e.rule_number) == number and _as_bool(e.egress) == _as_bool(egress)
    )
    acl.network_acl_entries.remove(entry)
    return entry


def _as_bool(value: Any) -> bool:
    return value in (True, "true", "True")


patches = Patches(
    __name__,
    (NetworkACLs, "create_network_acl_entry", _request),
    (NetworkAclBackend, "create_network_acl_entry", _create),
    (NetworkAclBackend, "delete_network_acl_entry", _delete),
)
install, uninstall = patches.install, patches.uninstall
