"""Client-side AWS access for the CLI, the demo and the tests: one session, the stack's outputs."""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config

DEFAULT_STACK = "bluegreen"
_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=5, read_timeout=60)


@dataclass(frozen=True)
class Aws:
    """Where to talk to AWS (or the local twin) and which stack to use."""

    region: str | None = None
    profile: str | None = None
    endpoint_url: str | None = None
    stack: str = DEFAULT_STACK

    @functools.cached_property
    def session(self) -> boto3.Session:
        return boto3.Session(profile_name=self.profile, region_name=self.region)

    def client(self, service: str) -> Any:
        return _client(self, service)

    def resource(self, service: str) -> Any:
        """A boto3 resource of this thread (resources, unlike clients, must not be shared between threads)."""
        return _resource(self, service, threading.get_ident())

    @functools.cached_property
    def outputs(self) -> dict[str, str]:
        stack = self.client("cloudformation").describe_stacks(StackName=self.stack)["Stacks"][0]
        return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


@functools.cache
def _client(aws: Aws, service: str) -> Any:
    kwargs = {"endpoint_url": aws.endpoint_url} if aws.endpoint_url else {}
    return aws.session.client(service, config=_CONFIG, **kwargs)


@functools.lru_cache(maxsize=64)
def _resource(aws: Aws, service: str, thread: int) -> Any:
    kwargs = {"endpoint_url": aws.endpoint_url} if aws.endpoint_url else {}
    return aws.session.resource(service, config=_CONFIG, **kwargs)
