"""Smoke tests: real HTTP requests against the idle slot, with retries, judged on status, body and latency."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass

from orchestrator.config import SmokeTest


@dataclass(frozen=True)
class Response:
    status: int
    body: str
    latency_ms: int
    error: str = ""


HttpGet = Callable[..., Response]  # (url, method, timeout_seconds, headers=None)


def http_request(url: str, method: str, timeout_seconds: int, headers: dict[str, str] | None = None) -> Response:
    # A header rule of the app's load balancer may route these requests to the idle slot (the ALB router's test route).
    request = urllib.request.Request(url, method=method, headers={"User-Agent": "bluegreen-smoke/1", **(headers or {})})
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=timeout_seconds) as response:
            body = response.read(65_536).decode("utf-8", "replace")
            status = response.status
    except urllib.error.HTTPError as err:
        body, status = err.read(65_536).decode("utf-8", "replace"), err.code
    except (urllib.error.URLError, OSError) as err:
        return Response(0, "", int((time.monotonic() - started) * 1000), error=str(getattr(err, "reason", err)))
    return Response(status, body, int((time.monotonic() - started) * 1000))


def judge(test: SmokeTest, response: Response) -> str:
    """Empty when the response passes, else why it fails."""
    if response.error:
        return f"request failed: {response.error}"
    if response.status != test.expect_status:
        return f"status {response.status}, expected {test.expect_status}"
    if test.expect_body_contains and test.expect_body_contains not in response.body:
        return f"body lacks {test.expect_body_contains!r}: {response.body[:200]!r}"
    if test.max_latency_ms and response.latency_ms > test.max_latency_ms:
        return f"latency {response.latency_ms} ms over {test.max_latency_ms} ms"
    return ""


def run(
    tests: list[SmokeTest],
    base_url: str,
    *,
    retry_seconds: float,
    get: HttpGet = http_request,
    sleep: Callable[[float], None] = time.sleep,
    headers: dict[str, str] | None = None,
) -> list[str]:
    """Run every test; returns one failure line per test that failed after all its attempts."""
    extra = {"headers": headers} if headers else {}
    failures = []
    for test in tests:
        url = base_url.rstrip("/") + test.path
        reason = ""
        for attempt in range(test.attempts):
            if attempt:
                sleep(retry_seconds)
            reason = judge(test, get(url, test.method, test.timeout_seconds, **extra))
            if not reason:
                break
        if reason:
            failures.append(f"{test.method} {url}: {reason} (after {test.attempts} attempts)")
    return failures
