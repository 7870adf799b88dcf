"""Retry rules of AsyncAdmin's requests, without a broker.

The requests are librdkafka-shaped futures completed by hand, with confluent-kafka's
real error objects, so only the retry and cancellation logic is under test.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Callable
from typing import Any

import confluent_kafka
import pytest

from kafka_utils.client import _admin_requests
from kafka_utils.client._admin_requests import AdminRequests
from kafka_utils.errors import AuthorizationError, UnknownTopicError


class NativeAdmin:
    """The one method `AdminRequests` calls on the native client besides requests."""

    def poll(self, timeout: float) -> int:
        return 0


def answers(*outcomes: Any) -> tuple[Callable[[], Any], list[int]]:
    """A request that answers with `outcomes` in turn; counts its calls."""
    calls = [0]

    def call() -> concurrent.futures.Future[Any]:
        outcome = outcomes[min(calls[0], len(outcomes) - 1)]
        calls[0] += 1
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        if isinstance(outcome, BaseException):
            future.set_exception(outcome)
        else:
            future.set_result(outcome)
        return future

    return call, calls


def kafka_failure(code: int) -> confluent_kafka.KafkaException:
    return confluent_kafka.KafkaException(confluent_kafka.KafkaError(code))


UNKNOWN = kafka_failure(confluent_kafka.KafkaError.UNKNOWN_TOPIC_OR_PART)


async def test_a_fresh_topic_is_retried_until_a_broker_knows_it() -> None:
    requests = AdminRequests(NativeAdmin(), timeout=5.0)
    requests.note_created("orders")
    call, calls = answers(UNKNOWN, UNKNOWN, "described")

    assert await requests.run_topic("orders", "describe topic 'orders'", call) == (
        "described"
    )
    assert calls == [3]


async def test_any_other_topic_is_unknown_at_once() -> None:
    requests = AdminRequests(NativeAdmin(), timeout=5.0)
    requests.note_created("orders")
    call, calls = answers(UNKNOWN, "described")

    with pytest.raises(UnknownTopicError, match="describe topic 'typo'"):
        await requests.run_topic("typo", "describe topic 'typo'", call)
    assert calls == [1]


async def test_a_deleted_topic_is_no_longer_retried() -> None:
    requests = AdminRequests(NativeAdmin(), timeout=5.0)
    requests.note_created("orders")
    requests.forget_topic("orders")
    call, calls = answers(UNKNOWN, "described")

    with pytest.raises(UnknownTopicError):
        await requests.run_topic("orders", "describe topic 'orders'", call)
    assert calls == [1]


async def test_retries_stop_when_the_grace_period_ends(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_admin_requests, "FRESH_TOPIC_GRACE_S", 0.2)
    requests = AdminRequests(NativeAdmin(), timeout=5.0)
    requests.note_created("orders")
    call, calls = answers(UNKNOWN)

    with pytest.raises(UnknownTopicError):
        await asyncio.wait_for(
            requests.run_topic("orders", "describe topic 'orders'", call), 5.0
        )
    assert 2 <= calls[0] <= 8


async def test_other_errors_of_a_fresh_topic_are_not_retried() -> None:
    requests = AdminRequests(NativeAdmin(), timeout=5.0)
    requests.note_created("orders")
    denied = kafka_failure(confluent_kafka.KafkaError.TOPIC_AUTHORIZATION_FAILED)
    call, calls = answers(denied, "described")

    with pytest.raises(AuthorizationError):
        await requests.run_topic("orders", "describe topic 'orders'", call)
    assert calls == [1]


async def test_both_cancels_the_other_request_when_one_fails() -> None:
    other_started = asyncio.Event()
    other_cancelled = asyncio.Event()

    async def failing() -> None:
        await other_started.wait()
        raise UnknownTopicError("describe topic 'orders': unknown")

    async def slow() -> str:
        other_started.set()
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            other_cancelled.set()
            raise
        return "configs"

    with pytest.raises(UnknownTopicError):
        await _admin_requests.both(failing(), slow())
    assert other_cancelled.is_set()
