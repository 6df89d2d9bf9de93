"""What a release must leave behind when it ends: rolled back to the previous fleet, or finished forward onto green.

Shared by the safety tests; the `app` fixture checks I1-I4 on top of these.
"""

from __future__ import annotations

from bluegreen.cli import ops

# The error name Step Functions reports for each kind of twin fault the safety tests inject. The timeout is the late
# one (the function did its work, then timed out): an early timeout takes the same path as `error`, under this name.
FAULT_ERRORS = {
    "error": "InjectedFaultError",
    "throttle": "Lambda.TooManyRequestsException",
    "late_timeout": "Sandbox.Timedout",
}
# Lambda retries (MaxAttempts 4) plus the first call: a throttle this long never clears.
THROTTLE_FOREVER = 5


def rolled_back(app, execution: ops.Execution, error: str, ami: str, lt_versions_before: list[int]) -> None:
    """Traffic all on the previous fleet, green and its launch template version gone, lock free, failure recorded
    with its cause, people told, and the execution FAILED with the original error name."""
    assert (execution.status, execution.error) == ("FAILED", error), execution.cause
    status = app.status()
    assert status["weights"] == {"blue": 100, "green": 0}
    # An ALB-routed app: every listener and rule it names, not just the first
    assert all(w == {"blue": 100, "green": 0} for w in (status.get("routes") or {}).values()), status["routes"]
    assert app.groups() == [app.seeded.blue_asg]
    assert app.launch_template_versions() == lt_versions_before
    assert status["in_flight"] is None
    record = app.releases()[0]
    assert (record["ami_id"], record["status"], record["error"]) == (ami, "rolled_back", error)
    assert record["cause"]
    assert app.claims()[ami] == "failed"
    assert [(n["status"], n.get("error")) for n in ends(app, record)] == [("rolled_back", error)]


def finished_forward(app, execution: ops.Execution, error: str, ami: str, lt_versions_before: list[int]) -> None:
    """Green was already live: it stays live, the old fleet is deleted, and the release counts as succeeded with the
    late error on record (the execution succeeds: a script waiting for it learns that the AMI is live)."""
    assert execution.status == "SUCCEEDED", execution.cause
    assert execution.output["error"]["Error"] == error
    release = execution.output["release"]
    assert release["committed"] is True
    status = app.status()
    assert status["weights"] == {"blue": 0, "green": 100}
    assert all(w == {"blue": 0, "green": 100} for w in (status.get("routes") or {}).values()), status["routes"]
    assert status["live"]["ami_id"] == ami
    assert app.groups() == [release["green_asg"]]
    assert app.launch_template_versions() == [*lt_versions_before, release["lt_version"]]
    assert status["in_flight"] is None
    record = app.releases()[0]
    assert (record["status"], record["error"], record["finished_forward"]) == ("succeeded", error, True)
    assert app.claims()[ami] == "live"
    # One notification of the end: of the late error, unless the task had told people before it timed out.
    assert [n["status"] for n in ends(app, record)] == ["succeeded"]


def ends(app, record: dict) -> list[dict]:
    """The notifications that tell how a release ended (not the one asking for approval)."""
    return [n for n in app.notifications() if n.get("release_id") == record["release_id"] and "status" in n]
