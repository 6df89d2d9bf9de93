"""Shared boto3 client construction and ClientError helpers."""

from __future__ import annotations

import functools
import os
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

# Standard mode retries throttling and transient errors with backoff and jitter; Step Functions retries the rest.
# One call can take at most CALL_BUDGET_SECONDS, well within a function's 60 s (a test ties them).
_ATTEMPTS, _CONNECT_SECONDS, _READ_SECONDS = 3, 3, 10
_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": _ATTEMPTS},
    connect_timeout=_CONNECT_SECONDS,
    read_timeout=_READ_SECONDS,
)
# Every attempt timing out, plus standard mode's backoff between them (at most 2 ** attempt seconds, capped at 20).
CALL_BUDGET_SECONDS = _ATTEMPTS * (_CONNECT_SECONDS + _READ_SECONDS) + sum(
    min(2**attempt, 20) for attempt in range(1, _ATTEMPTS)
)


def client(service: str) -> Any:
    """One client per service and process (endpoint and region come from the environment, as boto3 reads them)."""
    return _client(service, *where())


def where() -> tuple[str | None, str | None]:
    """The endpoint and region boto3 would use now. Constant in Lambda; the local twin changes them per test module."""
    return os.environ.get("AWS_ENDPOINT_URL"), os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")


@functools.cache
def _client(service: str, endpoint_url: str | None, region: str | None) -> Any:
    return session().client(service, config=_CONFIG)


@functools.cache
def session() -> boto3.Session:
    """One session per process, as boto3's default one is in Lambda. Its loader keeps the service models it parsed;
    in tests, moto's `mock_aws()` sets the default session aside, and each new one parsed them all again."""
    return boto3.Session()


client.cache_clear = _client.cache_clear  # type: ignore[attr-defined]  # tests start each moto mock afresh


def error_code(err: ClientError) -> str:
    return err.response.get("Error", {}).get("Code", "")


def paginate(api: Any, operation: str, key: str, **kwargs: Any) -> list[Any]:
    """Every item of a paged list operation."""
    items: list[Any] = []
    for page in api.get_paginator(operation).paginate(**kwargs):
        items.extend(page.get(key, []))
    return items
