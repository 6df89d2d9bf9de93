"""Stand-ins for the slots' test endpoints: small HTTP servers on loopback that answer as the slot's fleet would.

A slot's server looks up the newest group in its slot and answers 500 when that group runs an AMI tagged as a broken
build (`bluegreen-demo:broken=true`), else 200 "ok". So a bad AMI fails its smoke test whichever slot it lands in.
"""

from __future__ import annotations

import functools
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
                time.sleep(outer.delay_seconds)
                broken = fleet_is_broken(outer.aws, outer.app, outer.slot)
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
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        # A short poll, so that stop() (which waits for the serving loop to notice) is quick.
        serve = functools.partial(self.httpd.serve_forever, poll_interval=0.05)
        self._thread = threading.Thread(target=serve, name=f"standin-{slot}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def start_slot_servers(aws: Aws, app: str) -> dict[str, SlotServer]:
    return {slot: SlotServer(aws, app, slot) for slot in ("blue", "green")}
