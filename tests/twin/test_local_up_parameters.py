"""`bluegreen local up --parameter Key=Value` (repeatable) sets the template's parameters on the twin: a bad key or
value is refused in one line naming it, before anything starts; a good one reaches the deployed stack."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bluegreen.cli import commands, ops, template_parameters
from bluegreen.twin import local

BLUEGREEN = [sys.executable, "-c", "from bluegreen.cli.commands import main; main()"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.parametrize(
    ("pair", "says"),
    [
        ("BuildAcountIds=111122223333", "--parameter BuildAcountIds: template.yaml declares no such parameter"),
        ("BuildAccountIds=1111", "--parameter BuildAccountIds=1111: must match"),
        ("BuildAccountIds=111122223333,abc", "must be 12-digit AWS account ids"),
        ("BuildOrganizationId=org-1", "--parameter BuildOrganizationId=org-1: must match"),
        ("QuarantineMinSeverity=11", "--parameter QuarantineMinSeverity=11: must be at most 10"),
        ("QuarantineMinSeverity=high", "must be a number"),
        ("LogLevel=LOUD", "--parameter LogLevel=LOUD: must be one of DEBUG, INFO, WARNING, ERROR"),
        ("FleetRolePath=/", "--parameter FleetRolePath=/: must match"),
        ("WaitScale=1", "--parameter WaitScale: set it with --wait-scale"),
        ("BuildAccountIds", "--parameter: 'BuildAccountIds' is not Key=Value"),
    ],
)
def test_a_bad_parameter_is_refused_in_one_line_and_nothing_starts(
    pair: str, says: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # In this process (a refusal starts nothing, so nothing outlives the test; a new interpreter per case cost seconds)
    port = free_port()
    monkeypatch.setattr(sys, "argv", ["bluegreen", "local", "up", "--port", str(port), "--parameter", pair])
    with pytest.raises(SystemExit) as done:
        commands.main()
    out, err = capsys.readouterr()
    assert done.value.code == 2, (out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and says in lines[0], err
    assert not listening(port)


def test_a_parameter_given_twice_is_refused() -> None:
    with pytest.raises(ops.CliError, match="--parameter LogLevel: given twice"):
        template_parameters.parse(["LogLevel=INFO", "LogLevel=DEBUG"], local.TEMPLATE)


def test_good_parameters_reach_the_stack(tmp_path: Path) -> None:
    port = free_port()
    log = (tmp_path / "up.log").open("w+")
    args = [
        "--parameter",
        "BuildAccountIds=111122223333,444455556666",
        "--parameter",
        "BuildOrganizationId=o-abcdef1234",
    ]
    up = subprocess.Popen(
        [*BLUEGREEN, "local", "up", "--port", str(port), *args],
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
    )
    try:
        deadline = time.monotonic() + 240
        while "BuildEventBusArn" not in (text := Path(log.name).read_text()):
            assert up.poll() is None, text
            assert time.monotonic() < deadline, text
            time.sleep(0.5)
        assert "parameter BuildAccountIds" in text and "111122223333,444455556666" in text
        assert "event-bus/bluegreen-builds" in text
    finally:
        up.send_signal(signal.SIGINT)
        try:
            up.wait(timeout=30)
        except subprocess.TimeoutExpired:
            up.kill()
            up.wait()
