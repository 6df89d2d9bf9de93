"""Bad input: every case ends with one clear line naming the field and the fix, and changes nothing.

Through the pipeline (AMI events, `start-execution` as the console or a script would send it) and through the CLI,
whose exit codes scripts rely on: 2 bad input, 3 not found.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bluegreen.cli import ops
from bluegreen.demo.seed import ami_event, register_ami
from bluegreen.twin import server
from tests.e2e.conftest import App, finish, new_app, run_cli

BLUEGREEN = str(Path(sys.executable).parent / "bluegreen")


@pytest.fixture(scope="module")
def shared_app(stack) -> Iterator[App]:
    """One app for the cases that must change nothing: each checks it did not; I1-I4 are checked at the end."""
    harness = new_app(stack)
    yield harness
    breaches = finish(harness)
    assert not breaches, f"invariants breached: {breaches}"


def resources(app) -> dict:
    """Every resource a release could change, as AWS describes it now: groups (with capacity and launch template),
    records of the app's zone, the app's state-table items, its stored configuration, launch template versions,
    scaling policies, alarms, and the deploy machine's executions that are running."""
    asg, cloudwatch = app.aws.client("autoscaling"), app.aws.client("cloudwatch")
    groups = asg.describe_auto_scaling_groups(Filters=[{"Name": "tag:bluegreen:app", "Values": [app.name]}])
    zone = app.seeded.config["dns"]["hosted_zone_id"]
    records = app.aws.client("route53").list_resource_record_sets(HostedZoneId=zone)["ResourceRecordSets"]
    items = ops.table(app.aws).query(
        KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": f"APP#{app.name}"}
    )["Items"]
    sfn = app.aws.client("stepfunctions")
    running = sfn.list_executions(stateMachineArn=app.stack.outputs["DeployStateMachineArn"], statusFilter="RUNNING")
    return {
        "groups": sorted(
            (
                g["AutoScalingGroupName"],
                g["MinSize"],
                g["MaxSize"],
                g["DesiredCapacity"],
                json.dumps(g.get("LaunchTemplate")),
            )
            for g in groups["AutoScalingGroups"]
        ),
        "records": sorted(json.dumps(r, sort_keys=True) for r in records),
        "items": sorted(json.dumps(i, sort_keys=True, default=str) for i in items),
        "config": app.aws.client("ssm").get_parameter(Name=f"/bluegreen/apps/{app.name}")["Parameter"]["Value"],
        "versions": app.launch_template_versions(),
        "policies": sorted(p["PolicyName"] for p in asg.describe_policies()["ScalingPolicies"]),
        "alarms": sorted(a["AlarmName"] for a in cloudwatch.describe_alarms()["MetricAlarms"]),
        # Settling executions of AMI events (untagged AMIs) change nothing; a release in flight would.
        "running": sorted(
            e["name"] for e in running["executions"] if app.name in e["name"] and "reconcile" not in e["name"]
        ),
    }


def unchanged(app, before: dict) -> None:
    """Nothing moved: every resource as it was, and blue alone and whole with all the traffic."""
    assert resources(app) == before
    status = app.status()
    assert status["weights"] == {"blue": 100, "green": 0}
    assert app.groups() == [app.seeded.blue_asg]
    assert (status["in_flight"], status["queued"]) == (None, None)


def run(app, payload: dict) -> ops.Execution:
    """Start the deploy machine with exactly this input, as `aws stepfunctions start-execution` would."""
    sfn = app.aws.client("stepfunctions")
    arn = sfn.start_execution(stateMachineArn=app.stack.outputs["DeployStateMachineArn"], input=json.dumps(payload))
    return app.wait(arn["executionArn"])


def event(app, ami_id: str, **changes: str) -> dict:
    """An "EC2 AMI State Change" event as EventBridge delivers it."""
    entry = ami_event(ami_id, "us-east-1", changes.pop("state", "available"))
    delivered = {
        "version": "0",
        "id": "7bf73129-1428-4cd3-a780-95db273d1602",
        "detail-type": entry["DetailType"],
        "source": entry["Source"],
        "account": "123456789012",
        "time": "2026-11-22T03:52:10Z",
        "region": "us-east-1",
        "resources": entry["Resources"],
        "detail": json.loads(entry["Detail"]),
    }
    delivered.update(changes)
    return delivered


def one_line(text: str | None) -> str:
    assert text and "\n" not in text.strip() and "Traceback" not in text, text
    return text.strip()


# --- through the pipeline ---------------------------------------------------------------------------------------


def _foreign_ami(app) -> str:
    return "ami-0123456789abcdef0"  # well-formed, but no such AMI in this region


def _deregistered_ami(app) -> str:
    ami = app.publish_ami()
    app.aws.client("ec2").deregister_image(ImageId=ami)
    return ami


def _pending_ami(app) -> str:
    ami = app.publish_ami()
    server.set_image_state(app.endpoint, ami, "pending")
    return ami


def _failed_ami(app) -> str:
    ami = app.publish_ami()
    server.set_image_state(app.endpoint, ami, "failed")
    return ami


def _arm64_ami(app) -> str:
    return register_ami(app.aws, f"{app.name}-arm", app=app.name, architecture="arm64")


NOT_AN_INPUT = 'input: expected a JSON object: {"app": ..., "ami_id": ...}, an EC2 AMI State Change event'
REJECTED = [
    # (id, input from the app, error name, what the one line must say)
    ("unknown-app", lambda app: {"app": "no-such-app", "ami_id": app.publish_ami()}, "AppNotFoundError",
     ["app: no configuration for 'no-such-app'", "bluegreen app put no-such-app"]),
    ("bad-app-name", lambda app: {"app": "Shop_1", "ami_id": app.publish_ami()}, "InputInvalidError",
     ["input.app: 'Shop_1' is not an app name", "[a-z][a-z0-9-]{1,30}"]),
    ("malformed-ami", lambda app: {"app": app.name, "ami_id": "ami-xyz"}, "AmiInvalidError",
     ["ami_id: 'ami-xyz' is not an AMI id", "ami- and 8 or 17 hex digits"]),
    ("missing-ami", lambda app: {"app": app.name}, "InputInvalidError", ["input.ami_id: is required"]),
    ("not-a-request", lambda app: {"hello": "world"}, "InputInvalidError", [NOT_AN_INPUT]),
    ("a-list", lambda app: [app.name, app.publish_ami()], "InputInvalidError", [NOT_AN_INPUT]),
    ("a-number", lambda app: 42, "InputInvalidError", [NOT_AN_INPUT]),
    ("null", lambda app: None, "InputInvalidError", [NOT_AN_INPUT]),
    ("a-string", lambda app: f"release {app.name}", "InputInvalidError", [NOT_AN_INPUT]),
    ("an-empty-object", lambda app: {}, "InputInvalidError", [NOT_AN_INPUT]),
    ("unknown-field", lambda app: {"app": app.name, "ami_id": app.publish_ami(), "forcefully": True},
     "InputInvalidError", ["input.forcefully: is not a known field"]),
    ("force-not-a-boolean", lambda app: {"app": app.name, "ami_id": app.publish_ami(), "force": "yes"},
     "InputInvalidError", ["input.force: Input should be a valid boolean"]),
    ("dry-run-not-a-boolean", lambda app: {"app": app.name, "ami_id": app.publish_ami(), "dry_run": "yes"},
     "InputInvalidError", ["input.dry_run: Input should be a valid boolean"]),
    ("unknown-source", lambda app: {"app": app.name, "ami_id": app.publish_ami(), "source": "cron"},
     "InputInvalidError", ["input.source: Input should be 'manual', 'queue' or 'quarantine'"]),
    ("app-not-a-string", lambda app: {"app": 42, "ami_id": app.publish_ami()}, "InputInvalidError",
     ["input.app: Input should be a valid string"]),
    ("reconcile-not-an-object", lambda app: {"reconcile": "everything"}, "InputInvalidError",
     ["input.reconcile: expected {\"execution_arn\": ...}"]),
    ("event-without-image-id", lambda app: {**event(app, "ami-12345678"), "detail": {"State": "available"}},
     "AmiInvalidError", ["ami_id: None is not an AMI id"]),
    ("event-with-a-malformed-image-id", lambda app: event(app, "ami-zz"), "AmiInvalidError",
     ["ami_id: 'ami-zz' is not an AMI id"]),
    ("ami-not-here", lambda app: {"app": app.name, "ami_id": _foreign_ami(app)}, "AmiInvalidError",
     ["ami_id: ami-0123456789abcdef0 does not exist in us-east-1", "aws ec2 copy-image"]),
    ("ami-deregistered", lambda app: {"app": app.name, "ami_id": _deregistered_ami(app)}, "AmiInvalidError",
     ["does not exist in us-east-1 (deregistered"]),
    ("ami-pending", lambda app: {"app": app.name, "ami_id": _pending_ami(app)}, "AmiInvalidError",
     ["is pending, not available", "once it is available"]),
    ("ami-failed", lambda app: {"app": app.name, "ami_id": _failed_ami(app)}, "AmiInvalidError",
     ["is failed, not available"]),
    ("ami-wrong-architecture", lambda app: {"app": app.name, "ami_id": _arm64_ami(app)}, "AmiInvalidError",
     ["is built for arm64, but the fleet runs t3.micro", "build the AMI for that architecture"]),
]  # fmt: skip


@pytest.mark.parametrize(("make_input", "error", "says"), [r[1:] for r in REJECTED], ids=[r[0] for r in REJECTED])
def test_a_bad_request_fails_in_prepare_with_one_clear_line(shared_app, make_input, error, says) -> None:
    # Given a request with one thing wrong
    app = shared_app
    before = resources(app)
    payload = make_input(app)

    # When it is started
    execution = run(app, payload)

    # Then it fails before anything changed, with the error's name and a line that says what to fix
    assert (execution.status, execution.error) == ("FAILED", error), execution.cause
    line = one_line(execution.cause)
    assert all(part in line for part in says), line
    unchanged(app, before)


IGNORED = [
    ("event-from-another-region", lambda app: event(app, app.publish_ami(), region="eu-west-1"), "is in eu-west-1"),
    ("event-of-a-pending-ami", lambda app: event(app, app.publish_ami(), state="pending"), "is pending"),
    ("event-of-an-untagged-ami", lambda app: event(app, app.publish_ami(tagged=False)), "has no bluegreen:app tag"),
]


@pytest.mark.parametrize(("make_event", "reason"), [r[1:] for r in IGNORED], ids=[r[0] for r in IGNORED])
def test_an_event_that_is_not_for_us_is_ignored_quietly(shared_app, make_event, reason: str) -> None:
    # Given an AMI event that asks for no release here
    app = shared_app
    before = resources(app)

    # When it reaches the pipeline
    execution = run(app, make_event(app))

    # Then the execution succeeds as Ignored, saying why, and changes nothing
    assert execution.status == "SUCCEEDED", execution.cause
    assert execution.output["release"]["outcome"] == "Ignored"
    assert reason in execution.output["release"]["reason"]
    unchanged(app, before)


def test_an_event_for_an_app_without_configuration_is_ignored_naming_the_fix(shared_app) -> None:
    # Given an AMI tagged for an app that has no configuration
    app = shared_app
    ami = register_ami(app.aws, f"{app.name}-orphan", app="ghost-app")
    before = resources(app)

    # When its event arrives
    execution = run(app, event(app, ami))

    # Then it is ignored, saying why and how to configure the app, and no reconciliation follows (it did not fail)
    assert (execution.status, execution.output["release"]["outcome"]) == ("SUCCEEDED", "Ignored"), execution.cause
    assert "no configuration for 'ghost-app'" in one_line(execution.output["release"]["reason"])
    assert "bluegreen app put ghost-app FILE" in execution.output["release"]["reason"]
    time.sleep(1)  # a reconciliation would start on the execution's status event, within moments
    sfn = app.aws.client("stepfunctions")
    runs = sfn.list_executions(stateMachineArn=app.stack.outputs["DeployStateMachineArn"])["executions"]
    inputs = [sfn.describe_execution(executionArn=r["executionArn"])["input"] for r in runs]
    assert not [i for i in inputs if execution.arn in i], "a reconciliation of an ignored event started"
    unchanged(app, before)


def test_a_release_while_traffic_is_split_is_refused(app) -> None:
    # Given traffic split between the slots outside any release (someone shifted to a green fleet by hand)
    manual = _manual_green_group(app)
    config = ops.load_config(app.aws, app.name)
    ops.route53.set_weights(config, {"blue": 60, "green": 40}, app.aws.client("route53"))
    before = resources(app)

    # When a release is started
    execution = run(app, {"app": app.name, "ami_id": app.publish_ami()})

    # Then it is refused with TrafficSplitError, and the weights are left for the operator to settle
    assert (execution.status, execution.error) == ("FAILED", "TrafficSplitError")
    assert "traffic is split {'blue': 60, 'green': 40}: finish or roll back" in one_line(execution.cause)
    assert app.status()["weights"] == {"blue": 60, "green": 40}
    assert app.groups() == sorted([app.seeded.blue_asg, manual])
    assert app.launch_template_versions() == before["versions"]
    assert (app.lock(), app.releases()) == (None, [])
    # (the operator settles it: all traffic back on blue, and the hand-made fleet drained, then deleted)
    ops.route53.set_weights(config, {"blue": 100, "green": 0}, app.aws.client("route53"))
    time.sleep(app.monitors[0].drain_seconds + 0.2)
    app.aws.client("autoscaling").delete_auto_scaling_group(AutoScalingGroupName=manual, ForceDelete=True)


def _manual_green_group(app) -> str:
    name = f"{app.name}-green-by-hand"
    app.aws.client("autoscaling").create_auto_scaling_group(
        AutoScalingGroupName=name,
        LaunchTemplate={"LaunchTemplateId": app.seeded.config["launch_template_id"], "Version": "1"},
        MinSize=1,
        MaxSize=1,
        DesiredCapacity=1,
        VPCZoneIdentifier=",".join(app.seeded.subnets),
        Tags=[
            {"Key": k, "Value": v, "PropagateAtLaunch": True}
            for k, v in {"bluegreen:app": app.name, "bluegreen:slot": "green"}.items()
        ],
    )
    return name


def stored_behind_the_clis_back(app, **changes: object) -> str:
    """Write the app's configuration straight to SSM (as the console would), with changes; the good one, to restore."""
    name = f"/bluegreen/apps/{app.name}"
    good = app.aws.client("ssm").get_parameter(Name=name)["Parameter"]["Value"]
    bad = json.loads(good)
    for dotted, value in changes.items():
        *path, leaf = dotted.split("__")
        node = bad
        for key in path:
            node = node[key]
        node[leaf] = value
    app.aws.client("ssm").put_parameter(Name=name, Value=json.dumps(bad), Type="String", Overwrite=True)
    return good


def restore(app, good: str) -> None:
    app.aws.client("ssm").put_parameter(Name=f"/bluegreen/apps/{app.name}", Value=good, Type="String", Overwrite=True)


def test_an_invalid_stored_configuration_is_refused_naming_the_field(app) -> None:
    # Given a configuration written to SSM behind the CLI's back, with a step above 100
    ami = app.publish_ami()
    before = resources(app)
    good = stored_behind_the_clis_back(app, traffic__steps=[50, 150])

    # When a release is started
    execution = run(app, {"app": app.name, "ami_id": ami})

    # Then it fails with ConfigInvalidError naming the field, and changed nothing
    restore(app, good)
    assert (execution.status, execution.error) == ("FAILED", "ConfigInvalidError")
    assert f"config of '{app.name}' is invalid: traffic.steps: every step must be a percentage" in execution.cause
    unchanged(app, before)


def test_a_launch_template_that_does_not_exist_is_named(app) -> None:
    # Given a configuration naming a launch template that does not exist (stored behind the CLI's back, which
    # would refuse it)
    ami = app.publish_ami()
    before = resources(app)
    good = stored_behind_the_clis_back(app, launch_template_id="lt-0123456789abcdef0")

    # When a release is started
    execution = run(app, {"app": app.name, "ami_id": ami})

    # Then it fails naming the field
    restore(app, good)
    assert (execution.status, execution.error) == ("FAILED", "NotFoundError")
    assert "launch_template_id: lt-0123456789abcdef0" in one_line(execution.cause)
    unchanged(app, before)


def test_an_ami_whose_release_failed_is_only_retried_when_asked(app) -> None:
    # Given an AMI whose release failed (its smoke test) and was rolled back
    ami = app.publish_ami(broken=True)
    assert app.release(ami).error == "SmokeTestFailedError"

    # When it is released again, Then nothing happens: the same (app, AMI) pair is never released twice by accident
    again = app.release(ami)
    assert (again.status, again.output["release"]["outcome"]) == ("SUCCEEDED", "Duplicate")
    assert "--retry-failed" in again.output["release"]["reason"]
    assert len(app.releases()) == 1

    # When it is released with --retry-failed, Then it runs again (and fails the same way)
    retried = app.release(ami, retry_failed=True)
    assert retried.error == "SmokeTestFailedError"
    assert len(app.releases()) == 2


# --- through the CLI --------------------------------------------------------------------------------------------


@pytest.fixture
def bluegreen(shared_app, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch):
    """Run `bluegreen --endpoint-url <twin> ARGS...` in this process: (exit code, stdout, stderr)."""

    def invoke(*args: str, stdin: str = "") -> tuple[int, str, str]:
        return run_cli(shared_app.endpoint, capsys, monkeypatch, *args, stdin=stdin)

    return invoke


def _config(app, **changes) -> str:
    document = json.loads(ops.load_config(app.aws, app.name).model_dump_json())
    for dotted, value in changes.items():
        *path, leaf = dotted.split("__")
        target = document
        for key in path:
            target = target[key]
        if value is _DELETE:
            del target[leaf]
        else:
            target[leaf] = value
    return json.dumps(document)


_DELETE = object()
MISSING_TG = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/nobody/0123456789abcdef"
CONFIGS = [
    ("steps-not-ending-at-100", {"traffic__steps": [10, 50]}, "traffic.steps: the last step must be 100"),
    ("steps-not-rising", {"traffic__steps": [50, 10, 100]}, "traffic.steps: steps must strictly increase"),
    ("negative-bake", {"traffic__bake_seconds": -5}, "traffic.bake_seconds: Input should be greater than or equal to 0"),
    ("negative-drain", {"drain_seconds": -1}, "drain_seconds: Input should be greater than or equal to 0"),
    ("missing-slot", {"slots__green": _DELETE}, "slots: green is missing: an app needs both a blue and a green slot"),
    ("unknown-field", {"trafic": {"steps": [100]}}, "trafic: is not a known field (check its spelling"),
    ("bad-insufficient-data", {"traffic__insufficient_data": "maybe"}, "traffic.insufficient_data: Input should be"),
    ("bad-launch-template", {"launch_template_id": "template-1"}, "launch_template_id: 'template-1' is not a launch"),
    ("bad-test-url", {"slots__blue__test_base_url": "blue.internal"}, "slots.blue.test_base_url: 'blue.internal' is not"),
    ("missing-dns", {"dns": _DELETE}, "dns: is required"),
    ("boolean-as-a-word", {"quarantine__snapshot_volumes": "no"}, "quarantine.snapshot_volumes: Input should be a valid boolean"),
    ("boolean-as-a-string", {"approval": {"before_traffic": "true"}}, "approval.before_traffic: Input should be a valid boolean"),
    ("number-as-a-string", {"keep_previous_seconds": "600"}, "keep_previous_seconds: Input should be a valid integer"),
    ("record-not-a-dns-name", {"dns__record_name": "shop web"}, "dns.record_name: 'shop web' is not a DNS name"),
    ("zone-id-with-prefix", {"dns__hosted_zone_id": "/hostedzone/Z123"}, "dns.hosted_zone_id: '/hostedzone/Z123' is not"),
    ("alias-a-url", {"slots__green__alias__dns_name": "http://lb"}, "slots.green.alias.dns_name: 'http://lb' is not a DNS"),
    ("target-group-a-name", {"slots__blue__target_group_arns": ["shop-blue"]}, "slots.blue.target_group_arns.0: 'shop-blue' is not a target group ARN"),
    ("too-large", {"smoke_tests": [{"path": "/", "expect_body_contains": "x" * 200_000}]}, "over the 4,096 of a standard SSM parameter"),
    ("history-budget", {"traffic__steps": list(range(5, 101, 5)), "health": {"timeout_seconds": 7200, "poll_seconds": 1}}, "traffic.steps: a release of this config can cost"),
    ("smoke-suite-too-long", {"smoke_tests": [{"path": "/", "attempts": 10, "timeout_seconds": 60}] * 2}, "smoke_tests: the suite can take"),
    ("no-such-launch-template", {"launch_template_id": "lt-0123456789abcdef0"}, "launch_template_id: lt-0123456789abcdef0 does not exist"),
    ("no-such-target-group", {"slots__green__target_group_arns": [MISSING_TG]}, "slots.green.target_group_arns.0: " + MISSING_TG + " does not exist"),
    ("no-such-alarm", {"traffic__alarm_names": ["nobody-made-this"]}, "traffic.alarm_names.0: no CloudWatch alarm named 'nobody-made-this'"),
    ("no-such-zone", {"dns__hosted_zone_id": "ZNOSUCHZONE"}, "dns.hosted_zone_id: ZNOSUCHZONE is no hosted zone of this account"),
    ("record-outside-the-zone", {"dns__record_name": "www.elsewhere.example.org"}, "dns.record_name: www.elsewhere.example.org is not in the zone"),
    ("ami-owner-not-an-account", {"ami_source": {"owners": ["1111"], "name_pattern": "shop-*"}}, "ami_source.owners.0: '1111' is not an AWS account id"),
    ("ami-owners-without-pattern", {"ami_source": {"owners": ["111122223333"]}}, "ami_source: name_pattern: is required"),
    ("ami-pattern-too-wide", {"ami_source": {"owners": ["111122223333"], "name_pattern": "*-*"}}, "ami_source.name_pattern: '*-*' names too little"),
    ("ami-parameter-reserved", {"ami_source": {"parameter": "/aws/service/ami"}}, "ami_source.parameter: '/aws/service/ami': SSM reserves"),
    ("ami-parameter-not-a-name", {"ami_source": {"parameter": "no spaces"}}, "ami_source.parameter: 'no spaces' is not an SSM parameter name"),
    ("ami-copy-as-a-word", {"ami_source": {"parameter": "/g/shop", "copy_shared": "yes"}}, "ami_source.copy_shared: Input should be a valid boolean"),
    ("ami-source-empty", {"ami_source": {}}, "ami_source: name owners and name_pattern, or parameter"),
    ("ami-build-approval-without-owners", {"ami_source": {"parameter": "/golden-ami/shop", "build_account_approval": True}}, "ami_source: build_account_approval: applies to AMIs of the build accounts in owners"),
    ("ami-build-approval-as-a-word", {"ami_source": {"owners": ["111122223333"], "name_pattern": "shop-*", "build_account_approval": "yes"}}, "ami_source.build_account_approval: Input should be a valid boolean"),
    ("ami-parameter-outside-prefix", {"ami_source": {"parameter": "/prod/shop-ami"}}, "ami_source.parameter: /prod/shop-ami is not under the stack's GoldenAmiParameterPrefix /golden-ami/"),
]  # fmt: skip


@pytest.mark.parametrize(("changes", "says"), [c[1:] for c in CONFIGS], ids=[c[0] for c in CONFIGS])
def test_app_put_refuses_an_invalid_configuration(shared_app, bluegreen, changes: dict, says: str) -> None:
    # Given the stored configuration, and a document with one thing wrong
    app = shared_app
    name = f"/bluegreen/apps/{app.name}"
    before = app.aws.client("ssm").get_parameter(Name=name)["Parameter"]["Value"]

    # When it is put with `bluegreen app put APP -`
    code, _, err = bluegreen("app", "put", app.name, "-", stdin=_config(app, **changes))

    # Then the CLI exits 2 with one line naming the field, and the stored configuration is untouched
    assert code == 2, err
    assert says in one_line(err), err
    assert app.aws.client("ssm").get_parameter(Name=name)["Parameter"]["Value"] == before


def test_app_put_refuses_a_secure_string_golden_parameter(shared_app, bluegreen) -> None:
    # Given a golden-AMI parameter that is a SecureString (a release can only refuse it)
    app = shared_app
    golden = f"/golden-ami/{app.name}-secret"
    app.aws.client("ssm").put_parameter(Name=golden, Value=app.seeded.base_ami, Type="SecureString")
    name = f"/bluegreen/apps/{app.name}"
    before = app.aws.client("ssm").get_parameter(Name=name)["Parameter"]["Value"]

    # When a configuration naming it is put
    code, _, err = bluegreen("app", "put", app.name, "-", stdin=_config(app, ami_source={"parameter": golden}))

    # Then the CLI exits 2 with one line naming the field and the fix, and the stored configuration is untouched
    assert code == 2, err
    assert f"ami_source.parameter: {golden} is a SecureString" in one_line(err)
    assert "publish the AMI id to a String parameter" in err
    assert app.aws.client("ssm").get_parameter(Name=name)["Parameter"]["Value"] == before


CLI_ERRORS = [
    ("invalid-json", ("app", "put", "{app}", "-"), "{not json", 2, "config is not valid JSON"),
    ("other-apps-document", ("app", "put", "other-app", "-"), "{config}", 2,
     "app: the document names '{app}' but is stored for 'other-app'"),
    ("unreadable-file", ("app", "put", "{app}", "/nonexistent/app.json"), "", 2, "FILE: cannot read /nonexistent"),
    ("malformed-ami", ("deploy", "{app}", "--ami", "ami-xyz"), "", 2, "ami_id: 'ami-xyz' is not an AMI id"),
    ("deploy-unknown-app", ("deploy", "no-such-app", "--ami", "ami-12345678"), "", 3,
     "app 'no-such-app' has no configuration"),
    ("deploy-unknown-app-and-wait", ("deploy", "no-such-app", "--ami", "ami-12345678", "--wait"), "", 3,
     "app 'no-such-app' has no configuration"),
    ("deploy-ami-not-here", ("deploy", "{app}", "--ami", "ami-0123456789abcdef0"), "", 3,
     "--ami: ami-0123456789abcdef0 does not exist in us-east-1"),
    ("deploy-ami-not-here-and-wait", ("deploy", "{app}", "--ami", "ami-0123456789abcdef0", "--wait"), "", 3,
     "--ami: ami-0123456789abcdef0 does not exist in us-east-1"),
    ("deploy-an-instance", ("deploy", "i-0123456789abcdef0", "--ami", "ami-12345678"), "", 2,
     "APP: 'i-0123456789abcdef0' is an instance id, not an app name"),
    ("quarantine-a-malformed-instance", ("quarantine", "i-xyz", "--reason", "x"), "", 2,
     "'i-xyz' is not an instance id (i- and 8 or 17 hex digits)"),
    ("dry-run-malformed-ami", ("deploy", "{app}", "--ami", "ami-1", "--dry-run"), "", 2, "'ami-1' is not an AMI id"),
    ("bad-app-name", ("deploy", "Bad_App", "--ami", "ami-12345678"), "", 2, "app: 'Bad_App' is not a valid app name"),
    ("unknown-app", ("status", "no-such-app"), "", 3,
     "app 'no-such-app' has no configuration (create it with `bluegreen app put no-such-app FILE`)"),
    ("approve-nothing", ("approve", "{app}"), "", 3, "app '{app}' has no release in flight"),
    ("abort-nothing", ("abort", "{app}"), "", 3, "app '{app}' has no release in flight"),
    ("rollback-nothing", ("rollback", "{app}"), "", 3, "app '{app}' has no release in flight"),
    ("bad-output", ("--output", "yaml", "status"), "", 2, "--output: 'yaml' is not json or table"),
]  # fmt: skip


@pytest.mark.parametrize(("args", "stdin", "code", "says"), [c[1:] for c in CLI_ERRORS], ids=[c[0] for c in CLI_ERRORS])
def test_the_cli_answers_bad_input_with_one_line_and_an_exit_code(shared_app, bluegreen, args, stdin, code, says):
    # Given a command with one thing wrong
    app = shared_app
    before = resources(app)
    args = tuple(a.format(app=app.name) for a in args)
    stdin = stdin.replace("{config}", _config(app))

    started = executions(app)

    # When it is run
    exit_code, _, err = bluegreen(*args, stdin=stdin)

    # Then it exits with the code scripts rely on and one line that says what is wrong, having started nothing
    assert exit_code == code, err
    assert one_line(err).startswith("error: ")
    assert says.format(app=app.name) in err
    assert executions(app) == started
    unchanged(app, before)


def executions(app) -> int:
    sfn = app.aws.client("stepfunctions")
    return len(sfn.list_executions(stateMachineArn=app.stack.outputs["DeployStateMachineArn"])["executions"])


def test_an_input_over_256_kib_is_refused_before_anything_starts(shared_app) -> None:
    # Given a request padded past Step Functions' 262,144-byte input limit
    app = shared_app
    before, started = resources(app), executions(app)
    payload = {"app": app.name, "ami_id": "ami-12345678", "note": "x" * 300_000}
    # When it is started, Then Step Functions refuses it, and nothing ran
    sfn = app.aws.client("stepfunctions")
    with pytest.raises(sfn.exceptions.ClientError) as refused:
        sfn.start_execution(stateMachineArn=app.stack.outputs["DeployStateMachineArn"], input=json.dumps(payload))
    assert refused.value.response["Error"]["Code"] == "ValidationException"
    assert executions(app) == started
    unchanged(app, before)


def test_a_reconciliation_of_an_execution_that_holds_nothing_changes_nothing(shared_app) -> None:
    # Given a status-change event for an execution that never took a lock (another machine's, say)
    app = shared_app
    before = resources(app)
    other = "arn:aws:states:us-east-1:123456789012:execution:someone-else:run-1"
    payload = {
        "version": "0",
        "id": "5e5b1b0a-aaaa-bbbb-cccc-0123456789ab",
        "detail-type": "Step Functions Execution Status Change",
        "source": "aws.states",
        "account": "123456789012",
        "time": "2026-11-22T03:52:10Z",
        "region": "us-east-1",
        "resources": [other],
        "detail": {"executionArn": other, "status": "ABORTED", "stateMachineArn": "arn:aws:states:::x"},
    }
    # When it reaches the deploy machine, Then it ends as Ignored, saying why, and nothing moved
    execution = run(app, payload)
    assert (execution.status, execution.output["release"]["outcome"]) == ("SUCCEEDED", "Ignored")
    assert "holds no release" in execution.output["release"]["reason"]
    unchanged(app, before)


def test_the_installed_command_exits_with_the_code_and_no_traceback(shared_app) -> None:
    # Given the `bluegreen` command as installed, pointed at the twin
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}

    # When it is asked about an app that does not exist
    done = subprocess.run(
        [BLUEGREEN, "--endpoint-url", shared_app.endpoint, "status", "no-such-app"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    # Then it exits 3 with one line on stderr
    assert done.returncode == 3, done.stderr
    assert one_line(done.stderr).startswith("error: app 'no-such-app' has no configuration")
