"""Every AWS behaviour the twin adds to moto, one module each (listed with its AWS source in docs/twin-fidelity.md).

`install()` puts them all in, once per process; tests/twin/fidelity takes one out at a time to show moto alone fails.
"""

from __future__ import annotations

import threading
from pathlib import Path
from types import ModuleType

from bluegreen.twin import (
    api_calls,
    autoscaling_capacity_bounds,
    autoscaling_detach_replacements,
    autoscaling_detach_validation,
    autoscaling_group_deletion,
    autoscaling_launch_failures,
    autoscaling_lifecycle_hooks,
    autoscaling_notifications,
    autoscaling_policy_alarms,
    autoscaling_policy_descriptions,
    autoscaling_policy_names,
    autoscaling_target_deregistration,
    botocore_model_cache,
    cloudformation_stack_reads,
    cloudformation_template_speed,
    cloudwatch_alarm_events,
    cloudwatch_target_group_metrics,
    dynamodb_item_writes,
    ec2_address_associations,
    ec2_encrypted_images,
    ec2_image_copy_access,
    ec2_image_states,
    ec2_instance_profiles,
    ec2_launch_template_lookup,
    ec2_launch_template_source_version,
    ec2_launch_template_versions,
    ec2_network_acl_entries,
    ec2_network_interface_groups,
    ec2_shared_images,
    elbv2_deregister_targets,
    elbv2_forward_action_shapes,
    elbv2_forward_action_validation,
    elbv2_target_group_load_balancers,
    elbv2_target_health,
    eventbridge_bus_policy_conditions,
    eventbridge_cross_account_buses,
    eventbridge_lambda_targets,
    eventbridge_stepfunctions_targets,
    events_rule_pattern_string,
    iam_authorization,
    iam_role_policy_size,
    kms_cross_account_keys,
    lambda_invoke_in_process,
    moto_request_routing,
    moto_serializer_speed,
    route53_change_batches,
    route53_changes,
    route53_weighted_conflicts,
    ssm_parameter_events,
    ssm_parameter_tiers,
    stepfunctions_callbacks,
    stepfunctions_cloudformation_definitions,
    stepfunctions_execution_names,
    stepfunctions_input_size,
    stepfunctions_interpreter,
    stepfunctions_interpreter_speed,
    stepfunctions_lambda_error_names,
    stepfunctions_nested_executions,
    stepfunctions_retry_intervals,
    stepfunctions_status_events,
    stepfunctions_stop_callbacks,
)

# The AWS behaviours, each a module with `install()` and `uninstall()`.
BEHAVIOURS: tuple[ModuleType, ...] = (
    lambda_invoke_in_process,
    stepfunctions_interpreter,
    stepfunctions_cloudformation_definitions,
    stepfunctions_execution_names,
    stepfunctions_input_size,
    stepfunctions_lambda_error_names,
    stepfunctions_nested_executions,
    stepfunctions_callbacks,
    stepfunctions_status_events,
    stepfunctions_stop_callbacks,
    eventbridge_stepfunctions_targets,
    eventbridge_cross_account_buses,
    eventbridge_bus_policy_conditions,
    eventbridge_lambda_targets,
    events_rule_pattern_string,
    elbv2_target_health,
    elbv2_deregister_targets,
    elbv2_forward_action_shapes,
    elbv2_forward_action_validation,
    elbv2_target_group_load_balancers,
    ec2_image_states,
    ec2_encrypted_images,
    ec2_shared_images,
    ec2_image_copy_access,
    ec2_launch_template_versions,
    ec2_launch_template_lookup,
    ec2_launch_template_source_version,
    ec2_network_interface_groups,
    ec2_network_acl_entries,
    ec2_instance_profiles,
    ec2_address_associations,
    autoscaling_notifications,
    autoscaling_detach_replacements,
    autoscaling_detach_validation,
    autoscaling_capacity_bounds,
    autoscaling_lifecycle_hooks,
    autoscaling_policy_descriptions,
    autoscaling_policy_alarms,
    autoscaling_policy_names,
    autoscaling_group_deletion,
    autoscaling_launch_failures,
    autoscaling_target_deregistration,
    cloudwatch_alarm_events,
    cloudwatch_target_group_metrics,
    cloudformation_stack_reads,
    route53_changes,
    route53_change_batches,
    route53_weighted_conflicts,
    ssm_parameter_tiers,
    ssm_parameter_events,
    kms_cross_account_keys,
    iam_role_policy_size,
    dynamodb_item_writes,
    iam_authorization,
)
# The twin's own tools, no AWS behaviour: the API-call recorder (evidence for invariant I6), the Retry-interval scale
# (tests shorten AWS's waits) and speed-ups.
TOOLS: tuple[ModuleType, ...] = (
    api_calls,
    stepfunctions_retry_intervals,
    moto_request_routing,
    stepfunctions_interpreter_speed,
    botocore_model_cache,
    moto_serializer_speed,
    cloudformation_template_speed,
)

_lock = threading.Lock()


def install(functions_dir: Path | str | None = None) -> None:
    """Put every behaviour and tool in (once); `functions_dir` is where Lambda handlers are imported from."""
    if functions_dir is not None:
        lambda_invoke_in_process.set_functions_dir(functions_dir)
    with _lock:
        for module in (*BEHAVIOURS, *TOOLS):
            module.install()
