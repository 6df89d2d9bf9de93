"""Shared boto3 client construction and ClientError helpers."""

from __future__ import annotations

import functools
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

# Standard mode retries throttling and transient errors with backoff and jitter; Step Functions retries the rest.
_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=5, read_timeout=30)


@functools.cache
def client(service: str) -> Any:
    """One client per service and process (endpoint and region come from the environment, as boto3 reads them)."""
    return boto3.client(service, config=_CONFIG)


def error_code(err: ClientError) -> str:
    return err.response.get("Error", {}).get("Code", "")


def paginate(api: Any, operation: str, key: str, **kwargs: Any) -> list[Any]:
    """Every item of a paged list operation."""
    items: list[Any] = []
    for page in api.get_paginator(operation).paginate(**kwargs):
        items.extend(page.get(key, []))
    return items
