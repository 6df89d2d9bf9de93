"""A security path that an attacker, a nightly backup or an unlucky app name cannot turn against the fleet (issue 15),
end to end on the twin and seen from outside: network ACL denies for what AWS always tracks, and their removal."""

from __future__ import annotations

import json

import pytest

from bluegreen.cli import ops
from bluegreen.demo.seed import security_alarm
from tests.e2e.conftest import run_cli
from tests.e2e.screening import dropped
from tests.e2e.test_quarantine import case_item, fleet, quarantine_for
from tests.e2e.test_quarantine_responder import one_line


@pytest.fixture
def bluegreen(app, capsys, monkeypatch):
    return lambda *args, stdin="": run_cli(app.endpoint, capsys, monkeypatch, *args, stdin=stdin)


def acls_of(app) -> list[dict]:
    ec2 = app.aws.client("ec2")
    return ec2.describe_network_acls(Filters=[{"Name": "vpc-id", "Values": [app.seeded.vpc_id]}])["NetworkAcls"]


def address(app, instance_id: str) -> str:
    described = app.aws.client("ec2").describe_instances(InstanceIds=[instance_id])
    return described["Reservations"][0]["Instances"][0]["PrivateIpAddress"]


def denies(acl: dict, cidr: str) -> dict[bool, list[int]]:
    """Direction (egress) -> the numbers of the rules denying all traffic from or to `cidr`."""
    found: dict[bool, list[int]] = {False: [], True: []}
    for e in acl["Entries"]:
        if e.get("CidrBlock") == cidr and e["RuleAction"] == "deny" and e["Protocol"] == "-1":
            found[e["Egress"]].append(e["RuleNumber"])
    return found


def first_allow(acl: dict, egress: bool) -> int:
    return min(e["RuleNumber"] for e in acl["Entries"] if e["Egress"] == egress and e["RuleAction"] == "allow")


# --- 1. what AWS always tracks: network ACL denies -------------------------------------------------------------------


def test_quarantine_denies_the_instances_own_addresses_in_the_vpcs_network_acls_before_any_allow(
    app, bluegreen
) -> None:
    # Given a fleet in a VPC whose subnets share its default network ACL (the NAT gateway's subnet among them)
    victim, bystander = fleet(app)[:2]
    mine, theirs = f"{address(app, victim)}/32", f"{address(app, bystander)}/32"
    # When one instance is quarantined
    execution = app.wait(ops.start_quarantine(app.aws, [victim], "C&C through the NAT gateway"), timeout=120)
    assert execution.status == "SUCCEEDED", execution.cause
    case_id = execution.output["case"]["case_id"]
    # Then each network ACL serving the VPC's subnets denies all traffic from and to its address, before its allows
    shared = [a for a in acls_of(app) if a["Associations"]]
    assert shared
    for acl in shared:
        found = denies(acl, mine)
        assert len(found[False]) == 1 and found[False][0] < first_allow(acl, False)
        assert len(found[True]) == 1 and found[True][0] < first_allow(acl, True)
        # And the other instances are untouched: no rule names them
        assert denies(acl, theirs) == {False: [], True: []}
    # And the case records each entry, and that the step succeeded
    step = case_item(app, case_id)["instances"][victim]["steps"]["network_acl"]
    assert step["ok"] is True
    assert {(e["network_acl_id"], e["egress"], e["cidr"]) for e in step["entries"]} == {
        (a["NetworkAclId"], egress, mine) for a in shared for egress in (False, True)
    }
    # When the investigation is over and the responder releases it
    code, _out, err = bluegreen("release-instance", victim, "--reason", "false positive")
    assert code == 0, err
    # Then the entries are gone, and nothing else in the ACLs changed
    for acl in acls_of(app):
        assert denies(acl, mine) == {False: [], True: []}
    released = case_item(app, case_id)["instances"][victim]["release"]
    assert released["network_acl"].count("removed") == 2 * len(shared)


def test_a_network_acl_with_no_room_is_not_relied_on_and_the_case_says_so(app) -> None:
    # Given the VPC's network ACL holding 20 inbound IPv4 rules already (the VPC quota, the default deny included)
    ec2 = app.aws.client("ec2")
    acl = next(a for a in acls_of(app) if a["Associations"])
    used = sum(1 for e in acl["Entries"] if not e["Egress"] and "CidrBlock" in e)
    for n in range(1, 21 - used):
        ec2.create_network_acl_entry(
            NetworkAclId=acl["NetworkAclId"],
            RuleNumber=n,
            Protocol="-1",
            RuleAction="deny",
            Egress=False,
            CidrBlock=f"192.0.2.{n}/32",
        )
    before = ec2.describe_network_acls(NetworkAclIds=[acl["NetworkAclId"]])["NetworkAcls"][0]["Entries"]
    victim = fleet(app)[0]
    # When an instance is quarantined
    execution = app.wait(ops.start_quarantine(app.aws, [victim], "C&C"), timeout=120)
    # Then the case does not claim the instance contained: the step failed, naming the quota, and added nothing there
    assert execution.status == "FAILED"
    assert execution.error == "IsolationIncompleteError"
    assert "Rules per network ACL" in execution.cause
    after = ec2.describe_network_acls(NetworkAclIds=[acl["NetworkAclId"]])["NetworkAcls"][0]["Entries"]
    assert sorted(map(str, after)) == sorted(map(str, before))
    case = ops.case(app.aws, app.name)
    step = case["instances"][victim]["steps"]["network_acl"]
    assert step["ok"] is False and "20 of 20 inbound IPv4 rules used" in step["result"]
    assert not case["instances"][victim].get("contained_at")
    # And the rest of the containment still ran: the instance is isolated by its groups, its credentials revoked
    steps = case["instances"][victim]["steps"]
    assert steps["isolate_network"]["ok"] and steps["revoke_credentials"]["ok"]


@pytest.mark.parametrize("app", [{"quarantine": {"network_acl": False}}], indirect=True)
def test_an_app_may_turn_the_network_acl_step_off_and_the_case_says_what_that_leaves_open(app) -> None:
    victim = fleet(app)[0]
    execution = app.wait(ops.start_quarantine(app.aws, [victim], "C&C"), timeout=120)
    assert execution.status == "SUCCEEDED", execution.cause
    step = case_item(app, execution.output["case"]["case_id"])["instances"][victim]["steps"]["network_acl"]
    assert "are NOT cut" in step["result"]
    mine = f"{address(app, victim)}/32"
    assert all(denies(a, mine) == {False: [], True: []} for a in acls_of(app))


# --- 2. backups and images of a fleet's own hosts are never released by an event -------------------------------------


def image_of(app, instance_id: str, name: str, tags: dict[str, str]) -> str:
    """An image of a running instance, as DLM or a tag-copying script makes it."""
    specs = [{"ResourceType": "image", "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}]
    return app.aws.client("ec2").create_image(InstanceId=instance_id, Name=name, TagSpecifications=specs)["ImageId"]


def ignored(app, ami_id: str) -> str:
    # The trigger screen drops its event: no execution starts (issue 16: backups cost no Standard execution)
    reason = dropped(app, ami_id)
    # nothing changed: no new group, no lock, the live AMI as it was
    assert app.groups() == [app.seeded.blue_asg] and app.lock() is None
    assert all(r.get("ami_id") != ami_id for r in app.releases())
    return reason


def test_a_dlm_backup_of_a_fleet_instance_carrying_its_tags_is_ignored(app) -> None:
    # Given a nightly DLM policy that images a fleet instance and copies its tags (bluegreen:app among them)
    victim = fleet(app)[0]
    ami = image_of(
        app,
        victim,
        f"{app.name}-dlm-nightly",
        {"bluegreen:app": app.name, "aws:dlm:lifecycle-policy-id": "policy-0a1b2c3d"},
    )
    # Then its event releases nothing, and says why
    reason = ignored(app, ami)
    assert "backup made by Data Lifecycle Manager" in reason and "never released by an event" in reason


def test_an_image_of_a_fleet_instance_is_ignored_whatever_tag_selects_it(app) -> None:
    # Given a script that images a fleet instance and tags the image for the app (even with the new selecting tag)
    victim = fleet(app)[0]
    ami = image_of(app, victim, f"{app.name}-from-host", {"bluegreen:release-to": app.name})
    reason = ignored(app, ami)
    assert f"was made from {victim}, an instance of a bluegreen fleet" in reason


def test_an_analysts_image_of_a_quarantined_instance_is_ignored(app) -> None:
    victim = fleet(app)[0]
    execution = app.wait(ops.start_quarantine(app.aws, [victim], "C&C"), timeout=120)
    assert execution.status == "SUCCEEDED", execution.cause
    ami = image_of(app, victim, f"{app.name}-forensic", {"bluegreen:release-to": app.name})
    before = app.status()["live"]["ami_id"]
    assert "a quarantined instance" in dropped(app, ami)
    assert app.status()["live"]["ami_id"] == before


def test_deploy_of_an_image_of_a_fleet_host_asks_for_force_and_says_why(app, bluegreen) -> None:
    victim = fleet(app)[0]
    ami = image_of(app, victim, f"{app.name}-by-hand", {"team": "shop"})  # no selecting tag: its event matches nothing
    executions = len(app.executions_for(ami))
    # When it is released by name without --force: refused in one line, nothing started
    code, _out, err = bluegreen("deploy", app.name, "--ami", ami)
    assert code == 2
    line = one_line(err)
    assert f"was made from {victim}" in line and "--force" in line
    assert len(app.executions_for(ami)) == executions
    # And asked for directly (not through the CLI), the pipeline refuses it too, changing nothing
    started = app.aws.client("stepfunctions").start_execution(
        stateMachineArn=app.aws.outputs["DeployStateMachineArn"], input=json.dumps({"app": app.name, "ami_id": ami})
    )
    refused = app.wait(started["executionArn"])
    assert refused.status == "FAILED" and "force" in (refused.cause or "")
    assert app.groups() == [app.seeded.blue_asg] and app.lock() is None
    # When the operator insists, knowingly: it is released
    code, _out, err = bluegreen("--output", "json", "deploy", app.name, "--ami", ami, "--force", "--wait")
    assert code == 0, err
    assert app.status()["live"]["ami_id"] == ami


# --- 4. no name bluegreen makes can be taken for a security alarm ----------------------------------------------------


def test_copies_of_scaling_alarms_have_a_prefix_of_their_own(app) -> None:
    # Given a step scaling policy on the live group, with its alarm
    asg, cloudwatch = app.aws.client("autoscaling"), app.aws.client("cloudwatch")
    policy = asg.put_scaling_policy(
        AutoScalingGroupName=app.seeded.blue_asg,
        PolicyName="cpu-high",
        PolicyType="StepScaling",
        AdjustmentType="ChangeInCapacity",
        StepAdjustments=[{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 1}],
    )["PolicyARN"]
    cloudwatch.put_metric_alarm(
        AlarmName=f"{app.name}-cpu-high",
        MetricName="CPUUtilization",
        Namespace="AWS/EC2",
        Statistic="Average",
        Period=60,
        EvaluationPeriods=1,
        Threshold=80,
        ComparisonOperator="GreaterThanThreshold",
        Dimensions=[{"Name": "AutoScalingGroupName", "Value": app.seeded.blue_asg}],
        AlarmActions=[policy],
    )
    # When a release clones the group
    execution = app.release(app.publish_ami())
    assert execution.status == "SUCCEEDED", execution.cause
    green = execution.output["release"]["green_asg"]
    # Then its copy is named bluegreen-scaling-<group>-<policy>: never the security prefix, whatever the app's name
    names = [a["AlarmName"] for a in cloudwatch.describe_alarms(AlarmNamePrefix="bluegreen-")["MetricAlarms"]]
    assert f"bluegreen-scaling-{green}-cpu-high" in names
    assert not any(n.startswith("bluegreen-security-") for n in names)


def test_app_put_refuses_an_app_name_whose_alarm_copies_the_security_prefix_would_take(
    app, bluegreen, tmp_path
) -> None:
    document = ops.load_config(app.aws, app.name).model_dump(mode="json")
    for name in ("security-shop", "security"):
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps({**document, "app": name}))
        code, _out, err = bluegreen("app", "put", name, str(path))
        assert code == 2
        line = one_line(err)
        assert f"app: {name!r}" in line and "SecurityAlarmPrefix" in line and "choose another app name" in line
        # nothing stored
        code, _out, _err = bluegreen("app", "get", name)
        assert code == 3


# --- 6. the credential deny names the session too, and the case says when it takes effect ---------------------------


def test_the_deny_names_the_instances_session_and_the_case_says_it_takes_minutes(app, bluegreen) -> None:
    victim = fleet(app)[0]
    execution = app.wait(ops.start_quarantine(app.aws, [victim], "credential exfiltration"), timeout=120)
    assert execution.status == "SUCCEEDED", execution.cause
    case_id = execution.output["case"]["case_id"]
    iam = app.aws.client("iam")
    role_id = iam.get_role(RoleName=f"{app.name}-fleet")["Role"]["RoleId"]
    step = case_item(app, case_id)["instances"][victim]["steps"]["revoke_credentials"]
    deny = iam.get_role_policy(RoleName=f"{app.name}-fleet", PolicyName=step["policy"])["PolicyDocument"]
    # Then the role denies every request of the instance's session, <RoleId>:<instance id>, besides its source ARN
    conditions = [s["Condition"]["StringEquals"] for s in deny["Statement"] if s["Effect"] == "Deny"]
    assert {"aws:userId": [f"{role_id}:{victim}"]} in conditions
    assert any("ec2:SourceInstanceARN" in c for c in conditions)
    # And the case records when the IAM change was made, and that it takes effect within minutes, not at once
    assert step["iam_changed_at"] and "within minutes" in step["takes_effect"]
    code, out, err = bluegreen("--output", "json", "case", app.name, case_id)
    assert code == 0, err
    shown = json.loads(out)
    assert any("within minutes" in r["detail"] for r in shown["timeline"] if r["what"].endswith("revoke_credentials"))


# --- 5. denies are collected: a role filled over many cases still takes a quarantine's deny -------------------------


def stale_deny(iam, role: str, number: int, instances: int) -> None:
    """What a case of long ago leaves on the role: a deny of instances that no longer exist."""
    ids = [f"i-0{number:04x}{n:012x}" for n in range(instances)]
    arns = [f"arn:aws:ec2:us-east-1:123456789012:instance/{i}" for i in ids]
    document = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "BluegreenQuarantine",
                "Effect": "Deny",
                "Action": "*",
                "Resource": "*",
                "Condition": {"StringEquals": {"ec2:SourceInstanceARN": arns}},
            }
        ],
    }
    iam.put_role_policy(
        RoleName=role,
        PolicyName=f"bluegreen-quarantine-20250101T{number:06d}-beef-0123abcd",
        PolicyDocument=json.dumps(document, separators=(",", ":")),
    )


def test_a_role_filled_by_many_cases_still_takes_the_next_quarantines_deny(app, bluegreen) -> None:
    iam, role = app.aws.client("iam"), f"{app.name}-fleet"
    # Given an instance quarantined earlier and still under investigation (its deny must stay)
    kept_victim = fleet(app)[0]
    first = app.wait(ops.start_quarantine(app.aws, [kept_victim], "C&C"), timeout=120)
    assert first.status == "SUCCEEDED", first.cause
    kept_policy = case_item(app, first.output["case"]["case_id"])["instances"][kept_victim]["steps"][
        "revoke_credentials"
    ]["policy"]
    # And the denies of many cases of long ago, of instances long gone, filling the role to its last characters
    number = 0
    while True:
        left = ops.deny_policies.budget(role, iam)["left"]
        if left < 250:
            break
        number += 1
        stale_deny(iam, role, number, instances=min(12, max(1, (left - 250) // 64)))
    assert ops.deny_policies.budget(role, iam)["left"] < 250
    # When another instance of the (new) live fleet is quarantined
    victim = live_instances(app)[0]
    execution = app.wait(ops.start_quarantine(app.aws, [victim], "C&C again"), timeout=180)
    # Then it is contained, credentials included
    assert execution.status == "SUCCEEDED", execution.cause
    case_id = execution.output["case"]["case_id"]
    steps = case_item(app, case_id)["instances"][victim]["steps"]
    assert steps["revoke_credentials"]["ok"], steps["revoke_credentials"]
    # And the long-gone instances' denies are gone, the still-quarantined one's kept, the new one there
    names = iam.list_role_policies(RoleName=role)["PolicyNames"]
    assert not [n for n in names if n.startswith("bluegreen-quarantine-20250101T")]
    assert kept_policy in names and steps["revoke_credentials"]["policy"] in names
    # And `bluegreen case` shows the role's budget, room again
    code, out, err = bluegreen("--output", "json", "case", app.name, case_id)
    assert code == 0, err
    (budget,) = json.loads(out)["role_budget"]
    assert budget["role"] == role and budget["quarantine_denies"] == 2 and budget["left"] > 5_000
    code, out, err = bluegreen("case", app.name, case_id)
    assert code == 0 and "inline-policy characters left" in out


# --- 3. a security alarm is marked by a tag; a whole-group case from an alarm is rate-limited -------------------------


def alarm(app, name: str, state: str = "ALARM", reason: str = "egress") -> str:
    app.aws.client("cloudwatch").set_alarm_state(AlarmName=name, StateValue=state, StateReason=reason)
    return name


def test_an_alarm_named_as_a_security_alarm_but_not_tagged_so_is_ignored(app) -> None:
    # Given an alarm a developer made on the production group, named with the security prefix, without the tag
    name = security_alarm(
        app.aws, f"bluegreen-security-{app.name}-devtest", group_name=app.seeded.blue_asg, marked=False
    )
    # When they set it to ALARM "for testing purposes"
    execution = app.wait(quarantine_for(app, alarm(app, name)))
    # Then nothing is quarantined, and the case says why
    assert execution.status == "SUCCEEDED", execution.cause
    case = execution.output["case"]
    assert case["outcome"] == "Ignored" and "is not tagged bluegreen:security-alarm=true" in case["reason"]
    assert app.groups() == [app.seeded.blue_asg]
    assert all(not instance_tags(app, i).get("bluegreen:quarantine") for i in fleet(app))


def instance_tags(app, instance_id: str) -> dict[str, str]:
    described = app.aws.client("ec2").describe_instances(InstanceIds=[instance_id])
    return {t["Key"]: t["Value"] for t in described["Reservations"][0]["Instances"][0].get("Tags", [])}


def test_whole_group_alarm_cases_are_rate_limited_per_app_and_single_instances_never(app) -> None:
    app.subscribe()
    # Given a tagged security alarm on the live group, that went off once and quarantined the fleet
    first_group = app.seeded.blue_asg
    name = security_alarm(app.aws, f"bluegreen-security-{app.name}-fleet", group_name=first_group)
    first = app.wait(quarantine_for(app, alarm(app, name)))
    assert first.status == "SUCCEEDED", first.cause
    assert first.output["case"]["outcome"] == "Proceed"
    # When a group alarm goes off again within the window (quarantine.group_alarm_cases: 1 per day by default)
    live = app.status()["live"]["asg_name"]
    again = security_alarm(app.aws, f"bluegreen-security-{app.name}-fleet-again", group_name=live)
    second = app.wait(quarantine_for(app, alarm(app, again)))
    # Then it is refused, nothing isolated, the refusal recorded and notified
    assert second.status == "SUCCEEDED", second.cause
    case = second.output["case"]
    assert case["outcome"] == "Ignored" and "whole-group alarm case(s)" in case["reason"]
    assert "quarantine.group_alarm_cases" in case["reason"]
    group = app.aws.client("autoscaling").describe_auto_scaling_groups(AutoScalingGroupNames=[live])
    survivors = [i["InstanceId"] for i in group["AutoScalingGroups"][0]["Instances"]]
    assert survivors and all(not instance_tags(app, i).get("bluegreen:quarantine") for i in survivors)
    refusals = ops.state_table.history(app.name, "REFUSAL#", 5, ops.table(app.aws))
    assert [r["alarm_name"] for r in refusals] == [again]
    app.wait_until(
        lambda: any("whole-group security alarm refused" in n["subject"] for n in app.notifications()),
        what="the refusal's notification",
    )
    # And a single instance's alarm right after is not delayed: it quarantines at once
    single = security_alarm(app.aws, f"bluegreen-security-{app.name}-egress-{survivors[0]}", instance_id=survivors[0])
    third = app.wait(quarantine_for(app, alarm(app, single)))
    assert third.status == "SUCCEEDED", third.cause
    assert third.output["case"]["outcome"] == "Proceed"
    assert instance_tags(app, survivors[0]).get("bluegreen:quarantine")


# --- bad input for the new fields: refused in one line, nothing changed ----------------------------------------------

BAD_FIELDS = [
    ({"quarantine": {"network_acl": "yes"}}, "quarantine.network_acl"),
    ({"quarantine": {"network_acl_rule_quota": 10}}, "quarantine.network_acl_rule_quota"),
    ({"quarantine": {"network_acl_rule_quota": 41}}, "quarantine.network_acl_rule_quota"),
    ({"quarantine": {"network_acl_rule_quota": "20"}}, "quarantine.network_acl_rule_quota"),
    ({"quarantine": {"group_alarm_cases": -1}}, "quarantine.group_alarm_cases"),
    ({"quarantine": {"group_alarm_cases": 1.5}}, "quarantine.group_alarm_cases"),
    ({"quarantine": {"group_alarm_window_seconds": 10}}, "quarantine.group_alarm_window_seconds"),
    ({"ami_source": {"legacy_app_tag": "no"}}, "ami_source.legacy_app_tag"),
]


def test_bad_values_of_the_new_fields_are_refused_in_one_line_and_change_nothing(app, bluegreen, tmp_path) -> None:
    before = ops.load_config(app.aws, app.name).model_dump(mode="json")
    for change, field in BAD_FIELDS:
        document = json.loads(json.dumps(before))
        for section, values in change.items():
            document[section] = {**(document.get(section) or {}), **values}
        path = tmp_path / "config.json"
        path.write_text(json.dumps(document))
        code, _out, err = bluegreen("app", "put", app.name, str(path))
        assert code == 2, (change, err)
        assert field in one_line(err), (change, err)
    assert ops.load_config(app.aws, app.name).model_dump(mode="json") == before


# --- 7. an Elastic IP taken away: the case says what that did, not more ---------------------------------------------


def live_instances(app) -> list[str]:
    live = app.status()["live"]["asg_name"]
    group = app.aws.client("autoscaling").describe_auto_scaling_groups(AutoScalingGroupNames=[live])
    return sorted(i["InstanceId"] for i in group["AutoScalingGroups"][0]["Instances"])


def elastic_ip_step(app, instance_id: str) -> dict:
    """Quarantine an instance that holds an Elastic IP: its case's disassociate_addresses step."""
    ec2 = app.aws.client("ec2")
    allocation = ec2.allocate_address(Domain="vpc")["AllocationId"]
    ec2.associate_address(AllocationId=allocation, InstanceId=instance_id)
    execution = app.wait(ops.start_quarantine(app.aws, [instance_id], "C&C"), timeout=120)
    assert execution.status == "SUCCEEDED", execution.cause
    case = case_item(app, execution.output["case"]["case_id"])
    return case["instances"][instance_id]["steps"]["disassociate_addresses"]


def test_taking_an_elastic_ip_in_a_subnet_that_assigns_public_addresses_is_not_called_offline(app) -> None:
    ec2 = app.aws.client("ec2")
    # Given an instance with an Elastic IP, in a subnet that assigns no public address: the case says what was done
    plain = elastic_ip_step(app, fleet(app)[0])
    assert plain["result"] == "1 Elastic IP(s) disassociated" and plain["public_ipv4_remains"] is False
    # When the subnets assign public IPv4 addresses, and another instance with an Elastic IP is quarantined
    for subnet in app.seeded.subnets:
        ec2.modify_subnet_attribute(SubnetId=subnet, MapPublicIpOnLaunch={"Value": True})
    step = elastic_ip_step(app, live_instances(app)[0])
    # Then the case says the Elastic IP went, and that this does not take the instance off the internet
    assert step["result"].startswith("1 Elastic IP(s) disassociated")
    assert "does not take the instance off the internet" in step["result"] and step["public_ipv4_remains"] is True
