"""Shared boto3 client construction and ClientError helpers."""

from __future__ import annotations

import functools
import os
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

# Standard mode retries throttling and transient errors with backoff and jitter; Step Functions retries the rest.
_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=5, read_timeout=30)


def client(service: str) -> Any:
    """One client per service and process (endpoint and region come from the environment, as boto3 reads them)."""
    return _client(service, *where())


def where() -> tuple[str | None, str | None]:
    """The endpoint and region boto3 would use now. Constant in Lambda; the local twin changes them per test module."""
    return os.environ.get("AWS_ENDPOINT_URL"), os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")


@functools.cache
def _client(service: str, endpoint_url: str | None, region: str | None) -> Any:
    return boto3.client(service, config=_CONFIG)


client.cache_clear = _client.cache_clear  # type: ignore[attr-defined]  # tests start each moto mock afresh


def error_code(err: ClientError) -> str:
    return err.response.get("Error", {}).get("Code", "")


def paginate(api: Any, operation: str, key: str, **kwargs: Any) -> list[Any]:
    """Every item of a paged list operation."""
    items: list[Any] = []
    for page in api.get_paginator(operation).paginate(**kwargs):
        items.extend(page.get(key, []))
    return items
