"""Delivery callbacks and batch resolution of awaited sends, compiled and Python."""

from __future__ import annotations

import asyncio
import gc
import os
from collections.abc import Callable
from typing import Any

import pytest
from fakes import FakeMessage, both_builds

from kafka_utils import RecordMetadata
from kafka_utils.client import _deliveries

compiled_only = pytest.mark.skipif(
    not _deliveries.COMPILED_DELIVERIES, reason="built without a C compiler"
)
DELIVERY = both_builds(
    _deliveries.python_delivery,
    _deliveries.delivery,
    compiled_built=_deliveries.COMPILED_DELIVERIES,
)
RESOLVE = both_builds(
    _deliveries.python_resolve_deliveries,
    _deliveries.resolve_deliveries,
    compiled_built=_deliveries.COMPILED_DELIVERIES,
)


class Slot:
    """Stands in for a send_batch slot: any target that is not a plain future."""


@pytest.mark.parametrize("delivery", DELIVERY)
async def test_a_delivery_records_its_future_with_the_report(
    delivery: Callable[[list[Any], asyncio.Future[Any]], Any],
) -> None:
    reports: list[Any] = []
    future = asyncio.get_running_loop().create_future()
    callback = delivery(reports, future)
    message = FakeMessage(5)

    callback(None, message)

    assert reports == [(future, None, message)]
    assert callback.future is future
    assert not future.done()


@pytest.mark.parametrize("delivery", DELIVERY)
async def test_settling_a_delivery_resolves_or_fails_its_future(
    delivery: Callable[[list[Any], asyncio.Future[Any]], Any],
) -> None:
    loop = asyncio.get_running_loop()
    resolved, failed, cancelled = (loop.create_future() for _ in range(3))

    delivery([], resolved).settle("metadata", False)
    delivery([], failed).settle(ValueError("full"), True)
    cancelled.cancel()
    delivery([], cancelled).settle("late", False)

    assert resolved.result() == "metadata"
    with pytest.raises(ValueError, match="full"):
        failed.result()
    assert cancelled.cancelled()


@compiled_only
async def test_the_compiled_delivery_checks_its_arguments() -> None:
    future = asyncio.get_running_loop().create_future()
    with pytest.raises(TypeError):
        _deliveries.delivery(("not", "a list"), future)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        _deliveries.delivery([], future)(None)


@pytest.mark.parametrize("resolve", RESOLVE)
async def test_resolving_settles_plain_successes_and_returns_the_rest(
    resolve: Callable[[list[Any], type[Any]], list[Any]],
) -> None:
    loop = asyncio.get_running_loop()
    first, second, failing, cancelled = (loop.create_future() for _ in range(4))
    cancelled.cancel()
    slot = Slot()
    error = object()
    failure = (failing, error, FakeMessage(9))
    for_slot = (slot, None, FakeMessage(10))
    forgotten = (None, error, FakeMessage(11))
    reports = [
        (first, None, FakeMessage(7)),
        failure,
        (cancelled, None, FakeMessage(8)),
        for_slot,
        (second, None, FakeMessage(12, timestamp_ms=None)),
        forgotten,
    ]

    rest = resolve(reports, asyncio.Future)

    assert rest == [failure, for_slot, forgotten]
    assert first.result() == RecordMetadata("orders", 2, 7, 1_700_000_000_000)
    assert second.result() == RecordMetadata("orders", 2, 12, None)
    assert not failing.done()
    assert cancelled.cancelled()


@pytest.mark.parametrize("resolve", RESOLVE)
async def test_resolving_wakes_the_task_awaiting_each_future(
    resolve: Callable[[list[Any], type[Any]], list[Any]],
) -> None:
    loop = asyncio.get_running_loop()
    futures = [loop.create_future() for _ in range(3)]
    waiters = [asyncio.ensure_future(future) for future in futures]
    await asyncio.sleep(0)

    resolve([(f, None, FakeMessage(i)) for i, f in enumerate(futures)], asyncio.Future)

    results = await asyncio.gather(*waiters)
    assert [metadata.offset for metadata in results] == [0, 1, 2]


@compiled_only
def test_compiled_metadata_is_a_plain_record_metadata_outside_the_collector() -> None:
    future: asyncio.Future[Any] = asyncio.Future(loop=asyncio.new_event_loop())
    try:
        _deliveries.resolve_deliveries([(future, None, FakeMessage(3))], asyncio.Future)
        metadata = future.result()
    finally:
        future.get_loop().close()

    assert type(metadata) is RecordMetadata
    assert metadata == RecordMetadata("orders", 2, 3, 1_700_000_000_000)
    assert hash(metadata) == hash(RecordMetadata("orders", 2, 3, 1_700_000_000_000))
    assert not gc.is_tracked(metadata)


@compiled_only
def test_resolving_rejects_a_malformed_report() -> None:
    with pytest.raises(TypeError, match="report"):
        _deliveries.resolve_deliveries([("too", "short")], asyncio.Future)  # type: ignore[list-item]


@pytest.mark.skipif(
    os.environ.get("KAFKA_UTILS_REQUIRE_SPEEDUPS") != "1",
    reason="only where the build is known to have a C compiler (CI sets this)",
)
def test_the_build_compiled_the_delivery_path() -> None:
    assert _deliveries.COMPILED_DELIVERIES
