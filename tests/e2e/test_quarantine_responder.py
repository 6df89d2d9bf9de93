"""The responder's tools (issue 8, point 7), end to end on the twin: `bluegreen case`, `watch` on a case, a swap again
with `quarantine --swap-only`, `release-instance` after the investigation; and every new option and config field
refused in one line, changing nothing."""

from __future__ import annotations

import itertools
import json
import subprocess
from collections.abc import Iterator

import pytest

from bluegreen.cli import ops
from bluegreen.twin import server
from tests.e2e.conftest import App, finish, new_app, run_cli
from tests.e2e.test_quarantine import BLUEGREEN, REGION, case_item, fleet, put_finding, quarantine_for, quarantines
from tests.e2e.test_quarantine_containment import one_more_instance


def cli(app: App, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, *args: str, stdin: str = ""):
    return run_cli(app.endpoint, capsys, monkeypatch, *args, stdin=stdin)


@pytest.fixture
def bluegreen(app, capsys, monkeypatch):
    return lambda *args, stdin="": cli(app, capsys, monkeypatch, *args, stdin=stdin)


def one_line(text: str) -> str:
    assert text and "\n" not in text.strip() and "Traceback" not in text, text
    return text.strip()


def instance(app, instance_id: str) -> dict:
    return app.aws.client("ec2").describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]


def quarantined(app, victim: str, reason: str = "C&C traffic") -> ops.Execution:
    execution = app.wait(ops.start_quarantine(app.aws, [victim], reason), timeout=120)
    assert execution.status == "SUCCEEDED", execution.cause
    return execution


# --- bluegreen case -------------------------------------------------------------------------------------------------


def test_case_shows_a_cases_timeline_from_the_event_to_its_close(app, bluegreen) -> None:
    # Given a GuardDuty finding that was quarantined and swapped
    victim = fleet(app)[0]
    put_finding(app, victim)
    execution = app.wait(quarantine_for(app, victim))
    assert execution.status == "SUCCEEDED", execution.cause
    case_id = execution.output["case"]["case_id"]
    # When the responder asks for the app's case, as JSON and as a table
    code, out, err = bluegreen("--output", "json", "case", app.name)
    assert code == 0, err
    shown = json.loads(out)
    # Then it is that case, and its timeline runs in order from the event, through each step of the instance, to the
    # swap and the close
    assert shown["case"]["case_id"] == case_id
    whats = [row["what"] for row in shown["timeline"]]
    assert whats[0] == "security event" and whats[-1] == "case closed"
    steps = [w.removeprefix(f"{victim} ") for w in whats if w.startswith(victim)]
    assert steps[:4] == ["recorded", "isolate_network", "network_acl", "revoke_credentials"]
    assert whats.index("contained") < whats.index("isolated") < whats.index("swapped")
    assert [row["at"] for row in shown["timeline"]] == sorted(
        (row["at"] for row in shown["timeline"]), key=ops._instant
    )
    code, out, _ = bluegreen("case", app.name, case_id)
    assert code == 0 and victim in out and "isolate_network" in out


# --- bluegreen watch ------------------------------------------------------------------------------------------------


def test_watch_follows_the_apps_open_case_to_its_end(app) -> None:
    # Given a case waiting for an instance the group is still launching
    victim = one_more_instance(app, "Pending")
    put_finding(app, victim)
    arn = quarantine_for(app, victim)
    app.wait_until(lambda: ops.open_case(app.aws, app.name), 30, "the case to open")
    # When the responder watches the app (the installed command, in JSON so the end is readable)
    watcher = subprocess.Popen(
        [BLUEGREEN, "--endpoint-url", app.endpoint, "--region", REGION, "--output", "json", "watch", app.name],
        env={"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "PATH": ""},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    app.wait_until(
        lambda: (case_item(app, ops.open_case(app.aws, app.name)["case_id"]) or {}).get("status") == "detaching",
        30,
        "the case to wait",
    )
    server.set_instance_lifecycle(app.endpoint, victim, "InService")
    out, err = watcher.communicate(timeout=120)
    # Then it followed the case to its end: the instance quarantined, the fleet swapped
    assert watcher.returncode == 0, err
    ended = json.loads(out)  # --output json: no live view on stdout, only the end
    assert ended["status"] == "SUCCEEDED" and ended["case"]["status"] == "swapped"
    assert ended["case"]["isolated"] == [victim]
    assert app.wait(arn).status == "SUCCEEDED"


def test_watch_follows_a_quarantine_execution(app, bluegreen) -> None:
    # Given a quarantine started by hand
    victim = fleet(app)[0]
    arn = ops.start_quarantine(app.aws, [victim], "beaconing")
    # When its execution is watched
    code, out, err = bluegreen("--output", "json", "watch", arn)
    # Then the command returns when the case ends, with the case
    assert code == 0, err
    ended = json.loads(out)
    assert (ended["status"], ended["case"]["status"], ended["case"]["isolated"]) == ("SUCCEEDED", "swapped", [victim])


# --- a swap again ---------------------------------------------------------------------------------------------------


def test_a_case_whose_swap_failed_is_swapped_again_without_isolating_again(app, bluegreen) -> None:
    # Given a case whose swap failed (the responder named a broken AMI as the known-good one)
    broken = app.publish_ami(broken=True)
    victim = fleet(app)[0]
    failed = app.wait(ops.start_quarantine(app.aws, [victim], "C&C", broken), timeout=120)
    assert (failed.status, failed.error) == ("FAILED", "SwapFailedError")
    case_id = next(h["case_id"] for h in ops.history(app.aws, app.name) if h.get("kind") == "case")
    assert case_item(app, case_id)["status"] == "swap_failed"
    mark = len(server.api_call_log(app.endpoint))
    # When the responder swaps again, onto the live AMI
    code, _out, err = bluegreen("quarantine", app.name, "--swap-only", "--reason", "the named AMI was broken", "--wait")
    # Then the same case swapped the fleet, and nothing was isolated again
    assert code == 0, err
    item = case_item(app, case_id)
    assert item["status"] == "swapped" and item["swap"]["green_asg"] == app.groups()[0]
    assert app.status()["weights"] == {"blue": 0, "green": 100}
    assert any(t.get("swap_only") for t in item["triggers"])
    again = quarantines(app, "swap_only")[-1]
    states = {
        e["stateEnteredEventDetails"]["name"]
        for e in app.aws.client("stepfunctions").get_execution_history(executionArn=again, maxResults=500)["events"]
        if "stateEnteredEventDetails" in e
    }
    assert "IsolateInstances" not in states and "SwapFleet" in states
    assert not [c for c in server.api_call_log(app.endpoint)[mark:] if "IsolateInstances" in c["function"]]
    assert item["instances"][victim]["status"] == "isolated"


# --- release-instance -----------------------------------------------------------------------------------------------


def test_release_instance_undoes_the_isolation_and_keeps_the_evidence(app, bluegreen) -> None:
    # Given a quarantined instance that had an Elastic IP, and another of its case, once the case has closed
    ec2 = app.aws.client("ec2")
    victim, other = fleet(app)[:2]
    before = instance(app, victim)
    allocation = ec2.allocate_address(Domain="vpc")["AllocationId"]
    ec2.associate_address(AllocationId=allocation, InstanceId=victim)
    execution = app.wait(ops.start_quarantine(app.aws, [victim, other], "C&C traffic"), timeout=120)
    assert execution.status == "SUCCEEDED", execution.cause
    case_id = execution.output["case"]["case_id"]
    policy = case_item(app, case_id)["instances"][victim]["steps"]["revoke_credentials"]["policy"]
    # When the responder releases it after the investigation
    code, _out, err = bluegreen("release-instance", victim, "--reason", "false positive: a pentest")
    assert code == 0, err
    # Then its own groups, instance profile, role sessions and Elastic IP are back
    after = instance(app, victim)
    assert {n["NetworkInterfaceId"]: [g["GroupId"] for g in n["Groups"]] for n in after["NetworkInterfaces"]} == {
        n["NetworkInterfaceId"]: [g["GroupId"] for g in n["Groups"]] for n in before["NetworkInterfaces"]
    }
    assert after["IamInstanceProfile"]["Arn"] == before["IamInstanceProfile"]["Arn"]
    # (the case's deny on the role still names the other instance, and only it)
    deny = app.aws.client("iam").get_role_policy(RoleName=f"{app.name}-fleet", PolicyName=policy)["PolicyDocument"]
    sources = deny["Statement"][0]["Condition"]["StringEquals"]["ec2:SourceInstanceARN"]
    assert [s.rsplit("/", 1)[-1] for s in sources] == [other]
    assert ec2.describe_addresses(AllocationIds=[allocation])["Addresses"][0].get("InstanceId") == victim
    # And the evidence stays: termination protection, volumes kept on termination, snapshots; it is in no group
    assert ec2.describe_instance_attribute(InstanceId=victim, Attribute="disableApiTermination")[
        "DisableApiTermination"
    ]["Value"]
    assert not any(m["Ebs"]["DeleteOnTermination"] for m in after["BlockDeviceMappings"])
    assert (
        app.aws.client("autoscaling").describe_auto_scaling_instances(InstanceIds=[victim])["AutoScalingInstances"]
        == []
    )
    tags = {t["Key"]: t["Value"] for t in after["Tags"]}
    assert "bluegreen:quarantine" not in tags and tags["bluegreen:quarantine-released"] == case_id
    record = case_item(app, case_id)["instances"][victim]
    assert (record["status"], record["released_reason"]) == ("released", "false positive: a pentest")
    # And a second release is refused: the instance is no longer quarantined
    code, _, err = bluegreen("release-instance", victim, "--reason", "again")
    assert code == 3 and "is not quarantined" in one_line(err)


# --- bad input: each refused in one line, changing nothing ----------------------------------------------------------


@pytest.fixture(scope="module")
def shared_app(stack) -> Iterator[App]:
    harness = new_app(stack)
    yield harness
    breaches = finish(harness)
    assert not breaches, f"invariants breached: {breaches}"


@pytest.fixture
def shared_cli(shared_app, capsys, monkeypatch):
    return lambda *args, stdin="": cli(shared_app, capsys, monkeypatch, *args, stdin=stdin)


def untouched(app, executions: int, config: str) -> None:
    status = app.status()
    assert status["weights"] == {"blue": 100, "green": 0} and app.groups() == [app.seeded.blue_asg]
    machine = app.stack.outputs["QuarantineStateMachineArn"]
    listed = app.aws.client("stepfunctions").list_executions(stateMachineArn=machine)["executions"]
    assert len(listed) == executions
    assert app.aws.client("ssm").get_parameter(Name=f"/bluegreen/apps/{app.name}")["Parameter"]["Value"] == config


BAD_COMMANDS = [
    ("empty-reason", ("quarantine", "{app}", "--reason", ""), 2, "--reason: say why"),
    ("blank-reason", ("quarantine", "{victim}", "--reason", "   "), 2, "--reason: say why"),
    ("no-reason", ("quarantine", "{app}"), 2, "Missing option '--reason'"),
    ("swap-only-with-instances", ("quarantine", "{app}", "{victim}", "--swap-only", "--reason", "x"), 2,
     "--swap-only: name the app alone"),
    ("swap-only-no-failed-case", ("quarantine", "{app}", "--swap-only", "--reason", "x"), 3,
     "app '{app}' has no case whose swap failed to swap again (it has none)"),
    ("swap-only-unknown-app", ("quarantine", "no-such-app", "--swap-only", "--reason", "x"), 3,
     "app 'no-such-app' has no configuration"),
    ("release-bad-id", ("release-instance", "i-xyz", "--reason", "x"), 2, "INSTANCE_ID: 'i-xyz' is not an instance id"),
    ("release-unknown", ("release-instance", "i-0123456789abcdef0", "--reason", "x"), 3,
     "instance i-0123456789abcdef0 does not exist in this region"),
    ("release-not-quarantined", ("release-instance", "{victim}", "--reason", "x"), 3,
     "instance {victim} is not quarantined (no bluegreen:quarantine tag)"),
    ("release-empty-reason", ("release-instance", "{victim}", "--reason", " "), 2, "--reason: say why"),
    ("case-bad-app", ("case", "Bad_App"), 2, "app: 'Bad_App' is not a valid app name"),
    ("case-none", ("case", "{app}"), 3, "app '{app}' has no quarantine case"),
    ("case-bad-id", ("case", "{app}", "../x"), 2, "CASE_ID: '../x' is not a case id"),
    ("case-unknown-id", ("case", "{app}", "20260101T000000-abcd"), 3, "app '{app}' has no case 20260101T000000-abcd"),
    ("watch-nothing", ("watch", "{app}"), 3, "app '{app}' has no release in flight and no open quarantine case"),
]  # fmt: skip


@pytest.mark.parametrize(("args", "code", "says"), [c[1:] for c in BAD_COMMANDS], ids=[c[0] for c in BAD_COMMANDS])
def test_a_bad_responder_command_is_refused_in_one_line_and_changes_nothing(shared_app, shared_cli, args, code, says):
    # Given the app as it is, and a command with one thing wrong
    app = shared_app
    victim = fleet(app)[0]
    machine = app.stack.outputs["QuarantineStateMachineArn"]
    executions = len(app.aws.client("stepfunctions").list_executions(stateMachineArn=machine)["executions"])
    config = app.aws.client("ssm").get_parameter(Name=f"/bluegreen/apps/{app.name}")["Parameter"]["Value"]
    args = tuple(a.format(app=app.name, victim=victim) for a in args)
    # When it is run
    exit_code, _, err = shared_cli(*args)
    # Then it exits with the code scripts rely on, one line saying what is wrong, and nothing changed
    assert exit_code == code, err
    assert says.format(app=app.name, victim=victim) in one_line(err), err
    untouched(app, executions, config)


_groups = itertools.count(1)


def _group(app, rules: str, vpc: str | None = None) -> str:
    """A security group in the app's VPC (or another): "none" (no rule), "egress" (a new group's default rule), or
    "all" (all traffic from and to anywhere, IPv4 only)."""
    ec2 = app.aws.client("ec2")
    vpc = vpc or app.seeded.vpc_id
    group = ec2.create_security_group(GroupName=f"g-{rules}-{next(_groups)}", Description="test", VpcId=vpc)["GroupId"]
    if rules == "none":
        ec2.revoke_security_group_egress(
            GroupId=group, IpPermissions=[{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]
        )
    if rules == "all":
        ec2.authorize_security_group_ingress(
            GroupId=group, IpPermissions=[{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]
        )
    return group


def _other_vpc(app) -> str:
    return app.aws.client("ec2").create_vpc(CidrBlock="10.99.0.0/16")["Vpc"]["VpcId"]


BAD_FIELDS = [
    ("untracking-not-a-group", lambda app: {"untracking_group_id": "sg-zz"},
     "quarantine.untracking_group_id: 'sg-zz' is not a security group id (sg- and hex digits)"),
    ("revoke-not-a-boolean", lambda app: {"revoke_credentials": "yes"},
     "quarantine.revoke_credentials: Input should be a valid boolean"),
    ("same-group-twice", lambda app: {"security_group_id": app.seeded.isolation_sg,
                                      "untracking_group_id": app.seeded.isolation_sg},
     "quarantine.untracking_group_id: must differ from security_group_id"),
    ("isolation-group-missing", lambda app: {"security_group_id": "sg-0123456789abcdef0"},
     "quarantine.security_group_id: sg-0123456789abcdef0 does not exist"),
    ("untracking-group-missing", lambda app: {"untracking_group_id": "sg-0123456789abcdef0"},
     "quarantine.untracking_group_id: sg-0123456789abcdef0 does not exist"),
    ("isolation-group-other-vpc", lambda app: {"security_group_id": _group(app, "none", _other_vpc(app))},
     "an interface takes groups of its own VPC only"),
    ("isolation-group-open", lambda app: {"security_group_id": _group(app, "egress")},
     "allows traffic from or to anywhere (0.0.0.0/0 or ::/0), so it would not isolate"),
    ("untracking-group-partial", lambda app: {"untracking_group_id": _group(app, "all")},
     "must allow all traffic from and to 0.0.0.0/0 and ::/0"),
]  # fmt: skip


@pytest.mark.parametrize(("fields", "says"), [c[1:] for c in BAD_FIELDS], ids=[c[0] for c in BAD_FIELDS])
def test_app_put_refuses_a_quarantine_field_that_would_not_contain(shared_app, shared_cli, fields, says) -> None:
    # Given the stored configuration, and a document whose quarantine section has one thing wrong
    app = shared_app
    document = json.loads(ops.load_config(app.aws, app.name).model_dump_json())
    document["quarantine"].update(fields(app))
    machine = app.stack.outputs["QuarantineStateMachineArn"]
    executions = len(app.aws.client("stepfunctions").list_executions(stateMachineArn=machine)["executions"])
    config = app.aws.client("ssm").get_parameter(Name=f"/bluegreen/apps/{app.name}")["Parameter"]["Value"]
    # When it is put
    code, _, err = shared_cli("app", "put", app.name, "-", stdin=json.dumps(document))
    # Then the CLI exits 2 with one line naming the field, and the stored configuration is untouched
    assert code == 2, err
    assert says in one_line(err), err
    untouched(app, executions, config)


def test_app_put_takes_groups_that_fit(shared_app, shared_cli) -> None:
    # Given an isolation group with no rule and an untracking group open both ways, IPv4 and IPv6, in the app's VPC
    app = shared_app
    ec2 = app.aws.client("ec2")
    untracking = _group(app, "all")
    ipv6 = [{"IpProtocol": "-1", "Ipv6Ranges": [{"CidrIpv6": "::/0"}]}]
    ec2.authorize_security_group_ingress(GroupId=untracking, IpPermissions=ipv6)
    ec2.authorize_security_group_egress(GroupId=untracking, IpPermissions=ipv6)
    document = json.loads(ops.load_config(app.aws, app.name).model_dump_json())
    document["quarantine"].update({"untracking_group_id": untracking, "revoke_credentials": False})
    # When the document is put, Then it is stored
    code, _, err = shared_cli("app", "put", app.name, "-", stdin=json.dumps(document))
    assert code == 0, err
    stored = ops.load_config(app.aws, app.name).quarantine
    assert (stored.untracking_group_id, stored.revoke_credentials) == (untracking, False)
    # And put back as it was, for the other cases of this module
    document["quarantine"].update({"untracking_group_id": None, "revoke_credentials": True})
    assert shared_cli("app", "put", app.name, "-", stdin=json.dumps(document))[0] == 0


BAD_REQUESTS = [
    ("no-reason", {"app": "{app}", "instance_ids": ["{victim}"]}, "TriggerInvalidError",
     "reason: say why (it is recorded in the case and its notifications)"),
    ("swap-only-not-boolean", {"app": "{app}", "reason": "x", "swap_only": "yes"}, "TriggerInvalidError",
     "swap_only: expected true or false"),
    ("swap-only-with-instances", {"app": "{app}", "instance_ids": ["{victim}"], "reason": "x", "swap_only": True},
     "TriggerInvalidError", "swap_only: name the app alone"),
    ("swap-only-no-failed-case", {"app": "{app}", "reason": "x", "swap_only": True}, "CaseNotFoundError",
     "app: {app} has no case whose swap failed (it has none)"),
]  # fmt: skip


@pytest.mark.parametrize(("request_", "error", "says"), [c[1:] for c in BAD_REQUESTS], ids=[c[0] for c in BAD_REQUESTS])
def test_a_bad_quarantine_request_started_by_hand_fails_in_one_line_and_changes_nothing(
    shared_app, request_, error, says
) -> None:
    # Given a quarantine request with one thing wrong, as `aws stepfunctions start-execution` would send it
    app = shared_app
    victim = fleet(app)[0]
    payload = json.loads(json.dumps(request_).replace("{app}", app.name).replace("{victim}", victim))
    config = app.aws.client("ssm").get_parameter(Name=f"/bluegreen/apps/{app.name}")["Parameter"]["Value"]
    tags = instance(app, victim)["Tags"]
    machine = app.stack.outputs["QuarantineStateMachineArn"]
    sfn = app.aws.client("stepfunctions")
    # When the quarantine machine is started with it
    arn = sfn.start_execution(stateMachineArn=machine, input=json.dumps(payload))["executionArn"]
    execution = app.wait(arn)
    executions = len(sfn.list_executions(stateMachineArn=machine)["executions"])
    # Then it fails naming the field, before anything changed: no case, the instance as it was
    assert (execution.status, execution.error) == ("FAILED", error)
    assert says.format(app=app.name) in one_line(execution.cause)
    assert ops.state_table.get(app.name, "CASE", ops.table(app.aws)) is None
    assert instance(app, victim)["Tags"] == tags
    untouched(app, executions, config)


NOT_OBJECTS = [
    ("a-list", []),
    ("a-number", 42),
    ("null", None),
    ("a-string", "i-0123456789abcdef0"),
    ("no-known-field", {}),
]


@pytest.mark.parametrize("payload", [c[1] for c in NOT_OBJECTS], ids=[c[0] for c in NOT_OBJECTS])
def test_an_input_that_is_no_quarantine_request_is_rejected_in_the_first_state(shared_app, payload) -> None:
    # Given an input that is not an object the quarantine machine takes, as `aws stepfunctions start-execution` sends it
    app = shared_app
    config = app.aws.client("ssm").get_parameter(Name=f"/bluegreen/apps/{app.name}")["Parameter"]["Value"]
    machine = app.stack.outputs["QuarantineStateMachineArn"]
    sfn = app.aws.client("stepfunctions")
    # When the quarantine machine is started with it
    arn = sfn.start_execution(stateMachineArn=machine, input=json.dumps(payload))["executionArn"]
    execution = app.wait(arn)
    executions = len(sfn.list_executions(stateMachineArn=machine)["executions"])
    # Then it ends CaseRejected with TriggerInvalidError and one line naming the input, before any task ran
    assert (execution.status, execution.error) == ("FAILED", "TriggerInvalidError"), execution.cause
    assert one_line(execution.cause).startswith("input: expected a JSON object")
    history = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
    entered = [e["stateEnteredEventDetails"]["name"] for e in history if "stateEnteredEventDetails" in e]
    assert entered == ["IsInputUsable", "DescribeRejectedInput", "CaseRejected"]
    untouched(app, executions, config)
