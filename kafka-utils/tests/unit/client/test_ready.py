"""The consumer iterator's done awaitables, compiled and pure Python alike."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from fakes import FakeMessage, both_builds

from kafka_utils import ConsumerRecord
from kafka_utils.client import _ready
from kafka_utils.client.consumer import _Batch

READY = both_builds(
    _ready.python_ready, _ready.ready, compiled_built=_ready.COMPILED_READY
)
NEXT_READY = both_builds(
    _ready.python_next_ready, _ready.next_ready, compiled_built=_ready.COMPILED_READY
)


@pytest.mark.parametrize("ready", READY)
async def test_a_ready_awaitable_returns_its_value_at_once(
    ready: Callable[[Any], Awaitable[Any]],
) -> None:
    assert await ready(("a", 1)) == ("a", 1)
    assert await ready(None) is None
    # Tasks and timeouts accept it like any awaitable.
    assert await asyncio.ensure_future(ready(7)) == 7
    assert await asyncio.wait_for(ready(8), timeout=1) == 8


@pytest.mark.parametrize("next_ready", NEXT_READY)
async def test_next_ready_takes_plain_records_and_leaves_the_rest(
    next_ready: Callable[[Any], Awaitable[Any] | None],
) -> None:
    batch = _Batch(
        0, [FakeMessage(0), FakeMessage(1, failed=True), FakeMessage(2), FakeMessage(3)]
    )

    first = next_ready(batch)
    assert first is not None
    record = await first
    assert isinstance(record, ConsumerRecord)
    assert (record.offset, record.value) == (0, b"v0")
    assert batch.position == 1

    # An error is left for the general path, and so is a batch's last message.
    assert next_ready(batch) is None
    assert batch.position == 1
    batch.position = 2
    third = next_ready(batch)
    assert third is not None
    assert (await third).offset == 2
    assert next_ready(batch) is None
    assert batch.position == 3
