"""Shared test set-up: fake credentials, and a guard that fails any request to a non-loopback endpoint."""

from __future__ import annotations

import ipaddress
import os
import socket

import pytest

# Fake credentials before anything builds a client: a test can never sign a request for a real account.
for _key, _value in {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_DEV": "false",
    "SAM_CLI_TELEMETRY": "0",
}.items():
    os.environ[_key] = _value
os.environ.pop("AWS_PROFILE", None)
os.environ.pop("AWS_ENDPOINT_URL", None)
# Typer sets PYDANTIC_DISABLE_PLUGINS while it builds a command's adapters and deletes it after when it was unset; a
# CLI run in this process then races every thread that iterates os.environ (a twin's handlers, an invariant monitor:
# KeyError). Set (to no plugin: none is installed), it is restored instead of deleted.
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "")

# moto's catalogue of public images, cut to its stock ones before moto.ec2 is imported: 0.4 s less per fresh account.
from bluegreen.twin import stock_images  # noqa: E402
from tests import file_weights  # noqa: E402

stock_images.use()


class NonLoopbackRequestError(AssertionError):
    """A test tried to reach something other than this machine."""


def _is_loopback(host: object) -> bool:
    if host in ("localhost", "localhost.localdomain") or host is None:
        return True
    try:
        return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
    except ValueError:
        return False


def check_destination(host: object) -> None:
    if not _is_loopback(host):
        raise NonLoopbackRequestError(f"tests may only reach loopback; blocked a request to {host!r}")


_real_getaddrinfo = socket.getaddrinfo
_real_connect = socket.socket.connect
_real_create_connection = socket.create_connection


def _guarded_getaddrinfo(host, *args, **kwargs):  # type: ignore[no-untyped-def]
    check_destination(host.decode() if isinstance(host, bytes) else host)
    return _real_getaddrinfo(host, *args, **kwargs)


def _guarded_connect(self, address):  # type: ignore[no-untyped-def]
    if self.family in (socket.AF_INET, socket.AF_INET6):
        check_destination(address[0])
    return _real_connect(self, address)


# Installed at import, so it covers every fixture, thread and library the tests use.
socket.getaddrinfo = _guarded_getaddrinfo
socket.socket.connect = _guarded_connect  # type: ignore[method-assign]


@pytest.fixture
def region() -> str:
    return "us-east-1"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Files longest first (`tests/file_weights.py`), each file's tests in their own order: with `--dist loadfile
    --no-loadscope-reorder`, the order workers are given files in. Every worker sorts alike (a stable sort of the same
    collection), as xdist requires."""
    root = config.rootpath

    def path_of(item: pytest.Item) -> str:
        return item.path.relative_to(root).as_posix() if item.path.is_relative_to(root) else str(item.path)

    items.sort(key=lambda item: -file_weights.weight(path_of(item)))
