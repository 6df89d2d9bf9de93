"""`bluegreen local up`: the twin started and this repo's template.yaml deployed into it."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from bluegreen.aws import DEFAULT_STACK, Aws
from bluegreen.twin import server
from bluegreen.twin.deploy import deploy_stack

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "template.yaml"
REGION = "us-east-1"


@dataclass
class LocalStack:
    twin: server.TwinServer
    aws: Aws
    outputs: dict[str, str]

    def stop(self) -> None:
        self.twin.stop()


def start(
    port: int = 5000, wait_scale: float = 0.02, retry_scale: float = 0.05, parameters: dict[str, str] | None = None
) -> LocalStack:
    """Start the twin on 127.0.0.1:port (0 = any free port) and deploy template.yaml with scaled waits.

    `parameters` are the template's other parameters (e.g. BuildAccountIds). The port answers only once the stack is
    deployed: a client that calls earlier waits, and so never sees (nor,
    through moto's lazy CloudFormation, creates) half a stack.
    """
    twin = server.start(port=port, retry_scale=retry_scale, serve=False)
    try:
        with twin.setup_endpoint() as setup_url:
            outputs = deploy_stack(
                setup_url,
                TEMPLATE,
                DEFAULT_STACK,
                parameters={"WaitScale": str(wait_scale), **(parameters or {})},
                region=REGION,
            )
        twin.serve()
    except Exception:
        twin.stop()
        raise
    return LocalStack(twin=twin, aws=Aws(region=REGION, endpoint_url=twin.endpoint_url), outputs=outputs)


def up(port: int, wait_scale: float, console: Console, parameters: dict[str, str] | None = None) -> None:
    stack = start(port=port, wait_scale=wait_scale, parameters=parameters)
    lines = [f"[bold green]twin up[/bold green] at {stack.twin.endpoint_url} (stack {DEFAULT_STACK!r})"]
    lines += [f"  parameter {key:<14} {value}" for key, value in sorted((parameters or {}).items())]
    lines += [f"  {key:<24} {value}" for key, value in sorted(stack.outputs.items())]
    lines += [
        "\nTry:",
        f"  export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_DEFAULT_REGION={REGION}",
        f"  aws --endpoint-url {stack.twin.endpoint_url} events put-events --entries file://events/ami-available.entries.json",
        f"  bluegreen --endpoint-url {stack.twin.endpoint_url} status",
        "Ctrl-C stops the twin.",
    ]
    # One print, so a reader that sees "twin up" in the log also sees the outputs (a piped stdout is written per print)
    console.print("\n".join(lines))
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        stack.stop()
