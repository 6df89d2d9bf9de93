"""Trigger 2 on the twin, end to end: a central build account bakes an AMI, its rule forwards the AMI's "EC2 AMI State
Change" to this account's build bus, and it shares the AMI a few seconds later (as Packer's `ami_users` does, after
`available`); the release waits for the share, then goes ahead. Each step prints the command the build account runs.

Against `bluegreen local up --parameter BuildAccountIds=111122223333` (README, "Triggers"):

    python -m bluegreen.demo.build_account --endpoint-url http://127.0.0.1:5000 [--app shop] [--share-after 3]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from typing import Any

import boto3
from rich.console import Console

from bluegreen.aws import Aws
from bluegreen.cli import ops
from bluegreen.demo.scenes import execution_for_ami
from bluegreen.demo.seed import seed_app
from bluegreen.demo.standin import start_slot_servers

BUILD_ACCOUNT = "111122223333"
STOCK = "ami-12c6146b"
FORWARD_PATTERN = {"source": ["aws.ec2"], "detail-type": ["EC2 AMI State Change"], "detail": {"State": ["available"]}}


def build_account_clients(aws: Aws) -> Callable[[str], Any]:
    """Clients acting as the build account: a role assumed there (the twin maps its keys to that account)."""
    sts = aws.client("sts")
    role = f"arn:aws:iam::{BUILD_ACCOUNT}:role/ami-builder"
    keys = sts.assume_role(RoleArn=role, RoleSessionName="packer")["Credentials"]
    return lambda service: boto3.client(
        service,
        region_name=aws.region or "us-east-1",
        endpoint_url=aws.endpoint_url,
        aws_access_key_id=keys["AccessKeyId"],
        aws_secret_access_key=keys["SecretAccessKey"],
        aws_session_token=keys["SessionToken"],
    )


def run(aws: Aws, app: str, share_after: float, console: Console) -> ops.Execution:
    bus = aws.outputs.get("BuildEventBusArn")
    if not bus:
        raise ops.CliError(
            "the stack has no build bus: start the twin with `bluegreen local up --parameter"
            f" BuildAccountIds={BUILD_ACCOUNT}`"
        )
    servers = start_slot_servers(aws, app)
    try:
        source = {"owners": [BUILD_ACCOUNT], "name_pattern": f"{app}-*"}
        seed_app(aws, app, instances=2, test_urls={s: servers[s].url for s in servers}, config={"ami_source": source})
        console.print(f"[bold]workload account[/bold]: app {app} takes AMIs of {BUILD_ACCOUNT} named {app}-*")
        build = build_account_clients(aws)
        pattern = json.dumps(FORWARD_PATTERN)
        build("events").put_rule(Name="bluegreen-forward-amis", EventPattern=pattern)
        build("events").put_targets(Rule="bluegreen-forward-amis", Targets=[{"Id": "workload", "Arn": bus}])
        console.print(
            f"[bold]build account[/bold]: aws events put-rule --name bluegreen-forward-amis --event-pattern '{pattern}'"
            f"\n               aws events put-targets --rule bluegreen-forward-amis --targets Id=workload,Arn={bus}"
        )
        ec2 = build("ec2")
        builder = ec2.run_instances(ImageId=STOCK, MinCount=1, MaxCount=1, InstanceType="t3.micro")["Instances"][0]
        name = f"{app}-{time.strftime('%Y.%m.%d-%H%M%S')}"
        image = ec2.create_image(InstanceId=builder["InstanceId"], Name=name)["ImageId"]
        ec2.terminate_instances(InstanceIds=[builder["InstanceId"]])
        console.print(
            f"[bold]build account[/bold]: aws ec2 create-image ... --name {name}  -> {image} (not shared yet)"
        )
        arn = execution_for_ami(aws, image)
        console.print(
            f"[bold]workload account[/bold]: its forwarded event started {arn.split(':')[-1]}: waiting for the share"
        )
        time.sleep(share_after)
        account = arn.split(":")[4]
        ec2.modify_image_attribute(ImageId=image, LaunchPermission={"Add": [{"UserId": account}]})
        console.print(
            f"[bold]build account[/bold]: aws ec2 modify-image-attribute --image-id {image}"
            f" --launch-permission 'Add=[{{UserId={account}}}]'  ({share_after:g} s after its event)"
        )
        execution = ops.wait_for(aws, arn, timeout=180, poll=0.2)
        release = (execution.output or {}).get("release", {})
        console.print(
            f"[bold]workload account[/bold]: {execution.status}: {release.get('outcome', '')} {image},"
            f" matched by {release.get('matched_by') or '-'}; live: {ops.status(aws, app).get('live', {}).get('ami_id')}"
        )
        return execution
    finally:
        for server in servers.values():
            server.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--endpoint-url", default="http://127.0.0.1:5000")
    parser.add_argument("--app", default="shop")
    parser.add_argument("--share-after", type=float, default=3.0, help="seconds between the event and the share")
    args = parser.parse_args(argv)
    aws = Aws(region="us-east-1", endpoint_url=args.endpoint_url)
    execution = run(aws, args.app, args.share_after, Console(soft_wrap=True))
    return 0 if execution.status == "SUCCEEDED" else 1


if __name__ == "__main__":
    sys.exit(main())
