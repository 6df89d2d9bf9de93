"""Smoke tests judged on status, body and latency, with retries."""

from __future__ import annotations

from orchestrator.config import SmokeTest
from orchestrator.domain.smoke import Response, judge, run


def test_judge_checks_status_body_and_latency() -> None:
    test = SmokeTest(path="/health", expect_status=200, expect_body_contains="ok", max_latency_ms=100)
    assert judge(test, Response(200, "all ok", 5)) == ""
    assert "status 500" in judge(test, Response(500, "ok", 5))
    assert "body lacks 'ok'" in judge(test, Response(200, "down", 5))
    assert "latency 250 ms" in judge(test, Response(200, "ok", 250))
    assert "request failed" in judge(test, Response(0, "", 5, error="connection refused"))


def test_a_flaky_endpoint_passes_within_its_attempts() -> None:
    # Given an endpoint that fails once, then answers
    answers = iter([Response(503, "", 1), Response(200, "ok", 1)])
    # When a test with three attempts runs
    failures = run([SmokeTest(path="/", attempts=3)], "http://x", retry_seconds=0, get=lambda *_: next(answers))
    # Then it passes
    assert failures == []


def test_a_failing_endpoint_reports_every_failed_test() -> None:
    tests = [SmokeTest(path="/a", attempts=2), SmokeTest(path="/b", attempts=1)]
    calls: list[str] = []

    def get(url: str, method: str, timeout: int) -> Response:
        calls.append(url)
        return Response(500, "boom", 1)

    failures = run(tests, "http://x/", retry_seconds=0, get=get, sleep=lambda _: None)
    assert calls == ["http://x/a", "http://x/a", "http://x/b"]
    assert len(failures) == 2
    assert failures[0].startswith("GET http://x/a: status 500")
