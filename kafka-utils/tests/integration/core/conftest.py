"""Fixtures for the core client tests: topics created on the real broker."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from kafka_utils import AsyncAdmin, KafkaSettings
from kafka_utils.testing import TopicNameFactory

TopicFactory = Callable[..., Awaitable[str]]


@pytest.fixture
def new_topic(
    kafka_settings: KafkaSettings, make_topic_name: TopicNameFactory
) -> TopicFactory:
    """Create a fresh topic on the test broker and return its name."""

    async def create(partitions: int = 1, **config: str) -> str:
        name = make_topic_name()
        async with AsyncAdmin(kafka_settings) as admin:
            await admin.create_topic(name, partitions=partitions, config=config or None)
        return name

    return create
