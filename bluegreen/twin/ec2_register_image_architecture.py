"""moto 5.2 drops RegisterImage's Architecture: the AMI is described with none.

Real AWS (EC2 API Reference, "RegisterImage", `Architecture`): "The architecture of the AMI. Default: For Amazon
EBS-backed AMIs, i386. For instance store-backed AMIs, the architecture specified in the manifest file."
DescribeImages then reports it, and instances launched from the AMI run on it. The twin keeps the given architecture,
and i386 when none is given (the twin registers no instance-store manifests).

moto registers every AMI without an architecture, so a check that the AMI fits the fleet's instance types has nothing
to compare and passes. CreateImage (the source instance's architecture) and CopyImage (the source AMI's) are right in
moto already.
"""

from __future__ import annotations

from moto.core.responses import ActionResult
from moto.ec2.responses.amis import AmisResponse

from bluegreen.twin.patching import Patches

EBS_DEFAULT = "i386"
_original_register = AmisResponse.register_image


def _register(self: AmisResponse) -> ActionResult:
    result = _original_register(self)
    image_id = result.result["ImageId"]  # type: ignore[index]
    self.ec2_backend.amis[image_id].architecture = self._get_param("Architecture") or EBS_DEFAULT
    return result


patches = Patches(__name__, (AmisResponse, "register_image", _register))
install, uninstall = patches.install, patches.uninstall
