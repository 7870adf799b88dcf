from __future__ import annotations

import kafka_utils

EXPECTED = {
    # clients
    "AsyncAdmin",
    "AsyncConsumer",
    "AsyncProducer",
    "ClientState",
    "ProducerRecord",
    "RebalanceCallback",
    # records
    "ConsumerRecord",
    "GroupInfo",
    "GroupListing",
    "GroupMember",
    "Headers",
    "OffsetReset",
    "PartitionInfo",
    "PartitionLag",
    "RecordMetadata",
    "ResetTarget",
    "Shift",
    "TopicInfo",
    "TopicPartition",
    # settings and serialization
    "KafkaSettings",
    "BytesSerializer",
    "JsonSerializer",
    "PydanticSerializer",
    "Serializer",
    "StringSerializer",
    # errors
    "AuthenticationError",
    "AuthorizationError",
    "BrokerStartError",
    "BrokerUnavailableError",
    "ClientClosedError",
    "ConfigurationError",
    "DeliveryError",
    "GroupNotFoundError",
    "JavaNotFoundError",
    "KafkaBrokerError",
    "KafkaTimeoutError",
    "KafkaUtilsError",
    "LocalBrokerError",
    "MavenNotFoundError",
    "PortInUseError",
    "ProvisioningError",
    "RecordTooLargeError",
    "SerializationError",
    "TopicAlreadyExistsError",
    "TransactionError",
    "UnknownTopicError",
    "__version__",
}


def test_all_lists_exactly_the_public_names() -> None:
    assert set(kafka_utils.__all__) == EXPECTED


def test_every_exported_name_exists() -> None:
    missing = [name for name in kafka_utils.__all__ if not hasattr(kafka_utils, name)]
    assert missing == []


def test_every_error_derives_from_the_root() -> None:
    errors = [
        getattr(kafka_utils, name)
        for name in kafka_utils.__all__
        if name.endswith("Error")
    ]
    assert errors
    assert all(issubclass(error, kafka_utils.KafkaUtilsError) for error in errors)
