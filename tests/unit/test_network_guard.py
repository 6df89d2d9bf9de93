"""Tests never reach real AWS: credentials are fake and any non-loopback request fails before it is sent."""

from __future__ import annotations

import os
import socket

import boto3
import pytest
from botocore.exceptions import HTTPClientError

from tests.conftest import NonLoopbackRequestError


def test_credentials_are_fake() -> None:
    assert os.environ["AWS_ACCESS_KEY_ID"] == "testing"
    assert "AWS_PROFILE" not in os.environ


def test_a_boto3_call_to_real_aws_is_blocked() -> None:
    # Given a client with AWS's own endpoint
    client = boto3.client("sts", region_name="us-east-1")
    # When it calls out, Then the guard refuses before any DNS lookup or connection
    # (botocore wraps what the socket layer raises in its own HTTPClientError)
    with pytest.raises(HTTPClientError, match=r"only reach loopback; blocked a request to 'sts\."):
        client.get_caller_identity()


def test_a_raw_socket_to_a_public_address_is_blocked() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock, pytest.raises(NonLoopbackRequestError):
        sock.connect(("203.0.113.10", 443))  # TEST-NET-3: refused by the guard, never sent


def test_loopback_is_allowed() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        with socket.create_connection(server.getsockname(), timeout=2):
            pass
