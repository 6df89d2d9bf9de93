"""docs/operator-permissions.md is the grant an operator asks for: every AWS call each CLI command makes must be in its
row, for both traffic routers. The calls are recorded on the CLI's own boto3 clients while it runs in this process."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from bluegreen import aws as aws_module
from bluegreen.twin import iam_authorization
from bluegreen.twin.api_calls import iam_action
from tests.e2e.conftest import App, run_cli

DOC = Path(__file__).resolve().parents[2] / "docs" / "operator-permissions.md"
EVERY_COMMAND = {"cloudformation:DescribeStacks"}  # the stack's outputs, as the page says above its table


def documented() -> dict[str, set[str]]:
    """Command -> the actions its row names (a row may name several commands: `approve`, `reject`)."""
    rows: dict[str, set[str]] = {}
    for line in DOC.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 3 or not cells[0].startswith("`"):
            continue
        actions = set(re.findall(r"`([a-z0-9-]+:[A-Za-z0-9]+)`", cells[1])) | EVERY_COMMAND
        for command in re.findall(r"`([a-z][a-z -]*)`", cells[0]):
            rows[command] = actions
    return rows


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The IAM actions of every call the CLI's clients make in this thread (fresh clients, so each one is hooked; the
    invariant monitor's thread shares them and is left out)."""
    calls: list[str] = []
    cached = aws_module._client
    made = cached.__wrapped__
    cli_thread = threading.get_ident()

    def record(action: str) -> None:
        if threading.get_ident() == cli_thread:
            calls.append(action)

    def hooked(aws: aws_module.Aws, service: str):
        api = made(aws, service)
        name = api.meta.service_model.service_name
        api.meta.events.register("before-call", lambda model, **_: record(iam_action(name, model.name)))
        return api

    cached.cache_clear()
    monkeypatch.setattr(aws_module, "_client", hooked)
    yield calls
    monkeypatch.undo()
    cached.cache_clear()


def operator_role(actions: set[str]) -> dict[str, dict]:
    """The grant a row asks for, as an operator's role would hold it (the row's resources are prose: "*" here)."""
    return {
        "row": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": sorted(actions), "Resource": "*"}]}
    }


def run(
    app: App,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    *args: str,
    stdin: str = "",
    grant: set[str] | None = None,
):
    """Run the command; with `grant`, as an operator whose role holds only those actions, evaluated as IAM would."""
    if grant is None:
        code, out, err = run_cli(app.endpoint, capsys, monkeypatch, "--region", "us-east-1", *args, stdin=stdin)
    else:
        with iam_authorization.acting_as("operator", operator_role(grant)):
            code, out, err = run_cli(app.endpoint, capsys, monkeypatch, "--region", "us-east-1", *args, stdin=stdin)
    assert code == 0, (args, out, err, iam_authorization.denials()[-3:])
    return out


@pytest.mark.parametrize("app", [{}, {"seed": {"router": "alb", "rules": 1}}], ids=["route53", "alb"], indirect=True)
def test_each_command_calls_only_what_its_row_grants(app: App, recorded, capsys, monkeypatch) -> None:
    # Given an app (routed by Route 53, or by one ALB), and the page's rows
    rows = documented()
    ami = app.publish_ami()
    document = run(app, capsys, monkeypatch, "app", "get", app.name)
    commands_run = [
        ("app put", ("app", "put", app.name, "-"), document),
        ("app get", ("app", "get", app.name), ""),
        ("app list", ("app", "list"), ""),
        ("deploy", ("deploy", app.name, "--ami", ami, "--dry-run", "--wait"), ""),
        ("status", ("status", app.name), ""),
        ("history", ("history", app.name), ""),
    ]
    missing: list[str] = []
    for command, args, stdin in commands_run:
        # When each command runs
        recorded.clear()
        run(app, capsys, monkeypatch, *args, stdin=stdin, grant=rows[command])
        # Then each of its calls is in its row
        assert recorded, f"{command}: no call was recorded (the hook is broken)"
        missing += [f"{command}: {action}" for action in sorted(set(recorded) - rows[command])]
    assert not missing, "docs/operator-permissions.md does not grant:\n" + "\n".join(missing)
