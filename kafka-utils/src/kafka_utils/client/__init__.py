"""The core: asyncio clients on librdkafka (producer, consumer, admin)."""

from kafka_utils.client._lifecycle import ClientState
from kafka_utils.client.consumer import AsyncConsumer, RebalanceCallback
from kafka_utils.client.producer import AsyncProducer, ProducerRecord

__all__ = [
    "AsyncConsumer",
    "AsyncProducer",
    "ClientState",
    "ProducerRecord",
    "RebalanceCallback",
]
