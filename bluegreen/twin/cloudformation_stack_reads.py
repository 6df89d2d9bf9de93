"""moto 5.2 creates a stack's resources when the stack is read during its creation, so they end up created twice.

Real AWS (CloudFormation User Guide, "CloudFormation template Outputs syntax"): "Output values are available after the
stack operation is complete. Stack output values aren't available when a stack status is in any of the IN_PROGRESS
statuses." Describing a stack (DescribeStacks, DescribeStackResources, ListStackResources) only reads it: each
resource is created once, by the stack operation; while it runs, the resources listed are those created so far.

moto resolves outputs and resource lists through a lazy map that creates any resource not created yet. A
DescribeStacks from another client while CreateStack runs therefore creates the resources its outputs refer to, and
CreateStack then creates them again: two state machines (say), the outputs naming one and the rules that target it
the other. Here a stack whose status is CREATE_PENDING or *_IN_PROGRESS reports no outputs and only the resources
already created.
"""

from __future__ import annotations

from typing import Any

from moto.cloudformation.models import Stack

from bluegreen.twin.patching import Patches

_original_outputs: property = vars(Stack)["outputs"]
_original_stack_resources: property = vars(Stack)["stack_resources"]


def _in_progress(stack: Stack) -> bool:
    return stack.status == "CREATE_PENDING" or stack.status.endswith("_IN_PROGRESS")


def _outputs(self: Stack) -> list[dict[str, Any]] | None:
    if _in_progress(self):
        return None
    return _original_outputs.fget(self)


def _stack_resources(self: Stack) -> Any:
    if _in_progress(self):
        resource_map = self.resource_map
        created = dict(resource_map._parsed_resources)  # a copy: the stack operation adds to it meanwhile
        return [created[name] for name in list(resource_map.resources) if name in created]
    return _original_stack_resources.fget(self)


patches = Patches(
    __name__,
    (Stack, "outputs", property(_outputs)),
    (Stack, "stack_resources", property(_stack_resources)),
)
install, uninstall = patches.install, patches.uninstall
