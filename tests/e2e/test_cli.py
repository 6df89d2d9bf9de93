"""The `bluegreen` command against the twin, run as a user runs it: a subprocess with its exit code."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bluegreen.cli import ops

BLUEGREEN = str(Path(sys.executable).parent / "bluegreen")


def run(app, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    # Wide enough that a table shows whole ARNs and AMI ids (a terminal narrower than a cell wraps it)
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "COLUMNS": "400"}
    return subprocess.run(
        [BLUEGREEN, *args, "--endpoint-url", app.endpoint, "--region", "us-east-1"],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_app_put_validates_and_an_invalid_document_changes_nothing(app, tmp_path: Path) -> None:
    # Given the stored configuration
    before = json.loads(run(app, "app", "get", app.name).stdout)
    bad = dict(app.seeded.config, traffic={"steps": [10, 50], "bake_seconds": 60})
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad))
    # When an invalid document is put
    done = run(app, "app", "put", app.name, str(path))
    # Then one line names the field, the exit code says bad input, and nothing changed
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0
    assert "traffic.steps: the last step must be 100" in done.stderr
    assert json.loads(run(app, "app", "get", app.name).stdout) == before
    # And a valid one (from stdin) is stored
    good = dict(app.seeded.config, keep_previous_seconds=30)
    assert run(app, "app", "put", app.name, "-", stdin=json.dumps(good)).returncode == 0
    assert json.loads(run(app, "app", "get", app.name).stdout)["keep_previous_seconds"] == 30
    assert app.name in json.loads(run(app, "app", "list", "--output", "json").stdout)


def test_dry_run_prints_the_plan_and_changes_nothing(app) -> None:
    ami = app.publish_ami()
    done = run(app, "deploy", app.name, "--ami", ami, "--dry-run")
    assert done.returncode == 0, done.stderr
    assert "into the green slot" in done.stdout
    assert "adjusted: LaunchTemplate" in done.stdout
    assert "not_copied:" in done.stdout
    assert "nothing was changed" in done.stdout
    assert app.groups() == [app.seeded.blue_asg]
    assert app.status()["in_flight"] is None


def test_deploy_wait_exits_by_outcome_and_history_shows_both(app) -> None:
    good, broken = app.publish_ami(), app.publish_ami(broken=True)
    assert run(app, "deploy", app.name, "--ami", good, "--wait").returncode == 0
    failed = run(app, "deploy", app.name, "--ami", broken, "--wait")
    assert failed.returncode == 1
    assert "SmokeTestFailedError" in failed.stderr
    history = json.loads(run(app, "history", app.name, "--output", "json").stdout)
    assert [h["status"] for h in history] == ["rolled_back", "succeeded"]
    status = json.loads(run(app, "status", app.name, "--output", "json").stdout)
    assert status[0]["live"]["ami_id"] == good


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("deploy", "shop", "--ami", "ami-123"), 2, "ami_id: 'ami-123' is not an AMI id"),
        (("deploy", "Bad_Name", "--ami", "ami-0123456789abcdef0"), 2, "app: 'Bad_Name' is not a valid app name"),
        (("app", "get", "nope"), 3, "app 'nope' has no configuration"),
        (("abort", "nope"), 3, "has no release in flight"),
        (("status", "--output", "yaml"), 2, "--output: 'yaml' is not json or table"),
        (("deploy",), 2, "Missing argument"),
    ],
)
def test_errors_are_one_line_with_a_reliable_exit_code(app, args: tuple[str, ...], code: int, message: str) -> None:
    done = run(app, *args)
    assert done.returncode == code, done.stderr
    assert message in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_local_up_serves_the_stack_to_any_aws_client(tmp_path: Path) -> None:
    # Given `bluegreen local up` on a free port, as a separate process
    import socket
    import time

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # Wide enough that a table shows whole ARNs and AMI ids (a terminal narrower than a cell wraps it)
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "COLUMNS": "400"}
    env["AWS_DEFAULT_REGION"] = "us-east-1"
    log = tmp_path / "up.log"
    with log.open("w") as out:
        twin = subprocess.Popen([BLUEGREEN, "local", "up", "--port", str(port)], env=env, stdout=out, stderr=out)
    try:
        deadline = time.monotonic() + 60
        while "Ctrl-C stops the twin" not in log.read_text() and time.monotonic() < deadline and twin.poll() is None:
            time.sleep(0.2)
        printed = log.read_text()
        # Then it prints the endpoint and the stack's outputs
        assert f"twin up at http://127.0.0.1:{port}" in printed, printed
        assert "DeployStateMachineArn" in printed
        # And the plain AWS CLI sees the stack deployed from template.yaml
        aws = [str(Path(sys.executable).parent / "aws"), "--endpoint-url", f"http://127.0.0.1:{port}"]
        stacks = subprocess.run(
            [*aws, "cloudformation", "describe-stacks", "--stack-name", "bluegreen", "--output", "json"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert stacks.returncode == 0, stacks.stderr
        assert json.loads(stacks.stdout)["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"
    finally:
        twin.terminate()
        twin.wait(timeout=20)


@pytest.mark.parametrize("app", [{"seed": {"router": "alb", "rules": 2}}], indirect=True, ids=["alb-two-rules"])
def test_status_table_shows_each_listener_and_rule_with_its_weights(app) -> None:
    # Given an ALB app with a listener and two rules
    routes = json.loads(run(app, "status", app.name, "--output", "json").stdout)[0]["routes"]
    assert len(routes) == 3
    # When its status is shown as a table
    done = run(app, "status", app.name)
    # Then each listener and rule is there by name, with its own weights
    assert done.returncode == 0, done.stderr
    for where in routes:
        assert f"{where}: blue=100 green=0" in done.stdout, done.stdout


def test_history_shows_what_replaced_a_superseded_build_and_json_has_no_table_keys(app) -> None:
    # Given an older build superseded by the newer one released before its event came
    older = app.publish_ami()
    time.sleep(1.1)  # EC2 dates an AMI to the second
    newer = app.publish_ami()
    assert app.release(newer).status == "SUCCEEDED"
    app.aws.client("ec2").create_tags(Resources=[older], Tags=[{"Key": "bluegreen:app", "Value": app.name}])
    app.put_ami_event(older)
    app.wait_until(lambda: any(h.get("kind") == "superseded" for h in ops.history(app.aws, app.name)), what="the row")
    # When the history is shown, as a table and as JSON
    table = run(app, "history", app.name).stdout
    rows = json.loads(run(app, "history", app.name, "--output", "json").stdout)
    # Then the table names the AMI that replaced it and when; the JSON has that field, and no table keys
    superseded = next(r for r in rows if r["kind"] == "superseded")
    assert (superseded["ami_id"], superseded["superseded_by"]) == (older, newer)
    assert f"superseded by {newer} at {superseded['at']}" in table, table
    assert not [r for r in rows if "pk" in r or "sk" in r]
