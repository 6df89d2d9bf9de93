"""The order `make test` hands test files to its workers: longest first.

xdist's `--dist loadfile` gives each worker one file at a time, in the order of the collection (with
`--no-loadscope-reorder`; by default it orders files by how many tests they hold, which says little about how long
they take). A long e2e file that starts last sets the wall time alone; given longest first, the short files fill the
workers' ends (LPT scheduling).

Seconds each file took on one of 4 workers on the 2-core machine, from a whole `make test` (the mean of two runs, per
file from its first test's start to its last's end; `make test` runs 6 workers now). Only the order matters: refresh
the table when a file's length changes a lot. A file not listed takes `UNLISTED_E2E` if it is an e2e file (each
deploys a stack and runs releases), else 0 (it runs in the last gaps).
"""

from __future__ import annotations

UNLISTED_E2E = 60

SECONDS = {
    "tests/e2e/test_self_healing.py": 192,
    "tests/e2e/test_safety_faults_late.py": 149,
    "tests/e2e/test_quarantine.py": 145,
    "tests/e2e/test_split_fleet_operator.py": 140,
    "tests/e2e/test_split_fleet_failures.py": 128,
    "tests/e2e/test_cli.py": 123,
    "tests/e2e/test_quarantine_security_path.py": 112,
    "tests/e2e/test_safety_concurrency.py": 112,
    "tests/e2e/test_alb_router.py": 107,
    "tests/e2e/test_quarantine_containment.py": 98,
    "tests/e2e/test_alb_faults.py": 95,
    "tests/e2e/test_safety_gates.py": 95,
    "tests/e2e/test_safety_faults.py": 90,
    "tests/e2e/test_real_aws.py": 67,
    "tests/e2e/test_bad_input.py": 66,
    "tests/e2e/test_canary_analysis.py": 65,
    "tests/e2e/test_quarantine_responder.py": 59,
    "tests/e2e/test_trigger_screen.py": 58,
    "tests/unit/test_cold_start.py": 54,
    "tests/e2e/test_safety_operator.py": 53,
    "tests/e2e/test_triggers.py": 43,
    "tests/e2e/test_release.py": 42,
    "tests/e2e/test_split_fleet.py": 41,
    "tests/e2e/test_split_fleet_adoption.py": 33,
    "tests/e2e/test_shared_amis.py": 32,
    "tests/twin/test_local_up_parameters.py": 32,
    "tests/e2e/test_alb_bad_input.py": 30,
    "tests/e2e/test_split_cli.py": 26,
    "tests/e2e/test_operator_permissions.py": 21,
    "tests/integration/test_quarantine_isolation.py": 18,
    "tests/e2e/test_green_launch.py": 15,
    "tests/integration/test_deploy_handlers.py": 14,
    "tests/twin/fidelity/test_stepfunctions_status_events.py": 13,
    "tests/twin/test_twin_accounts.py": 13,
    "tests/twin/test_twin.py": 12,
    "tests/e2e/test_build_organization.py": 9,
    "tests/twin/fidelity/test_encrypted_shared_amis.py": 7,
    "tests/twin/fidelity/test_moto_behaviours.py": 7,
    "tests/twin/fidelity/test_elbv2_forward_actions.py": 6,
    "tests/integration/test_alb_router.py": 5,
    "tests/integration/test_deploy_safety.py": 5,
    "tests/twin/fidelity/test_quarantine_behaviours.py": 5,
    "tests/twin/test_twin_release_safety.py": 5,
    "tests/unit/test_reachability.py": 5,
}


def weight(path: str) -> int:
    """The seconds `path` (relative to the repo, e.g. "tests/e2e/test_cli.py") is expected to take."""
    if path in SECONDS:
        return SECONDS[path]
    return UNLISTED_E2E if path.startswith("tests/e2e/") else 0
