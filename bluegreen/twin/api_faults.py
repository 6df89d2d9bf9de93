"""Faults the twin injects into AWS API calls: the next N calls of an operation, on a matching resource, are refused.

A twin control, not an AWS behaviour: tests use it (`POST /_twin/api-faults`) to make one AWS call fail the way AWS can
refuse it (for example the second of three ModifyRule calls of a traffic shift), where `/_twin/faults` fails a whole
Lambda invocation. It answers in the protocol of the call: query (ELB, Auto Scaling, ...), EC2's, or JSON.
"""

from __future__ import annotations

import io
import json
import re
import urllib.parse
from dataclasses import dataclass
from typing import Any

from werkzeug.wrappers import Response

from bluegreen.twin.faults import CountedFaults


@dataclass
class ApiFault:
    operation: str  # the API operation, e.g. ModifyRule
    resource: str  # a string the request must contain (an ARN, a name); empty: any call of the operation
    code: str  # the AWS error code to answer with
    message: str
    times: int  # how many more matching calls it refuses


class ApiFaultRegistry(CountedFaults[ApiFault]):
    def add(self, operation: str, code: str, message: str = "", resource: str = "", times: int = 1) -> None:
        if not re.fullmatch(r"[A-Z][A-Za-z0-9]+", operation or ""):
            raise ValueError(f"operation must be an API operation name such as ModifyRule, got {operation!r}")
        if not code or times < 1:
            raise ValueError("code must be non-empty and times >= 1")
        self._append(ApiFault(operation, resource, code, message or f"injected by the twin: {code}", times))

    def take(self, operation: str, request_text: str) -> ApiFault | None:
        """Consume one hit of the first fault matching this call."""
        return self._take(lambda f: f.operation == operation and f.resource in request_text)


api_faults = ApiFaultRegistry()


def intercept(environ: dict[str, Any]) -> Response | None:
    """The refusal for this request if a fault matches it; else None, with the request body left readable."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(body)
    text = urllib.parse.unquote_plus(body.decode("utf-8", "replace"))
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if target:
        operation = target.rsplit(".", 1)[-1]
    else:
        found = re.search(r"(?:^|&)Action=([A-Za-z0-9]+)", text) or re.search(
            r"(?:^|&)Action=([A-Za-z0-9]+)", environ.get("QUERY_STRING", "")
        )
        operation = found.group(1) if found else ""
    fault = api_faults.take(operation, text) if operation else None
    if fault is None:
        return None
    if target:
        return Response(json.dumps({"__type": fault.code, "message": fault.message}), 400, mimetype="application/json")
    if "/ec2/" in environ.get("HTTP_AUTHORIZATION", ""):
        xml = (
            f"<Response><Errors><Error><Code>{fault.code}</Code><Message>{_xml(fault.message)}</Message></Error>"
            "</Errors><RequestID>twin-api-fault</RequestID></Response>"
        )
    else:
        xml = (
            f"<ErrorResponse><Error><Type>Sender</Type><Code>{fault.code}</Code><Message>{_xml(fault.message)}"
            "</Message></Error><RequestId>twin-api-fault</RequestId></ErrorResponse>"
        )
    return Response(xml, 400, mimetype="text/xml")


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
