"""The local twin: moto in server mode, with the AWS behaviours of `behaviours`, plus the `/_twin/` control endpoints.

Run it with `python -m bluegreen.twin.server --port 5000`, or call `start()` in-process.
"""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import json
import os
import signal
import threading
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from moto.moto_api._internal.models import moto_api_backend
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.wrappers import Request, Response

from bluegreen.twin import api_calls as recorder
from bluegreen.twin import api_faults as api_fault_control
from bluegreen.twin import (
    autoscaling_detach_validation,
    behaviours,
    cloudwatch_target_group_metrics,
    ec2_image_states,
    elbv2_target_health,
    iam_authorization,
    route53_changes,
    stepfunctions_retry_intervals,
    stepfunctions_status_events,
)
from bluegreen.twin.faults import faults as fault_registry


class _QuietRequestHandler(MotoRequestHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass  # one line per AWS call drowns everything else; errors are still logged


class _TwinApp:
    """Routes `/_twin/...` to the twin's own endpoints and everything else to moto."""

    def __init__(self) -> None:
        self._moto = DomainDispatcherApplication(create_backend_app)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if environ.get("PATH_INFO", "").startswith("/_twin/"):
            return _control(Request(environ))(environ, start_response)
        if api_fault_control.api_faults:  # only read the body when a test asked for an API fault
            refusal = api_fault_control.intercept(environ)
            if refusal is not None:
                return refusal(environ, start_response)
        return self._moto(environ, start_response)


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json")


def _control(request: Request) -> Response:
    route = (request.method, request.path)
    try:
        if route == ("GET", "/_twin/health"):
            return _json({"ok": True})
        if route == ("POST", "/_twin/faults"):
            body = request.get_json(force=True)
            fault_registry.add(
                body["function"], body["kind"], int(body.get("times", 1)), body.get("event_contains", "")
            )
        elif route == ("DELETE", "/_twin/faults"):
            fault_registry.clear()
        elif route == ("POST", "/_twin/api-faults"):
            body = request.get_json(force=True)
            api_fault_control.api_faults.add(
                body["operation"],
                body["code"],
                body.get("message", ""),
                body.get("resource", ""),
                int(body.get("times", 1)),
            )
            return _json({"api_faults": api_fault_control.api_faults.list()})
        elif route == ("GET", "/_twin/api-faults"):
            return _json({"api_faults": api_fault_control.api_faults.list()})
        elif route == ("DELETE", "/_twin/api-faults"):
            api_fault_control.api_faults.clear()
            return _json({"api_faults": []})
        elif route == ("POST", "/_twin/target-health"):
            body = request.get_json(force=True)
            elbv2_target_health.set_target_health(
                list(body.get("instance_ids", [])), body["state"], body.get("target_group_arn")
            )
            return _json({"overrides": elbv2_target_health.target_health_overrides()})
        elif route == ("DELETE", "/_twin/target-health"):
            elbv2_target_health.clear_target_health()
            return _json({"overrides": {}})
        elif route == ("GET", "/_twin/target-health"):
            return _json({"overrides": elbv2_target_health.target_health_overrides()})
        elif route == ("POST", "/_twin/traffic"):
            body = dict(request.get_json(force=True))
            cloudwatch_target_group_metrics.set_traffic(body.pop("target_group"), **body)
            return _json({"traffic": cloudwatch_target_group_metrics.traffic()})
        elif route == ("DELETE", "/_twin/traffic"):
            cloudwatch_target_group_metrics.clear_traffic()
            return _json({"traffic": {}})
        elif route == ("POST", "/_twin/dns-propagation"):
            route53_changes.set_propagation(float(request.get_json(force=True)["seconds"]))
            return _json({"seconds": route53_changes.propagation()})
        elif route == ("POST", "/_twin/image-state"):
            body = request.get_json(force=True)
            if "new_images" in body:  # how new AMIs are built: available at once, or pending for a while
                if body["new_images"] not in ("available", "pending"):
                    raise ValueError(f"new_images must be 'available' or 'pending', got {body['new_images']!r}")
                after = body.get("available_after")
                ec2_image_states.set_new_image_state(
                    body["new_images"] == "pending", None if after is None else float(after)
                )
                return _json(ec2_image_states.new_image_state())
            ec2_image_states.set_image_state(
                body["image_id"], body["state"], body.get("region", "us-east-1"), body.get("error_message", "")
            )
            return _json({"image_id": body["image_id"], "state": body["state"]})
        elif route == ("GET", "/_twin/image-state"):
            return _json(ec2_image_states.new_image_state())
        elif route == ("POST", "/_twin/instance-lifecycle"):
            body = request.get_json(force=True)
            autoscaling_detach_validation.set_instance_lifecycle(
                body["instance_id"], body["state"], body.get("region", "us-east-1")
            )
            return _json({"instance_id": body["instance_id"], "state": body["state"]})
        elif route == ("POST", "/_twin/execution-events"):
            body = request.get_json(force=True)
            if not isinstance(body.get("delivery"), bool):
                raise ValueError("delivery must be true or false")
            stepfunctions_status_events.set_delivery(body["delivery"])
            return _json({"delivery": stepfunctions_status_events.delivering()})
        elif route == ("POST", "/_twin/execution-timeout"):
            body = request.get_json(force=True)
            stepfunctions_status_events.time_out(body["execution_arn"])
            return _json({"execution_arn": body["execution_arn"], "status": "TIMED_OUT"})
        elif route == ("GET", "/_twin/api-calls"):
            return _json({"calls": recorder.calls()})
        elif route == ("GET", "/_twin/api-call-log"):
            return _json({"log": recorder.call_log(request.args.get("function"))})
        elif route == ("DELETE", "/_twin/api-calls"):
            recorder.clear()
            return _json({"calls": {}})
        elif route == ("GET", "/_twin/iam-denials"):
            return _json({"denials": iam_authorization.denials()})
        elif route == ("DELETE", "/_twin/iam-denials"):
            iam_authorization.clear()
            return _json({"denials": []})
        elif route != ("GET", "/_twin/faults"):
            return _json({"error": f"no route {request.method} {request.path}"}, 404)
        return _json({"faults": fault_registry.list()})
    except (KeyError, TypeError, ValueError) as exc:
        return _json({"error": f"bad request: {exc!r}"}, 400)


class TwinServer:
    """A running twin; `endpoint_url` is what boto3 clients use, `stop()` shuts it down.

    A twin started with `serve=False` holds its port but answers nobody until `serve()`: clients that connect wait in
    the port's queue. `setup_endpoint()` meanwhile gives a private port into the same twin, to set it up (deploy a
    stack) before anyone else can see it half done.
    """

    def __init__(self, server: BaseWSGIServer, serve: bool = True) -> None:
        self._server = server
        self.host, self.port = server.server_address[:2]
        self.endpoint_url = f"http://{self.host}:{self.port}"
        self._saved_environ: dict[str, str | None] = {}
        self._thread = threading.Thread(target=server.serve_forever, name="twin", daemon=True)
        if serve:
            self.serve()

    def serve(self) -> None:
        """Start answering on the public port (the requests already waiting first)."""
        if not self._thread.is_alive():
            self._thread.start()

    @contextlib.contextmanager
    def setup_endpoint(self) -> Iterator[str]:
        """The endpoint of a private loopback port into this twin (moto's state is the process's), closed after."""
        private = make_server(self.host, 0, _TwinApp(), threaded=True, request_handler=_QuietRequestHandler)
        thread = threading.Thread(target=private.serve_forever, name="twin-setup", daemon=True)
        thread.start()
        try:
            yield f"http://{self.host}:{private.server_address[1]}"
        finally:
            private.shutdown()
            private.server_close()
            thread.join()

    def _set_environ(self, values: dict[str, str]) -> None:
        self._saved_environ = {key: os.environ.get(key) for key in values}
        os.environ.update(values)

    def stop(self) -> None:
        if self._thread.is_alive():  # shutdown() waits for serve_forever, which never ran on an unserved twin
            self._server.shutdown()
            self._thread.join()
        self._server.server_close()
        _end_account()
        # Later code in this process (e.g. other tests) must not keep talking to a stopped twin.
        for key, value in self._saved_environ.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def new_account() -> None:
    """A new twin is a new account: forget the AWS resources and the recorded calls of any earlier twin of this process.

    moto keeps its state per process. Without this, an earlier test module's stack stayed (a stack of another name is
    not deleted by the next deploy, and moto's DeleteStack leaves the DynamoDB tables behind), with its rules and its
    executions still running: an AMI event of this twin started the earlier stack's release, whose calls were then
    recorded against functions this stack does not have.
    """
    _end_account()
    moto_api_backend.reset()
    iam_authorization.clear()


def _end_account() -> None:
    """The twin's executions end with it: moto keeps an execution's thread running after its twin stops (and after a
    reset), calling Lambda on whatever answers the port next; each failure there ended FAILED and started a
    reconciliation, whose input held the failed execution's, which failed again: a worker grew to 17 GB."""
    recorder.new_account()  # first: what such an execution does from here on belongs to no twin
    stepfunctions_status_events.stop_running()


def start(
    port: int = 5000,
    host: str = "127.0.0.1",
    functions_dir: Path | str | None = None,
    retry_scale: float = 1.0,
    serve: bool = True,
) -> TwinServer:
    """Start the twin in a thread of this process; port 0 picks a free port.

    `functions_dir` holds the Lambda handlers (default: the repo's functions/); `retry_scale`
    multiplies the ASL Retry intervals (1 = as in AWS). With `serve=False` the port is held but not answered until
    `TwinServer.serve()`.
    """
    if not ipaddress.ip_address(host).is_loopback:
        raise ValueError(f"the twin only listens on loopback, not {host}")
    behaviours.install(functions_dir)
    stepfunctions_retry_intervals.set_retry_scale(retry_scale)
    new_account()
    server = make_server(host, port, _TwinApp(), threaded=True, request_handler=_QuietRequestHandler)
    twin = TwinServer(server, serve=serve)
    twin._set_environ(
        {
            # Moto's Step Functions interpreter calls Lambda at http://localhost:$MOTO_PORT.
            "MOTO_PORT": str(twin.port),
            # In-process handlers build ordinary boto3 clients; these point them at the twin.
            "AWS_ENDPOINT_URL": twin.endpoint_url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_METRICS_DISABLED": "true",  # no EMF lines on stdout
            "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
        }
    )
    return twin


def _call(endpoint_url: str, method: str, path: str, body: Any = None) -> dict[str, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"{endpoint_url}{path}", data=data, method=method)
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())


def inject_fault(endpoint_url: str, function: str, kind: str, times: int = 1, event_contains: str = "") -> None:
    """Make the next `times` invocations of `function` (logical id or name substring) fail with `kind`; with
    `event_contains`, only invocations whose event mentions it (e.g. one release's AMI id)."""
    body = {"function": function, "kind": kind, "times": times, "event_contains": event_contains}
    _call(endpoint_url, "POST", "/_twin/faults", body)


def inject_api_fault(
    endpoint_url: str, operation: str, code: str, resource: str = "", times: int = 1, message: str = ""
) -> None:
    """Refuse the next `times` calls of the AWS `operation` whose request contains `resource`, with error `code`."""
    body = {"operation": operation, "code": code, "resource": resource, "times": times, "message": message}
    _call(endpoint_url, "POST", "/_twin/api-faults", body)


def api_faults(endpoint_url: str) -> list[dict[str, Any]]:
    """The API faults still waiting to hit (operation, resource, code, times left)."""
    return _call(endpoint_url, "GET", "/_twin/api-faults")["api_faults"]


def clear_api_faults(endpoint_url: str) -> None:
    _call(endpoint_url, "DELETE", "/_twin/api-faults")


def faults(endpoint_url: str) -> list[dict[str, Any]]:
    """The faults still waiting to hit (function, kind, times left)."""
    return _call(endpoint_url, "GET", "/_twin/faults")["faults"]


def clear_faults(endpoint_url: str) -> None:
    _call(endpoint_url, "DELETE", "/_twin/faults")


def set_target_health(
    endpoint_url: str, instance_ids: list[str], state: str, target_group_arn: str | None = None
) -> None:
    """Report `state` for these instances, or for every target of `target_group_arn` (also those registered later)."""
    body = {"instance_ids": instance_ids, "state": state, "target_group_arn": target_group_arn}
    _call(endpoint_url, "POST", "/_twin/target-health", body)


def clear_target_health(endpoint_url: str) -> None:
    _call(endpoint_url, "DELETE", "/_twin/target-health")


def set_traffic(endpoint_url: str, target_group: str, **model: Any) -> None:
    """Model the requests a target group serves (per minute: requests, error rates, latency median and p99, unhealthy
    and anomalous hosts): its CloudWatch metrics follow (`cloudwatch_target_group_metrics`)."""
    _call(endpoint_url, "POST", "/_twin/traffic", {"target_group": target_group, **model})


def clear_traffic(endpoint_url: str) -> None:
    _call(endpoint_url, "DELETE", "/_twin/traffic")


def set_dns_propagation(endpoint_url: str, seconds: float) -> None:
    """Keep each Route 53 change PENDING for `seconds` before it reads INSYNC (0: at once, the default)."""
    _call(endpoint_url, "POST", "/_twin/dns-propagation", {"seconds": seconds})


def set_image_state(
    endpoint_url: str, image_id: str, state: str, region: str = "us-east-1", error_message: str = ""
) -> None:
    """Make EC2 report the AMI in `state` (e.g. `pending` while it is built, `failed` after a bad build).

    Entering `available`, `failed`, `deregistered` or `disabled` sends the "EC2 AMI State Change" event, as EC2 does.
    """
    body = {"image_id": image_id, "state": state, "region": region, "error_message": error_message}
    _call(endpoint_url, "POST", "/_twin/image-state", body)


def set_new_image_state(endpoint_url: str, state: str, available_after: float | None = None) -> None:
    """How new AMIs are built: `available` at once (the default, as moto), or `pending` until `available_after`
    seconds have passed (None: until `set_image_state` makes them available). Either way their event follows."""
    body = {"new_images": state, "available_after": available_after}
    _call(endpoint_url, "POST", "/_twin/image-state", body)


def set_instance_lifecycle(endpoint_url: str, instance_id: str, state: str, region: str = "us-east-1") -> None:
    """Make Auto Scaling report the instance in lifecycle `state` (e.g. `Pending`, `Pending:Wait`, `Standby`)."""
    body = {"instance_id": instance_id, "state": state, "region": region}
    _call(endpoint_url, "POST", "/_twin/instance-lifecycle", body)


def set_execution_events(endpoint_url: str, delivery: bool) -> None:
    """Deliver Step Functions' status-change events (True) or lose them (False): AWS delivers them best effort."""
    _call(endpoint_url, "POST", "/_twin/execution-events", {"delivery": delivery})


def time_out_execution(endpoint_url: str, execution_arn: str) -> None:
    """End a running execution as its state machine's TimeoutSeconds would (TIMED_OUT)."""
    _call(endpoint_url, "POST", "/_twin/execution-timeout", {"execution_arn": execution_arn})


def api_calls(endpoint_url: str) -> dict[str, list[str]]:
    """Lambda function name -> every IAM action (`service:Action`) its handler has called in this twin."""
    return _call(endpoint_url, "GET", "/_twin/api-calls")["calls"]


def api_call_log(endpoint_url: str, function: str | None = None) -> list[dict[str, Any]]:
    """The AWS calls of the handlers (of one function: logical id or name substring), in order, with their ids."""
    query = f"?function={urllib.parse.quote(function)}" if function else ""
    return _call(endpoint_url, "GET", f"/_twin/api-call-log{query}")["log"]


def iam_denials(endpoint_url: str) -> list[dict[str, Any]]:
    """The calls the twin refused as IAM would, oldest first: principal, action, resource, reason, statement."""
    return _call(endpoint_url, "GET", "/_twin/iam-denials")["denials"]


def clear_iam_denials(endpoint_url: str) -> None:
    _call(endpoint_url, "DELETE", "/_twin/iam-denials")


def clear_api_calls(endpoint_url: str) -> None:
    _call(endpoint_url, "DELETE", "/_twin/api-calls")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=5000)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--functions-dir", default=None, help="where handlers are imported from")
    parser.add_argument("--retry-scale", type=float, default=1.0, help="multiplier of ASL Retry intervals")
    args = parser.parse_args(argv)
    twin = start(args.port, args.host, args.functions_dir, args.retry_scale)
    print(f"bluegreen twin listening on {twin.endpoint_url}", flush=True)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C stops it as quietly as SIGTERM
        stopped.wait()
    twin.stop()


if __name__ == "__main__":
    main()
