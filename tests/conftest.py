"""Fixtures shared by every tier, and the guard that keeps tests on loopback."""

import ipaddress
import socket

import pytest

pytest_plugins = [
    "tests.fixtures.simulator",
    "tests.fixtures.databases",
    "tests.fixtures.webapp",
]

_connect = socket.socket.connect


def loopback_only(self, address):
    # Tests never reach beyond this machine: not the real Kazaplan, nor anything.
    if self.family in (socket.AF_INET, socket.AF_INET6):
        host = address[0]
        if host != "localhost" and not ipaddress.ip_address(host).is_loopback:
            raise OSError(f"tests may only connect to loopback, not {host}")
    return _connect(self, address)


@pytest.fixture(autouse=True, scope="session")
def _network_is_loopback_only():
    socket.socket.connect = loopback_only
    yield
    socket.socket.connect = _connect
