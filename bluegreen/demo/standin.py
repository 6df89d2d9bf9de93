"""Stand-ins for the slots' test endpoints: small HTTP servers on loopback that answer as the slot's fleet would.

A slot's server looks up the newest group in its slot and answers 500 when that group runs an AMI tagged as a broken
build (`bluegreen-demo:broken=true`), else 200 "ok". So a bad AMI fails its smoke test whichever slot it lands in.

The load balancer stand-in plays an ALB-routed app's test route: it reads the test listener or header rule from the
twin as the load balancer would (a request without the rule's header falls through to the listener's default
action), and answers as the fleet behind the target group that gets the request, recording which slot answered. So a smoke
test only catches a bad green if the release really pointed the test route at green.
"""

from __future__ import annotations

import functools
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from bluegreen.aws import Aws
from bluegreen.demo.seed import TAG_BROKEN


def fleet_is_broken(aws: Aws, app: str, slot: str) -> bool:
    groups = aws.client("autoscaling").describe_auto_scaling_groups(
        Filters=[
            {"Name": "tag:bluegreen:app", "Values": [app]},
            {"Name": "tag:bluegreen:slot", "Values": [slot]},
        ]
    )["AutoScalingGroups"]
    return group_is_broken(aws, groups)


def group_is_broken(aws: Aws, groups: list[dict]) -> bool:
    """Whether the newest of these groups runs a broken build."""
    if not groups:
        return False
    newest = max(groups, key=lambda g: g["CreatedTime"])
    ami = next((t["Value"] for t in newest.get("Tags", []) if t["Key"] == "bluegreen:ami"), None)
    if not ami:
        return False
    images = aws.client("ec2").describe_images(ImageIds=[ami])["Images"]
    return any(t["Key"] == TAG_BROKEN and t["Value"] == "true" for i in images for t in i.get("Tags", []))


class SlotServer:
    """One slot's test endpoint on 127.0.0.1 (a free port)."""

    def __init__(self, aws: Aws, app: str, slot: str) -> None:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.requests += 1
                time.sleep(outer.delay_seconds)
                broken = outer.broken or fleet_is_broken(outer.aws, outer.app, outer.slot)
                status, body = (500, b"broken build") if broken else (200, b"ok")
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_HEAD = do_GET

            def log_message(self, *args: object) -> None:  # quiet: the demo draws its own view
                return

        self.aws, self.app, self.slot = aws, app, slot
        self.delay_seconds = 0.0  # a slow fleet: each answer waits this long
        self.requests = 0  # requests received (counted as they arrive)
        self.broken = False  # a fleet that answers 500 whatever it runs (a slot-specific fault)
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        # A short poll, so that stop() (which waits for the serving loop to notice) is quick.
        serve = functools.partial(self.httpd.serve_forever, poll_interval=0.05)
        self._thread = threading.Thread(target=serve, name=f"standin-{slot}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _forwarded_to(actions: list[dict]) -> str | None:
    """The target group a forward action sends a request to (the heaviest: the stand-in does not draw lots)."""
    for action in actions:
        if action.get("Type") == "forward":
            groups = (action.get("ForwardConfig") or {}).get("TargetGroups") or [
                {"TargetGroupArn": action.get("TargetGroupArn"), "Weight": 1}
            ]
            return max(groups, key=lambda g: g.get("Weight", 1))["TargetGroupArn"]
    return None


def _slot_of(groups: list[dict]) -> str:
    """The `bluegreen:slot` of the newest of these groups (the fleet that answers), or ""."""
    if not groups:
        return ""
    newest = max(groups, key=lambda g: g["CreatedTime"])
    return next((t["Value"] for t in newest.get("Tags", []) if t["Key"] == "bluegreen:slot"), "")


class LoadBalancerServer:
    """An ALB-routed app's test route on 127.0.0.1: routes each request as the twin's listener or rule says."""

    def __init__(self, aws: Aws, app: str) -> None:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                target = outer.route({k.lower(): v for k, v in self.headers.items()})
                if target is None:
                    status, body = 503, b"no target group"
                else:
                    groups = outer.aws.client("autoscaling").describe_auto_scaling_groups(
                        Filters=[{"Name": "tag:bluegreen:app", "Values": [outer.app]}]
                    )["AutoScalingGroups"]
                    behind = [g for g in groups if target in g.get("TargetGroupARNs", [])]
                    outer.answered.append(_slot_of(behind))
                    if not behind:
                        status, body = 503, b"no fleet behind the target group"
                    elif group_is_broken(outer.aws, behind):
                        status, body = 500, b"broken build"
                    else:
                        status, body = 200, b"ok"
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_HEAD = do_GET

            def log_message(self, *args: object) -> None:
                return

        self.aws, self.app = aws, app
        self.answered: list[str] = []  # the slot whose fleet answered each request, in order ("" when none did)
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        serve = functools.partial(self.httpd.serve_forever, poll_interval=0.05)
        self._thread = threading.Thread(target=serve, name="standin-alb", daemon=True)
        self._thread.start()

    def route(self, headers: dict[str, str]) -> str | None:
        raw = self.aws.client("ssm").get_parameter(Name=f"/bluegreen/apps/{self.app}")["Parameter"]["Value"]
        test = (json.loads(raw).get("alb") or {}).get("test_route") or {}
        elbv2 = self.aws.client("elbv2")
        if test.get("listener_arn"):
            return _forwarded_to(
                elbv2.describe_listeners(ListenerArns=[test["listener_arn"]])["Listeners"][0]["DefaultActions"]
            )
        if not test.get("rule_arn"):
            return None
        rule = elbv2.describe_rules(RuleArns=[test["rule_arn"]])["Rules"][0]
        matches = all(
            headers.get(c["HttpHeaderConfig"]["HttpHeaderName"].lower(), "").lower()
            in [v.lower() for v in c["HttpHeaderConfig"]["Values"]]
            for c in rule["Conditions"]
            if c.get("Field") == "http-header"
        )
        if matches:
            return _forwarded_to(rule["Actions"])
        listener = test["rule_arn"].replace(":listener-rule/", ":listener/").rsplit("/", 1)[0]
        return _forwarded_to(elbv2.describe_listeners(ListenerArns=[listener])["Listeners"][0]["DefaultActions"])

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def start_slot_servers(aws: Aws, app: str) -> dict[str, SlotServer]:
    return {slot: SlotServer(aws, app, slot) for slot in ("blue", "green")}
