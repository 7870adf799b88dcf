from __future__ import annotations

import random
from collections.abc import Callable

import pytest

from kafka_utils.broker._config import CONTROLLER_PORT_OFFSET
from kafka_utils.broker._process import port_is_free


def pick_free_base_port(nodes: int) -> int:
    """A first port whose client and controller ports are all free right now.

    Chosen at random from 12000-18900, so that the controller ports (base + 10001)
    stay below Linux's ephemeral range (32768 and up), where an outgoing connection
    could take a port between this check and the broker's bind; away from 9092 and
    the plugin's 19192/19292.
    """
    for _ in range(500):
        base = random.randrange(12000, 18900)
        ports = [base + i for i in range(nodes)]
        ports += [base + CONTROLLER_PORT_OFFSET + i for i in range(nodes)]
        if all(port_is_free(port) for port in ports):
            return base
    raise RuntimeError("no free port range found")


@pytest.fixture(scope="session")
def free_base_port() -> Callable[[int], int]:
    return pick_free_base_port
