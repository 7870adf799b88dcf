"""AsyncAdmin: topics, consumer groups, lag and offset resets from asyncio.

The requests themselves live in `_admin_topics` and `_admin_groups`, the plumbing
that awaits librdkafka's futures in `_admin_requests`, and the offset arithmetic,
tested without a broker, in `_offsets_plan`.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Coroutine,
    Iterable,
    Mapping,
)
from typing import Any, Concatenate, ParamSpec, TypeVar

import confluent_kafka
from confluent_kafka.admin import AdminClient

from kafka_utils._records import (
    GroupInfo,
    GroupListing,
    OffsetReset,
    PartitionLag,
    ResetTarget,
    TopicInfo,
)
from kafka_utils.client import _admin_groups, _admin_topics
from kafka_utils.client._admin_requests import AdminRequests, LibrdkafkaLog
from kafka_utils.client._config import build_config, create_native
from kafka_utils.client._lifecycle import (
    ClientLifecycle,
    ClientState,
    require_started,
)
from kafka_utils.errors import (
    BrokerUnavailableError,
    translate_kafka_error,
)
from kafka_utils.settings import KafkaSettings

__all__ = ["AsyncAdmin"]

logger = logging.getLogger(__name__)

T = TypeVar("T")
P = ParamSpec("P")

_DEFAULTS: dict[str, Any] = {
    # The admin client is a producer-type handle, for which librdkafka defaults
    # allow.auto.create.topics to true (CONFIGURATION.md); the metadata requests
    # made after a delete must never bring the topic back on a permissive broker.
    "allow.auto.create.topics": False,
}


def _guarded(
    method: Callable[Concatenate[AsyncAdmin, P], Awaitable[T]],
) -> Callable[Concatenate[AsyncAdmin, P], Coroutine[Any, Any, T]]:
    """Run a public method only on a started admin, and make `close()` wait for it."""

    async def guarded(self: AsyncAdmin, /, *args: P.args, **kwargs: P.kwargs) -> T:
        async with self._in_use():
            return await method(self, *args, **kwargs)

    functools.update_wrapper(guarded, method)
    return guarded


class AsyncAdmin(ClientLifecycle):
    """An asyncio Kafka admin client on librdkafka.

    ```python
    async with AsyncAdmin(settings) as admin:
        await admin.create_topic("orders", partitions=6, replication_factor=3)
        for row in await admin.lag("billing"):
            print(row.topic, row.partition, row.lag)
    ```

    No method blocks the event loop. librdkafka's own log lines go to the
    `kafka_utils.client.admin.librdkafka` logger at DEBUG: every failure is
    raised as a `KafkaUtilsError` instead.

    Args:
        settings: connection settings; `KafkaSettings()` (from the environment)
            when omitted.
        request_timeout: seconds each request may take; also bounds the wait for
            a new topic's leaders.
        connect_timeout: how long `start()` waits for the cluster to answer before
            failing with `BrokerUnavailableError`.
        **options: librdkafka options, dotted or snake_case; they override
            `settings`.

    Raises:
        ConfigurationError: an option is unknown or has an invalid value.
    """

    def __init__(
        self,
        settings: KafkaSettings | None = None,
        *,
        request_timeout: float = 30.0,
        connect_timeout: float = 10.0,
        **options: Any,
    ) -> None:
        self._config = build_config(settings, _DEFAULTS, options)
        native = create_native(AdminClient, {**self._config, "logger": LibrdkafkaLog()})
        self._requests = AdminRequests(native, request_timeout)
        self._connect_timeout = connect_timeout
        self._state = ClientState.CREATED
        self._in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()

    async def start(self) -> None:
        """Check that the cluster answers; an admin that fails here is closed.

        Raises:
            BrokerUnavailableError: no broker answered within `connect_timeout`.
        """
        self.require_created()

        try:
            await asyncio.wrap_future(
                self._requests.native.describe_cluster(
                    request_timeout=self._connect_timeout
                )
            )
        except confluent_kafka.KafkaException as error:
            await self.close()
            reason = translate_kafka_error(error)
            raise BrokerUnavailableError(
                f"cannot reach Kafka at {self._config.get('bootstrap.servers')} "
                f"within {self._connect_timeout}s: {reason}",
                code=reason.code,
            ) from None

        self._state = ClientState.STARTED
        logger.info(
            "admin %s started (bootstrap %s)",
            self._config.get("client.id"),
            self._config.get("bootstrap.servers"),
        )

    async def close(self) -> None:
        """Wait for running requests, then release the client; safe to call twice."""
        if self._state in (ClientState.CLOSING, ClientState.CLOSED):
            return
        was_started = self._state is ClientState.STARTED

        # Requests are bounded by request_timeout, so this wait is too.
        self._state = ClientState.CLOSING
        await self._idle.wait()
        await self._requests.shutdown()
        self._state = ClientState.CLOSED
        if was_started:
            logger.info("admin %s closed", self._config.get("client.id"))

    # Topics

    @_guarded
    async def create_topic(
        self,
        name: str,
        partitions: int = 1,
        replication_factor: int = 1,
        config: Mapping[str, str] | None = None,
    ) -> None:
        """Create a topic and wait until every partition has a leader.

        When this returns, a producer can write to the topic at once. For the next
        10 seconds, this admin's calls that describe the topic retry a broker that
        has not heard of it yet, so reading right after creating works on a
        cluster of several brokers.

        Args:
            name: the topic name.
            partitions: the number of partitions, at least 1.
            replication_factor: copies of each partition, at most the number of
                brokers.
            config: topic configs, for example `{"cleanup.policy": "compact"}`.

        Raises:
            TopicAlreadyExistsError: the name is taken.
            ConfigurationError: the partitions, replication factor, name or a
                config is invalid; the broker's reason is in the message.
            KafkaTimeoutError: the partitions had no leader in time.
        """
        await _admin_topics.create_topic(
            self._requests, name, partitions, replication_factor, config
        )
        logger.info(
            "created topic %s (%d partitions, replication factor %d)",
            name,
            partitions,
            replication_factor,
        )

    @_guarded
    async def delete_topic(self, name: str) -> None:
        """Delete a topic and wait until the metadata no longer shows it.

        Raises:
            UnknownTopicError: the topic does not exist.
        """
        await _admin_topics.delete_topic(self._requests, name)
        logger.info("deleted topic %s", name)

    @_guarded
    async def list_topics(self, include_internal: bool = False) -> list[str]:
        """The names of the cluster's topics, sorted.

        Args:
            include_internal: also list Kafka's own topics (`__consumer_offsets`,
                `__transaction_state`, `__share_group_state`).
        """
        return await _admin_topics.list_topics(self._requests, include_internal)

    @_guarded
    async def describe_topic(
        self, name: str, *, all_configs: bool = False
    ) -> TopicInfo:
        """A topic's partitions (leader, replicas, in-sync replicas) and configs.

        Args:
            name: the topic.
            all_configs: return every config. By default only those that differ
                from Kafka's defaults are returned, whether set on the topic or
                inherited from the broker's configuration. Sensitive values are
                None.

        Raises:
            UnknownTopicError: the topic does not exist.
        """
        return await _admin_topics.describe_topic(self._requests, name, all_configs)

    @_guarded
    async def alter_topic_config(self, name: str, config: Mapping[str, str]) -> None:
        """Set topic configs, leaving every other config as it is (KIP-339).

        Returns once the broker answering `describe_topic` reports the new
        values, so a describe right after it reads them.

        Raises:
            UnknownTopicError: the topic does not exist.
            ConfigurationError: a config name or value is invalid.
        """
        if not config:
            return

        await _admin_topics.alter_topic_config(self._requests, name, config)
        logger.info(
            "altered topic %s: %s",
            name,
            ", ".join(f"{key}={value}" for key, value in sorted(config.items())),
        )

    @_guarded
    async def create_partitions(self, name: str, total: int) -> None:
        """Grow a topic to `total` partitions and wait until they have leaders.

        Raises:
            UnknownTopicError: the topic does not exist.
            ConfigurationError: `total` is not more than the current count.
        """
        await _admin_topics.create_partitions(self._requests, name, total)
        logger.info("topic %s now has %d partitions", name, total)

    @_guarded
    async def delete_records(
        self, topic: str, before_offsets: Mapping[int, int]
    ) -> dict[int, int]:
        """Delete the records of each partition below an offset (KIP-107).

        Args:
            topic: the topic.
            before_offsets: partition -> offset; the records below it are deleted.
                `-1` deletes every record of the partition.

        Returns:
            The new low watermark of each partition, by partition.

        Raises:
            UnknownTopicError: the topic or a partition does not exist.
            KafkaBrokerError: an offset is beyond the high watermark
                (`OFFSET_OUT_OF_RANGE`).
        """
        low_watermarks = await _admin_topics.delete_records(
            self._requests, topic, before_offsets
        )
        logger.info(
            "deleted records of topic %s; low watermarks now %s", topic, low_watermarks
        )
        return low_watermarks

    # Consumer groups

    @_guarded
    async def list_groups(self) -> list[GroupListing]:
        """Every consumer group of the cluster with its state and type, by id."""
        return await _admin_groups.list_groups(self._requests)

    @_guarded
    async def describe_group(self, group: str) -> GroupInfo:
        """A group's state, assignor, coordinator and members with their partitions.

        Raises:
            GroupNotFoundError: the group does not exist.
        """
        return await _admin_groups.describe_group(self._requests, group)

    @_guarded
    async def delete_group(self, group: str) -> None:
        """Delete a consumer group and its committed offsets.

        Raises:
            GroupNotFoundError: the group does not exist.
            KafkaBrokerError: the group still has members (`NON_EMPTY_GROUP`).
        """
        await _admin_groups.delete_group(self._requests, group)
        logger.info("deleted consumer group %s", group)

    @_guarded
    async def lag(
        self, group: str, topics: Iterable[str] | None = None
    ) -> list[PartitionLag]:
        """How far `group` trails the end of each partition.

        The lag of a partition is the number of records from the committed offset
        to the high watermark; records already deleted (below the low watermark)
        do not count, and with nothing committed every stored record counts.

        Args:
            group: the consumer group.
            topics: the topics to report (a single name is accepted too); by
                default every topic the group has committed offsets for. Every
                partition of each topic is reported, those without a committed
                offset too.

        Returns:
            One `PartitionLag` per partition, sorted by topic and partition; empty
            for a group that has committed nothing (or does not exist).

        Raises:
            UnknownTopicError: one of `topics` does not exist.
        """
        if isinstance(topics, str):
            topics = [topics]  # a lone name, not an iterable of one-letter topics
        return await _admin_groups.lag(self._requests, group, topics)

    @_guarded
    async def reset_offsets(
        self,
        group: str,
        topic: str,
        to: ResetTarget,
        *,
        partitions: Iterable[int] | None = None,
        dry_run: bool = True,
    ) -> list[OffsetReset]:
        """Plan, and unless `dry_run`, apply a move of a group's committed offsets.

        ```python
        plan = await admin.reset_offsets("billing", "orders", Shift(-100))
        await admin.reset_offsets("billing", "orders", "earliest", dry_run=False)
        ```

        Args:
            group: the consumer group.
            topic: the topic whose offsets move.
            to: `"earliest"`, `"latest"`, an offset, a `datetime` (the first
                record at or after it, or the high watermark when there is none;
                a naive datetime is local time) or `Shift(n)` (from the committed
                offset, or from the low watermark when nothing is committed).
                Every new offset is clamped to the partition's low and high
                watermarks.
            partitions: the partitions to move; all of the topic's by default.
            dry_run: only compute the plan (the default); False applies it.

        Returns:
            Per partition, sorted, the committed offset before and the new one.

        Raises:
            ConfigurationError: `to` is not a valid target.
            UnknownTopicError: the topic or one of `partitions` does not exist.
            KafkaBrokerError: not applied because the group has active members
                (code `NON_EMPTY_GROUP`): stop its consumers first.
        """
        plan = await _admin_groups.plan_offset_reset(
            self._requests, group, topic, to, partitions
        )
        if dry_run:
            return plan

        await _admin_groups.apply_offset_reset(self._requests, group, topic, plan)
        logger.info(
            "reset offsets of group %s on topic %s: %s",
            group,
            topic,
            ", ".join(
                f"[{row.partition}] {row.current_offset} -> {row.new_offset}"
                for row in plan
            ),
        )
        return plan

    @contextlib.asynccontextmanager
    async def _in_use(self) -> AsyncIterator[None]:
        """Refuse work unless started, and let `close()` wait for this work."""
        require_started(self._state, "AsyncAdmin")
        self._in_flight += 1
        self._idle.clear()
        try:
            yield
        finally:
            self._in_flight -= 1
            if self._in_flight == 0:
                self._idle.set()
