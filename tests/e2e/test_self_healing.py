"""Self-healing: a release whose execution dies where no Catch sees it (StopExecution, a timeout, a Prepare that dies
after taking the lock, a lost status event) is reconciled: traffic back on the previous fleet (or kept on green once
live), green drained and deleted, the lock free, the record true, the queued AMI started. The `app` fixture checks
I1-I4 throughout and at rest; `settled` checks what is left."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import pytest

from bluegreen.cli import ops
from bluegreen.proof import bench_costs
from bluegreen.twin import server
from tests.e2e.test_alb_router import everywhere

LONG_BAKE = {"traffic": {"steps": [50, 100], "bake_seconds": 600}}


def reconciliations(app, dead: str) -> list[str]:
    """Executions of the deploy machine that reconcile `dead` (started by its status event or by the sweep)."""
    return bench_costs.reconciliations_of(app.aws, dead)


def reconciled(app, dead: str, timeout: float = 60) -> ops.Execution:
    """The reconciliation of `dead` that did the work, once every reconciliation of it has ended."""
    arns = app.wait_until(lambda: reconciliations(app, dead), timeout=20, what=f"a reconciliation of {dead}")
    time.sleep(0.5)  # a duplicate (status event and sweep) may start a moment later
    executions = [app.wait(arn, timeout) for arn in reconciliations(app, dead) or arns]
    assert all(e.status == "SUCCEEDED" for e in executions), [(e.error, e.cause) for e in executions]
    working = [e for e in executions if e.output["release"]["outcome"] == "Reconcile"]
    assert len(working) == 1, [e.output["release"] for e in executions]
    return working[0]


def settled(app, dead: str, error: str, status: str = "rolled_back") -> dict:
    """Nothing left behind: one group, lock free, no execution pointer, and the record ended with `error`."""
    app.wait_until(lambda: app.lock() is None, what="the lock freed")
    record = next(r for r in app.releases() if r.get("execution_arn") == dead)
    assert (record["status"], record.get("error")) == (status, error), record
    assert not [r for r in app.releases() if r["status"] == "in_flight"]
    assert ops.state_table.execution_pointer(dead, ops.table(app.aws)) is None
    return record


def request_of(app, ami: str) -> str:
    """What only a release asked for by name carries in its Prepare event (not the AMI's own event execution,
    which also mentions the AMI while it waits for a tag)."""
    return f'"app": "{app.name}", "ami_id": "{ami}"'


def stop(app, arn: str) -> None:
    app.aws.client("stepfunctions").stop_execution(executionArn=arn, error="Operator", cause="stopped from the console")


PHASES = {
    "WaitHealthy": ({}, lambda app: app.set_slot_health("green", "initial")),
    "AwaitingApproval": ({"approval": {"before_traffic": True}}, None),
    "Bake": (LONG_BAKE, None),
    "KeepWindow": ({"traffic": {"steps": [100], "bake_seconds": 60}, "keep_previous_seconds": 3600}, None),
}


@pytest.mark.parametrize(
    ("phase", "app"), [(p, config) for p, (config, _) in PHASES.items()], indirect=["app"], ids=list(PHASES)
)
def test_a_release_stopped_in_any_phase_ends_like_an_aborted_one(app, phase: str) -> None:
    # Given a release held in a phase
    hold = PHASES[phase][1]
    if hold:
        hold(app)
    ami = app.publish_ami()
    versions = app.launch_template_versions()
    arn = app.start(ami)
    app.wait_for_phase(phase)
    app.clear_slot_health()
    # When someone stops its execution (StopExecution: the console, a script)
    stop(app, arn)
    # Then a reconciliation rolls it back: traffic on blue, green and its launch template version gone, lock free
    assert app.wait(arn).status == "ABORTED"
    reconciled(app, arn)
    settled(app, arn, "ExecutionStoppedError")
    assert app.status()["weights"] == {"blue": 100, "green": 0}
    assert app.groups() == [app.seeded.blue_asg]
    assert app.launch_template_versions() == versions
    assert app.claims()[ami] == "failed"


@pytest.mark.parametrize("app", [{"traffic": {"steps": [100], "bake_seconds": 60}}], indirect=True, ids=["one-step"])
def test_a_release_stopped_after_it_went_live_finishes_forward(app) -> None:
    # Given a release that has committed (green live, the old fleet scaling in) and is slow to check the old fleet
    app.inject_fault("CheckOldDrained", "slow")
    ami = app.publish_ami()
    arn = app.start(ami)
    app.wait_until(lambda: (app.status()["live"] or {}).get("ami_id") == ami, what="the commit")
    # When its execution is stopped
    stop(app, arn)
    # Then the reconciliation keeps green live and deletes the old fleet
    reconciled(app, arn)
    settled(app, arn, "ExecutionStoppedError", status="succeeded")
    assert app.status()["weights"] == {"blue": 0, "green": 100}
    assert len(app.groups()) == 1 and app.groups()[0] != app.seeded.blue_asg


@pytest.mark.parametrize("app", [LONG_BAKE], indirect=True, ids=["long-bake"])
def test_a_release_that_times_out_is_rolled_back(app) -> None:
    ami = app.publish_ami()
    arn = app.start(ami)
    app.wait_for_phase("Bake")
    # When the execution passes its TimeoutSeconds
    server.time_out_execution(app.endpoint, arn)
    # Then it is rolled back like a stopped one, under its own error name
    assert app.wait(arn).status == "TIMED_OUT"
    reconciled(app, arn)
    settled(app, arn, "ExecutionTimedOutError")
    assert app.status()["weights"] == {"blue": 100, "green": 0}


def test_a_prepare_retried_after_a_timeout_goes_on_as_its_own_release(app) -> None:
    # Given a Prepare that takes the lock and then times out, once
    ami = app.publish_ami()
    app.inject_fault("PrepareRelease", "late_timeout", 1, event_contains=request_of(app, ami))
    # When the release runs
    execution = app.release(ami)
    # Then the retried Prepare found its own lock and the release went all the way, as one release
    assert execution.status == "SUCCEEDED", execution.cause
    assert execution.output["release"]["outcome"] == "Proceed"
    assert [r["ami_id"] for r in app.releases()] == [ami]


def test_a_prepare_that_dies_after_taking_the_lock_leaves_nothing_behind(app) -> None:
    # Given a Prepare that takes the lock and times out on every attempt
    ami = app.publish_ami()
    app.inject_fault("PrepareRelease", "late_timeout", 3, event_contains=request_of(app, ami))
    # When the release runs, it fails
    arn = app.start(ami)
    execution = app.wait(arn)
    assert (execution.status, execution.error) == ("FAILED", "Sandbox.Timedout")
    # Then its status event reconciles it: lock free, record failed, and the AMI can be released again
    reconciled(app, arn)
    settled(app, arn, "Sandbox.Timedout")
    again = app.release(ami, retry_failed=True)
    assert again.status == "SUCCEEDED", again.cause


def test_a_release_that_rolled_back_by_itself_starts_no_second_execution(app) -> None:
    # Given a release whose smoke test fails: it rolls back by itself and ends FAILED
    ami = app.publish_ami(broken=True)
    server.clear_api_calls(app.endpoint)
    execution = app.release(ami)
    assert (execution.status, execution.error) == ("FAILED", "SmokeTestFailedError")
    # When its status event has been delivered (to the sweep function, which finds no pointer left behind)
    sweep = "SweepReleasesFunction"
    app.wait_until(lambda: server.api_call_log(app.endpoint, sweep), timeout=10, what="the status event handled")
    # Then no reconciliation was started: the deploy machine ran this release's execution alone
    time.sleep(0.5)
    assert reconciliations(app, execution.arn) == []
    assert [c["action"] for c in server.api_call_log(app.endpoint, sweep)] == ["dynamodb:GetItem"]


@pytest.mark.parametrize("app", [LONG_BAKE], indirect=True, ids=["long-bake"])
def test_a_lost_status_event_is_caught_by_the_sweep(app) -> None:
    # Given a release whose end nobody hears about (EventBridge delivers Step Functions' events best effort)
    ami = app.publish_ami()
    arn = app.start(ami)
    app.wait_for_phase("Bake")
    server.set_execution_events(app.endpoint, False)
    try:
        stop(app, arn)
        assert app.wait(arn).status == "ABORTED"
    finally:
        server.set_execution_events(app.endpoint, True)
    time.sleep(0.5)
    assert reconciliations(app, arn) == []
    # When the sweep runs (its schedule fires every 15 minutes)
    swept = sweep(app)
    # Then it found the dead execution and reconciled it
    assert arn in swept
    reconciled(app, arn)
    settled(app, arn, "ExecutionStoppedError")
    # And a second sweep finds nothing more to do
    assert arn not in sweep(app)


def sweep(app) -> list[str]:
    functions = app.aws.client("lambda").list_functions()["Functions"]
    name = next(f["FunctionName"] for f in functions if "SweepReleasesFunction" in f["FunctionName"])
    answer = app.aws.client("lambda").invoke(FunctionName=name, Payload=b"{}")
    assert "FunctionError" not in answer, answer["Payload"].read()
    return json.loads(answer["Payload"].read())["reconciling"]


@pytest.mark.parametrize("app", [LONG_BAKE], indirect=True, ids=["long-bake"])
def test_a_queued_ami_starts_when_the_release_before_it_is_reconciled(app) -> None:
    # Given a release in flight and a newer AMI queued behind it
    first, queued = app.publish_ami(), app.publish_ami()
    arn = app.start(first)
    app.wait_for_phase("Bake")
    assert app.wait(app.start(queued)).output["release"]["outcome"] == "Queued"
    # When the release in flight is stopped
    stop(app, arn)
    reconciled(app, arn)
    # Then the queued AMI is released after it
    started = app.wait_until(
        lambda: app.executions_for(queued)[:1] if len(app.executions_for(queued)) > 1 else [], what="the queued release"
    )
    app.wait_for_phase("Bake")
    server.time_out_execution(app.endpoint, started[0])  # its bake is long: end it the quick way
    reconciled(app, started[0])
    assert app.status()["queued"] is None


# Held at approval: in flight for as long as the test needs, however slow the machine (a bake can end first).
APPROVAL = {"approval": {"before_traffic": True}}


@pytest.mark.parametrize("app", [APPROVAL], indirect=True, ids=["approval"])
def test_an_older_build_that_arrives_second_never_replaces_the_newer_one_in_the_queue(app) -> None:
    # Given a release in flight, and two builds made in this order: older, then newer
    first = app.publish_ami()
    older = app.publish_ami()
    time.sleep(1.1)  # EC2 dates an AMI to the second
    newer = app.publish_ami()
    arn = app.start(first)
    app.wait_for_phase("AwaitingApproval")
    # When the newer build's request arrives first, and the older one's after it
    queued = app.start(newer)
    assert app.wait(queued).output["release"]["outcome"] == "Queued"
    late = app.wait(app.start(older))
    # Then the older one is superseded (not queued in its place), and history says by which
    assert late.output["release"]["outcome"] == "Superseded"
    assert app.status()["queued"]["ami_id"] == newer
    superseded = [h for h in ops.history(app.aws, app.name) if h.get("kind") == "superseded"]
    assert [(h["ami_id"], h["superseded_by"]) for h in superseded] == [(older, newer)]
    stop(app, arn)
    reconciled(app, arn)
    # (the newer build now starts from the queue and waits for approval: end it the quick way)
    started = app.wait_until(lambda: [a for a in app.executions_for(newer) if a != queued], what="the queued run")
    app.wait_for_phase("AwaitingApproval")
    server.time_out_execution(app.endpoint, started[0])
    reconciled(app, started[0])


@pytest.mark.parametrize("app", [{"traffic": {"steps": [100], "bake_seconds": 300}}], indirect=True, ids=["bake"])
def test_a_queued_build_older_than_the_live_one_is_superseded_not_released(app) -> None:
    # Given two builds, older then newer; the newer is released, and the older is asked for while it bakes
    older = app.publish_ami()
    time.sleep(1.1)  # EC2 dates an AMI to the second
    newer = app.publish_ami()
    arn = app.start(newer)
    app.wait_for_phase("Bake")
    assert app.wait(app.start(older)).output["release"]["outcome"] == "Queued"
    # When the newer build goes live, and the finishing release starts the queued one
    assert app.wait(arn).status == "SUCCEEDED"
    queued = app.wait_until(
        lambda: app.executions_for(older)[:1] if len(app.executions_for(older)) > 1 else [], what="the queued run"
    )
    # Then the older build is superseded by the live one, never released
    assert app.wait(queued[0]).output["release"]["outcome"] == "Superseded"
    assert app.status()["live"]["ami_id"] == newer
    assert older not in app.claims()
    superseded = [h for h in ops.history(app.aws, app.name) if h.get("kind") == "superseded"]
    assert [(h["ami_id"], h["superseded_by"]) for h in superseded] == [(older, newer)]


@pytest.mark.parametrize("app", [LONG_BAKE], indirect=True, ids=["long-bake"])
def test_a_lease_that_runs_out_with_an_ami_queued_is_healed_and_the_queue_goes_on(app) -> None:
    # Given a release that died unheard (no status event) with an AMI queued behind it, and a lease since expired
    dead_ami, queued = app.publish_ami(), app.publish_ami()
    dead = app.start(dead_ami)
    app.wait_for_phase("Bake")
    assert app.wait(app.start(queued)).output["release"]["outcome"] == "Queued"
    server.set_execution_events(app.endpoint, False)
    try:
        stop(app, dead)
        app.wait(dead)
    finally:
        server.set_execution_events(app.endpoint, True)
    ops.table(app.aws).update_item(
        Key={"pk": f"APP#{app.name}", "sk": "LOCK"},
        UpdateExpression="SET expires_at = :past",
        ExpressionAttributeValues={":past": int((datetime.now(UTC) - timedelta(hours=1)).timestamp())},
    )
    # When the sweep runs
    assert dead in sweep(app)
    # Then the dead release is rolled back and the queued AMI is released after it
    reconciled(app, dead)
    started = app.wait_until(
        lambda: app.executions_for(queued)[:1] if len(app.executions_for(queued)) > 1 else [], what="the queued release"
    )
    app.wait_for_phase("Bake")
    server.time_out_execution(app.endpoint, started[0])  # its bake is long: end it the quick way
    reconciled(app, started[0])
    assert [r["status"] for r in app.releases()] == ["rolled_back", "rolled_back"]


@pytest.mark.parametrize("app", [{**LONG_BAKE, "seed": {"router": "alb", "rules": 1}}], indirect=True, ids=["alb"])
def test_an_alb_release_stopped_mid_shift_is_reconciled_with_every_weight_back(app) -> None:
    # Given a release of an app behind one ALB (a listener and a rule), baking with traffic on green
    ami = app.publish_ami()
    versions = app.launch_template_versions()
    arn = app.start(ami)
    app.wait_for_phase("Bake")
    assert not everywhere(app, {"blue": 100, "green": 0})
    # When it is stopped from the console
    stop(app, arn)
    # Then the reconciler, which reads the listener's and the rule's weights under its own role, rolls it back
    assert app.wait(arn).status == "ABORTED"
    reconciled(app, arn)
    settled(app, arn, "ExecutionStoppedError")
    assert everywhere(app, {"blue": 100, "green": 0})
    assert app.groups() == [app.seeded.blue_asg]
    assert app.launch_template_versions() == versions
