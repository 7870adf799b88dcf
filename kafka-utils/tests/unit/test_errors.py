from __future__ import annotations

import confluent_kafka
import pytest

from kafka_utils import (
    BrokerUnavailableError,
    ClientClosedError,
    ConfigurationError,
    KafkaBrokerError,
    KafkaTimeoutError,
    RecordTooLargeError,
    TransactionError,
    UnknownTopicError,
)
from kafka_utils.errors import translate_kafka_error


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (confluent_kafka.KafkaError._MSG_TIMED_OUT, KafkaTimeoutError),
        (confluent_kafka.KafkaError._TRANSPORT, BrokerUnavailableError),
        (confluent_kafka.KafkaError.UNKNOWN_TOPIC_OR_PART, UnknownTopicError),
        (confluent_kafka.KafkaError.MSG_SIZE_TOO_LARGE, RecordTooLargeError),
        (confluent_kafka.KafkaError._INVALID_ARG, ConfigurationError),
        (confluent_kafka.KafkaError._PURGE_QUEUE, ClientClosedError),
        (confluent_kafka.KafkaError.REBALANCE_IN_PROGRESS, KafkaBrokerError),
    ],
)
def test_librdkafka_codes_map_to_the_class_users_catch(
    code: int, expected: type[Exception]
) -> None:
    error = translate_kafka_error(
        confluent_kafka.KafkaError(code), context="send to 't'"
    )

    assert type(error) is expected
    assert str(error).startswith("send to 't': ")
    assert error.code == confluent_kafka.KafkaError(code).name()


def test_a_kafka_exception_is_unwrapped() -> None:
    wrapped = confluent_kafka.KafkaException(
        confluent_kafka.KafkaError(confluent_kafka.KafkaError._ALL_BROKERS_DOWN)
    )

    error = translate_kafka_error(wrapped)

    assert isinstance(error, BrokerUnavailableError)
    assert error.retriable


def test_timeouts_are_retriable_and_configuration_errors_are_not() -> None:
    timeout = translate_kafka_error(
        confluent_kafka.KafkaError(confluent_kafka.KafkaError._TIMED_OUT)
    )
    config = translate_kafka_error(
        confluent_kafka.KafkaError(confluent_kafka.KafkaError._INVALID_ARG)
    )
    assert timeout.retriable
    assert not config.retriable


def test_transactional_errors_carry_librdkafka_flags() -> None:
    raw = confluent_kafka.KafkaError(
        confluent_kafka.KafkaError._FENCED, fatal=True, txn_requires_abort=False
    )

    error = translate_kafka_error(raw, context="commit transaction", transactional=True)

    assert isinstance(error, TransactionError)
    assert error.fatal
    assert not error.abortable


def test_an_unrelated_exception_becomes_a_broker_error_with_context() -> None:
    error = translate_kafka_error(RuntimeError("boom"), context="describe")
    assert isinstance(error, KafkaBrokerError)
    assert str(error) == "describe: boom"
