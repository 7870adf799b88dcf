"""Topic requests of `AsyncAdmin`: create, delete, describe, configs, records."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import confluent_kafka
from confluent_kafka.admin import (  # type: ignore[attr-defined]
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    NewPartitions,
    NewTopic,
    ResourceType,
)

from kafka_utils._records import PartitionInfo, TopicInfo
from kafka_utils.client._admin_requests import AdminRequests, both
from kafka_utils.errors import ConfigurationError, KafkaTimeoutError, UnknownTopicError

__all__ = [
    "alter_topic_config",
    "create_partitions",
    "create_topic",
    "delete_records",
    "delete_topic",
    "describe_topic",
    "list_topics",
    "partition_counts",
]

logger = logging.getLogger(__name__)

# Kafka's Topic.INTERNAL_TOPICS; librdkafka's metadata has no is_internal flag.
_INTERNAL_TOPICS = frozenset(
    {"__consumer_offsets", "__transaction_state", "__share_group_state"}
)


async def create_topic(
    requests: AdminRequests,
    name: str,
    partitions: int,
    replication_factor: int,
    config: Mapping[str, str] | None,
) -> None:
    """Create a topic, then wait until every partition has a leader."""
    if partitions < 1 or replication_factor < 1:
        raise ConfigurationError(
            f"create topic {name!r}: partitions and replication_factor must be "
            f">= 1, got {partitions} and {replication_factor}"
        )

    new_topic = NewTopic(
        name, partitions, replication_factor, config=dict(config or {})
    )
    await requests.run(
        f"create topic {name!r}",
        lambda: requests.native.create_topics(
            [new_topic],
            request_timeout=requests.timeout,
            operation_timeout=requests.timeout,
        )[name],
    )
    requests.note_created(name)

    # The controller has accepted the topic; producers need its leaders too.
    await _wait_for_leaders(requests, name, partitions)


async def delete_topic(requests: AdminRequests, name: str) -> None:
    """Delete a topic, then wait, bounded, until the metadata no longer shows it."""
    await requests.run(
        f"delete topic {name!r}",
        lambda: requests.native.delete_topics(
            [name],
            request_timeout=requests.timeout,
            operation_timeout=requests.timeout,
        )[name],
    )
    requests.forget_topic(name)

    # Waiting lets a caller re-create the same name at once.
    deadline = time.monotonic() + requests.timeout
    while await _exists(requests, name):
        if time.monotonic() > deadline:
            logger.warning("deleted topic %s is still in the metadata", name)
            return
        await asyncio.sleep(0.05)


async def list_topics(requests: AdminRequests, include_internal: bool) -> list[str]:
    """The sorted topic names, from a metadata request."""
    metadata = await requests.blocking(
        "list topics", requests.native.list_topics, None, requests.timeout
    )
    names = set(metadata.topics)
    if not include_internal:
        names -= _INTERNAL_TOPICS
    return sorted(names)


async def describe_topic(
    requests: AdminRequests, name: str, all_configs: bool
) -> TopicInfo:
    """Partitions and configs of a topic (non-default configs unless all_configs)."""
    description, configs = await both(
        _describe(requests, name), _describe_configs(requests, name)
    )

    partitions = tuple(
        PartitionInfo(
            partition.id,
            partition.leader.id if partition.leader is not None else -1,
            tuple(node.id for node in partition.replicas),
            tuple(node.id for node in partition.isr),
        )
        for partition in sorted(description.partitions, key=lambda p: p.id)
    )
    values = {
        entry.name: entry.value
        for entry in configs.values()
        if all_configs or not entry.is_default
    }
    return TopicInfo(name, partitions, dict(sorted(values.items())))


async def alter_topic_config(
    requests: AdminRequests, name: str, config: Mapping[str, str]
) -> None:
    """Set configs with IncrementalAlterConfigs (KIP-339), keeping the others.

    Returns once the broker that describes the topic reports the change, so that
    a describe right after an alter reads it (bounded by the request timeout).
    """
    before = await _describe_configs(requests, name)
    entries = [
        ConfigEntry(key, value, incremental_operation=AlterConfigOpType.SET)
        for key, value in config.items()
    ]
    resource = ConfigResource(ResourceType.TOPIC, name, incremental_configs=entries)
    await requests.run(
        f"alter config of topic {name!r}",
        lambda: requests.native.incremental_alter_configs(
            [resource], request_timeout=requests.timeout
        )[resource],
    )

    # The controller has the change; brokers apply it a moment later.
    await _wait_for_configs(requests, name, config, before)


async def create_partitions(requests: AdminRequests, name: str, total: int) -> None:
    """Grow a topic to `total` partitions, then wait until they have leaders."""
    await requests.run(
        f"create partitions of topic {name!r}",
        lambda: requests.native.create_partitions(
            [NewPartitions(name, total)],
            request_timeout=requests.timeout,
            operation_timeout=requests.timeout,
        )[name],
    )
    await _wait_for_leaders(requests, name, total)


async def delete_records(
    requests: AdminRequests, topic: str, before_offsets: Mapping[int, int]
) -> dict[int, int]:
    """Delete records below the given offsets; return the new low watermarks."""
    if any(offset < -1 for offset in before_offsets.values()):
        raise ConfigurationError(
            f"delete records of topic {topic!r}: offsets must be >= 0, or -1 for all"
        )

    # librdkafka: an offset of -1 (OFFSET_END) deletes up to the high watermark.
    request = [
        confluent_kafka.TopicPartition(topic, partition, offset)
        for partition, offset in before_offsets.items()
    ]
    results = await requests.run_each(
        f"delete records of topic {topic!r}",
        lambda: requests.native.delete_records(
            request,
            request_timeout=requests.timeout,
            operation_timeout=requests.timeout,
        ),
    )
    return dict(
        sorted((tp.partition, deleted.low_watermark) for tp, deleted in results.items())
    )


async def partition_counts(
    requests: AdminRequests, topics: list[str], *, skip_missing: bool = False
) -> dict[str, int]:
    """The partition count of each topic; a missing topic raises or is skipped."""
    outcomes = await asyncio.gather(
        *(_describe(requests, topic) for topic in topics), return_exceptions=True
    )

    counts: dict[str, int] = {}
    for topic, outcome in zip(topics, outcomes, strict=True):
        if isinstance(outcome, UnknownTopicError) and skip_missing:
            logger.debug("skipping topic %s: it does not exist", topic)
            continue
        if isinstance(outcome, BaseException):
            raise outcome
        counts[topic] = len(outcome.partitions)
    return counts


async def _describe(requests: AdminRequests, name: str) -> Any:
    """confluent-kafka's TopicDescription of one topic."""
    collection = confluent_kafka.TopicCollection([name])
    return await requests.run_topic(
        name,
        f"describe topic {name!r}",
        lambda: requests.native.describe_topics(
            collection, request_timeout=requests.timeout
        )[name],
    )


async def _describe_configs(requests: AdminRequests, name: str) -> dict[str, Any]:
    """confluent-kafka's ConfigEntry of every config of one topic, by name."""
    resource = ConfigResource(ResourceType.TOPIC, name)
    configs: dict[str, Any] = await requests.run_topic(
        name,
        f"describe configs of topic {name!r}",
        lambda: requests.native.describe_configs(
            [resource], request_timeout=requests.timeout
        )[resource],
    )
    return configs


async def _wait_for_configs(
    requests: AdminRequests,
    name: str,
    config: Mapping[str, str],
    before: Mapping[str, Any],
) -> None:
    """Poll the topic's configs until each altered one shows its new value.

    A config counts as applied when it reads as requested, or as anything other
    than before the alter (the broker may write a value in its own canonical
    form). Gives up with a warning after the request timeout: the alter itself
    succeeded.
    """
    old_values = {key: before[key].value for key in config if key in before}

    async def applied() -> bool:
        now = await _describe_configs(requests, name)
        return not any(
            key in now and now[key].value == old != config[key]
            for key, old in old_values.items()
        )

    if not await _poll_until(applied, requests.timeout):
        logger.warning(
            "topic %s: the broker does not show the new %s yet",
            name,
            ", ".join(sorted(config)),
        )


async def _exists(requests: AdminRequests, name: str) -> bool:
    try:
        await _describe(requests, name)
    except UnknownTopicError:
        return False
    return True


async def _wait_for_leaders(
    requests: AdminRequests, name: str, partitions: int
) -> None:
    """Poll the metadata until `name` has `partitions` partitions, all led."""

    async def all_led() -> bool:
        try:
            description = await _describe(requests, name)
        except UnknownTopicError:
            return False  # the broker asked has not heard of the topic yet
        led = [p for p in description.partitions if p.leader is not None]
        return len(led) >= partitions

    if not await _poll_until(all_led, requests.timeout):
        raise KafkaTimeoutError(
            f"topic {name!r}: its {partitions} partitions did not all have a "
            f"leader within {requests.timeout}s"
        )


async def _poll_until(check: Callable[[], Awaitable[bool]], timeout: float) -> bool:
    """Call `check` until it returns True; False if `timeout` seconds pass first.

    The wait between calls starts at 20 ms and doubles up to 0.5 s.
    """
    deadline = time.monotonic() + timeout
    delay = 0.02
    while not await check():
        if time.monotonic() + delay > deadline:
            return False
        await asyncio.sleep(delay)
        delay = min(delay * 2, 0.5)
    return True
