"""Consumer-group requests of `AsyncAdmin`: listing, lag and offset resets."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import confluent_kafka
from confluent_kafka.admin import OffsetSpec  # type: ignore[attr-defined]

from kafka_utils._records import (
    GroupInfo,
    GroupListing,
    GroupMember,
    OffsetReset,
    PartitionLag,
    ResetTarget,
    TopicPartition,
)
from kafka_utils.client._admin_requests import (
    AdminRequests,
    both,
    enum_name,
    raise_partition_errors,
)
from kafka_utils.client._admin_topics import partition_counts
from kafka_utils.client._offsets_plan import (
    Watermarks,
    check_target,
    compute_lag,
    plan_resets,
    timestamp_ms,
)
from kafka_utils.errors import (
    GroupNotFoundError,
    KafkaBrokerError,
    UnknownTopicError,
    translate_kafka_error,
)

__all__ = [
    "delete_group",
    "describe_group",
    "lag",
    "list_groups",
    "plan_offset_reset",
    "apply_offset_reset",
]

logger = logging.getLogger(__name__)

# confluent-kafka leaves these two class methods unannotated.
_EARLIEST: Any = OffsetSpec.earliest()  # type: ignore[no-untyped-call]
_LATEST: Any = OffsetSpec.latest()  # type: ignore[no-untyped-call]


async def list_groups(requests: AdminRequests) -> list[GroupListing]:
    """Every consumer group with its state and type, sorted by id."""
    result = await requests.run_group(
        "list consumer groups",
        lambda: requests.native.list_consumer_groups(request_timeout=requests.timeout),
    )

    # Each broker answers for the groups it coordinates; one failing broker
    # leaves a partial list, which is still worth returning.
    if result.errors and not result.valid:
        raise translate_kafka_error(result.errors[0], context="list consumer groups")
    for error in result.errors or []:
        logger.warning("list consumer groups: a broker did not answer: %s", error)

    listings = [
        GroupListing(
            listing.group_id,
            enum_name(getattr(listing, "state", None)),
            enum_name(getattr(listing, "type", None)),
        )
        for listing in result.valid or []
    ]
    return sorted(listings, key=lambda listing: listing.group_id)


async def describe_group(
    requests: AdminRequests, group: str, *, missing_ok: bool = False
) -> GroupInfo:
    """Describe a group; unless `missing_ok`, a DEAD group raises GroupNotFoundError."""
    description = await requests.run_group(
        f"describe consumer group {group!r}",
        lambda: requests.native.describe_consumer_groups(
            [group], request_timeout=requests.timeout
        )[group],
    )

    # The broker describes a group it does not know as DEAD rather than failing.
    state = enum_name(getattr(description, "state", None))
    if state == "DEAD" and not missing_ok:
        raise GroupNotFoundError(f"consumer group {group!r} does not exist")

    members = tuple(
        GroupMember(
            member.member_id,
            member.client_id,
            member.host,
            member.group_instance_id,
            tuple(
                sorted(
                    TopicPartition(tp.topic, tp.partition)
                    for tp in member.assignment.topic_partitions
                )
            ),
        )
        for member in sorted(description.members, key=lambda m: m.member_id)
    )
    coordinator = description.coordinator
    return GroupInfo(
        group_id=description.group_id,
        state=state,
        type=enum_name(getattr(description, "type", None)),
        assignor=description.partition_assignor or "",
        members=members,
        coordinator=coordinator.id if coordinator is not None else None,
    )


async def delete_group(requests: AdminRequests, group: str) -> None:
    """Delete a group and its committed offsets."""
    await requests.run_group(
        f"delete consumer group {group!r}",
        lambda: requests.native.delete_consumer_groups(
            [group], request_timeout=requests.timeout
        )[group],
    )


async def lag(
    requests: AdminRequests, group: str, topics: Iterable[str] | None
) -> list[PartitionLag]:
    """The lag of every partition of the group's topics, or of `topics`."""
    # Without topics, the committed offsets say which topics to report; a topic
    # deleted since the group committed to it is left out.
    if topics is None:
        all_committed = await _committed(requests, group)
        topic_names = sorted({tp.topic for tp in all_committed})
    else:
        topic_names = sorted(set(topics))
    counts = await partition_counts(requests, topic_names, skip_missing=topics is None)

    partitions = [
        TopicPartition(topic, partition)
        for topic, count in sorted(counts.items())
        for partition in range(count)
    ]
    if not partitions:
        return []

    committed, watermarks = await both(
        _committed(requests, group, partitions), _watermarks(requests, partitions)
    )
    return [
        compute_lag(tp.topic, tp.partition, committed.get(tp), watermarks[tp])
        for tp in partitions
    ]


async def plan_offset_reset(
    requests: AdminRequests,
    group: str,
    topic: str,
    to: ResetTarget,
    partitions: Iterable[int] | None,
) -> list[OffsetReset]:
    """Plan an offset reset from the committed offsets and the watermarks."""
    target = check_target(to)
    count = (await partition_counts(requests, [topic]))[topic]
    chosen = sorted(set(range(count) if partitions is None else partitions))
    unknown = [partition for partition in chosen if not 0 <= partition < count]
    if unknown:
        raise UnknownTopicError(
            f"topic {topic!r} has {count} partitions: there is no partition "
            f"{unknown[0]}"
        )

    tps = [TopicPartition(topic, partition) for partition in chosen]
    committed, watermarks = await both(
        _committed(requests, group, tps), _watermarks(requests, tps)
    )

    timestamp_offsets: dict[int, int] = {}
    if isinstance(target, datetime):
        spec = OffsetSpec.for_timestamp(timestamp_ms(target))
        found = await _list_offsets(requests, tps, spec)
        timestamp_offsets = {tp.partition: offset for tp, offset in found.items()}

    return plan_resets(
        topic,
        target,
        {tp.partition: offset for tp, offset in committed.items()},
        {tp.partition: marks for tp, marks in watermarks.items()},
        timestamp_offsets,
    )


async def apply_offset_reset(
    requests: AdminRequests, group: str, topic: str, plan: list[OffsetReset]
) -> None:
    """Commit a plan's offsets for a group that has no active member."""
    # The coordinator refuses offsets from outside the group's generation with a
    # bare UNKNOWN_MEMBER_ID per partition; checking first explains why.
    info = await describe_group(requests, group, missing_ok=True)
    if info.members:
        clients = ", ".join(sorted({member.client_id for member in info.members}))
        raise KafkaBrokerError(
            f"cannot reset offsets of consumer group {group!r}: it has "
            f"{len(info.members)} active member(s) (client ids: {clients}); stop "
            "its consumers first",
            code="NON_EMPTY_GROUP",
        )

    request = confluent_kafka.ConsumerGroupTopicPartitions(
        group,
        [
            confluent_kafka.TopicPartition(topic, row.partition, row.new_offset)
            for row in plan
        ],
    )
    context = f"reset offsets of consumer group {group!r} on topic {topic!r}"
    result = await requests.run_group(
        context,
        lambda: requests.native.alter_consumer_group_offsets(
            [request], request_timeout=requests.timeout
        )[group],
    )
    raise_partition_errors(result.topic_partitions, context)


async def _committed(
    requests: AdminRequests, group: str, partitions: list[TopicPartition] | None = None
) -> dict[TopicPartition, int | None]:
    """The group's committed offsets: every one, or those of `partitions`."""
    # librdkafka (2.16 included) crashes the process with a NULL dereference when
    # ListConsumerGroupOffsets is answered NOT_COORDINATOR, as on a fresh cluster
    # before __consumer_offsets exists (librdkafka#5040). Describing the group
    # first waits, through run_group's retries, until its coordinator is ready.
    await describe_group(requests, group, missing_ok=True)

    native = None
    if partitions is not None:
        native = [
            confluent_kafka.TopicPartition(tp.topic, tp.partition) for tp in partitions
        ]
    request = confluent_kafka.ConsumerGroupTopicPartitions(group, native)
    context = f"fetch committed offsets of consumer group {group!r}"
    result = await requests.run_group(
        context,
        lambda: requests.native.list_consumer_group_offsets(
            [request], request_timeout=requests.timeout
        )[group],
    )
    raise_partition_errors(result.topic_partitions, context)

    # A negative offset (OFFSET_INVALID) means nothing is committed.
    committed: dict[TopicPartition, int | None] = {}
    for tp in result.topic_partitions or []:
        offset = tp.offset if tp.offset >= 0 else None
        if partitions is not None or offset is not None:
            committed[TopicPartition(tp.topic, tp.partition)] = offset
    return committed


async def _watermarks(
    requests: AdminRequests, partitions: list[TopicPartition]
) -> dict[TopicPartition, Watermarks]:
    """Low and high watermarks of `partitions`, from two ListOffsets requests."""
    low, high = await both(
        _list_offsets(requests, partitions, _EARLIEST),
        _list_offsets(requests, partitions, _LATEST),
    )
    return {tp: Watermarks(low[tp], high[tp]) for tp in partitions}


async def _list_offsets(
    requests: AdminRequests, partitions: list[TopicPartition], spec: Any
) -> dict[TopicPartition, int]:
    """One offset per partition for an `OffsetSpec` (earliest, latest, a time)."""
    request = {
        confluent_kafka.TopicPartition(tp.topic, tp.partition): spec
        for tp in partitions
    }
    topics = ", ".join(sorted({repr(tp.topic) for tp in partitions}))
    results = await requests.run_each_on_leaders(
        f"list offsets of topic {topics}",
        lambda: requests.native.list_offsets(request, request_timeout=requests.timeout),
    )
    return {
        TopicPartition(tp.topic, tp.partition): info.offset
        for tp, info in results.items()
    }
