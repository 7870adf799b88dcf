"""The core: asyncio clients on librdkafka (producer, consumer, admin)."""

from kafka_utils._records import (
    GroupInfo,
    GroupListing,
    GroupMember,
    OffsetReset,
    ResetTarget,
    Shift,
)
from kafka_utils.client._lifecycle import ClientState
from kafka_utils.client.admin import AsyncAdmin
from kafka_utils.client.consumer import AsyncConsumer, RebalanceCallback
from kafka_utils.client.producer import AsyncProducer, ProducerRecord

__all__ = [
    "AsyncAdmin",
    "AsyncConsumer",
    "AsyncProducer",
    "ClientState",
    "GroupInfo",
    "GroupListing",
    "GroupMember",
    "OffsetReset",
    "ProducerRecord",
    "RebalanceCallback",
    "ResetTarget",
    "Shift",
]
