"""The kafka-utils error tree, and the one place where librdkafka errors are translated.

Every error the library raises derives from `KafkaUtilsError`, so a caller can catch
one class and still branch on the cases that matter to them:

```
KafkaUtilsError                    root; `retriable` says whether a retry may succeed
 +-- ConfigurationError            malformed settings or an unknown client option
 +-- ClientClosedError             the client is not started, or already closed
 +-- SerializationError            a key or value could not be (de)serialized
 +-- KafkaTimeoutError             an operation ran out of time (retriable)
 +-- BrokerUnavailableError        no broker could be reached (retriable)
 +-- UnknownTopicError             the topic or partition does not exist
 +-- TopicAlreadyExistsError       create_topic on a name that is taken
 +-- GroupNotFoundError            the consumer group does not exist
 +-- RecordTooLargeError           the record exceeds message.max.bytes
 +-- AuthenticationError           SASL / SSL handshake failed
 +-- AuthorizationError            the principal lacks an ACL
 +-- TransactionError              a transaction failed; see `abortable` and `fatal`
 +-- DeliveryError                 records sent with `produce()` were not delivered
 +-- KafkaBrokerError              any other error the client or broker reported
 +-- LocalBrokerError              the local broker of `kafka_utils.broker`
      +-- JavaNotFoundError, MavenNotFoundError, ProvisioningError,
          PortInUseError, BrokerStartError
```

librdkafka's `KafkaError` objects are translated by `translate_kafka_error`, and only
there; the client code never builds these classes from error codes itself.
"""

from __future__ import annotations

from typing import Any

__all__ = [
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
    "translate_kafka_error",
]


class KafkaUtilsError(Exception):
    """Root of every error raised by kafka-utils.

    Attributes:
        retriable: True when the same operation may succeed if tried again later
            (a timeout, a leader election, a broker that is restarting).
        code: librdkafka's symbolic error name (for example `_MSG_TIMED_OUT`) when the
            error came from librdkafka, else None.
    """

    retriable: bool = False

    def __init__(
        self, message: str, *, retriable: bool | None = None, code: str | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        if retriable is not None:
            self.retriable = retriable

    def __str__(self) -> str:
        return self.message


class ConfigurationError(KafkaUtilsError, ValueError):
    """Raised when settings or client options are malformed or unknown."""


class ClientClosedError(KafkaUtilsError):
    """Raised when a client is used before `start()` or after `close()`."""


class SerializationError(KafkaUtilsError):
    """Raised when a key or value cannot be serialized or deserialized.

    On the consumer side `topic`, `partition` and `offset` locate the record that
    failed, so it can be skipped or sent to a dead-letter topic deliberately.
    """

    def __init__(
        self,
        message: str,
        *,
        topic: str | None = None,
        partition: int | None = None,
        offset: int | None = None,
    ) -> None:
        super().__init__(message)
        self.topic = topic
        self.partition = partition
        self.offset = offset


class KafkaTimeoutError(KafkaUtilsError, TimeoutError):
    """Raised when an operation does not finish within its timeout."""

    retriable = True


class BrokerUnavailableError(KafkaUtilsError):
    """Raised when no broker of the cluster can be reached."""

    retriable = True


class UnknownTopicError(KafkaUtilsError):
    """Raised for a topic or partition that does not exist on the cluster."""


class TopicAlreadyExistsError(KafkaUtilsError):
    """Raised when creating a topic whose name is already taken."""


class GroupNotFoundError(KafkaUtilsError):
    """Raised when a consumer group does not exist."""


class RecordTooLargeError(KafkaUtilsError):
    """Raised when a record exceeds the producer's or the topic's size limit."""


class AuthenticationError(KafkaUtilsError):
    """Raised when the client cannot authenticate (SASL or SSL)."""


class AuthorizationError(KafkaUtilsError):
    """Raised when the authenticated principal lacks the ACL for an operation."""


class TransactionError(KafkaUtilsError):
    """Raised when a transactional operation fails.

    Attributes:
        abortable: the transaction must be aborted, after which the producer can
            begin a new one.
        fatal: the producer is fenced or broken and must be closed and recreated.
    """

    def __init__(
        self,
        message: str,
        *,
        retriable: bool | None = None,
        code: str | None = None,
        abortable: bool = False,
        fatal: bool = False,
    ) -> None:
        super().__init__(message, retriable=retriable, code=code)
        self.abortable = abortable
        self.fatal = fatal


class DeliveryError(KafkaUtilsError):
    """Raised by `flush()` or `close()` when fire-and-forget records failed.

    Attributes:
        failures: the translated errors of the first 100 failed records, each
            naming its topic.
        count: how many records failed in all.
    """

    def __init__(
        self, message: str, *, failures: list[KafkaUtilsError], count: int
    ) -> None:
        super().__init__(message)
        self.failures = failures
        self.count = count


class KafkaBrokerError(KafkaUtilsError):
    """Raised for any other error reported by librdkafka or the broker."""


class LocalBrokerError(KafkaUtilsError):
    """Root of the errors of the local broker managed by `kafka_utils.broker`."""


class JavaNotFoundError(LocalBrokerError):
    """Raised when no `java` (17 or newer) is on PATH or in JAVA_HOME."""


class MavenNotFoundError(LocalBrokerError):
    """Raised when `mvn` is needed to fetch Kafka and is not on PATH."""


class ProvisioningError(LocalBrokerError):
    """Raised when Kafka's jars cannot be resolved from Maven Central."""


class PortInUseError(LocalBrokerError):
    """Raised when a port the local broker needs is taken by another process."""


class BrokerStartError(LocalBrokerError):
    """Raised when the local broker exits or does not become ready in time."""


# librdkafka error names mapped to the class users catch. Names are used rather than
# numeric codes so the table reads like librdkafka's rdkafka.h error list.
_CLASS_BY_CODE_NAME: dict[str, type[KafkaUtilsError]] = {
    "_MSG_TIMED_OUT": KafkaTimeoutError,
    "_TIMED_OUT": KafkaTimeoutError,
    "_TIMED_OUT_QUEUE": KafkaTimeoutError,
    "REQUEST_TIMED_OUT": KafkaTimeoutError,
    "_TRANSPORT": BrokerUnavailableError,
    "_ALL_BROKERS_DOWN": BrokerUnavailableError,
    "_RESOLVE": BrokerUnavailableError,
    "BROKER_NOT_AVAILABLE": BrokerUnavailableError,
    "_UNKNOWN_TOPIC": UnknownTopicError,
    "UNKNOWN_TOPIC_OR_PART": UnknownTopicError,
    "_UNKNOWN_PARTITION": UnknownTopicError,
    "UNKNOWN_TOPIC_ID": UnknownTopicError,
    "TOPIC_ALREADY_EXISTS": TopicAlreadyExistsError,
    "GROUP_ID_NOT_FOUND": GroupNotFoundError,
    "_UNKNOWN_GROUP": GroupNotFoundError,
    "MSG_SIZE_TOO_LARGE": RecordTooLargeError,
    "_MSG_SIZE_TOO_LARGE": RecordTooLargeError,
    "RECORD_LIST_TOO_LARGE": RecordTooLargeError,
    "_AUTHENTICATION": AuthenticationError,
    "SASL_AUTHENTICATION_FAILED": AuthenticationError,
    "_SSL": AuthenticationError,
    "TOPIC_AUTHORIZATION_FAILED": AuthorizationError,
    "GROUP_AUTHORIZATION_FAILED": AuthorizationError,
    "CLUSTER_AUTHORIZATION_FAILED": AuthorizationError,
    "TRANSACTIONAL_ID_AUTHORIZATION_FAILED": AuthorizationError,
    "_PURGE_QUEUE": ClientClosedError,
    "_PURGE_INFLIGHT": ClientClosedError,
    "_INVALID_ARG": ConfigurationError,
    "INVALID_CONFIG": ConfigurationError,
    "INVALID_PARTITIONS": ConfigurationError,
    "INVALID_REPLICATION_FACTOR": ConfigurationError,
    "INVALID_REPLICA_ASSIGNMENT": ConfigurationError,
    "INVALID_TOPIC_EXCEPTION": ConfigurationError,
    "_KEY_SERIALIZATION": SerializationError,
    "_VALUE_SERIALIZATION": SerializationError,
    "_KEY_DESERIALIZATION": SerializationError,
    "_VALUE_DESERIALIZATION": SerializationError,
}


def translate_kafka_error(
    error: Any, *, context: str | None = None, transactional: bool = False
) -> KafkaUtilsError:
    """Turn a librdkafka error into the matching `KafkaUtilsError` subclass.

    Args:
        error: a `confluent_kafka.KafkaError`, a `confluent_kafka.KafkaException`
            wrapping one, or any other exception raised by confluent-kafka.
        context: what was being done, prefixed to the message ("send to 'orders'").
        transactional: the error came from a transactional call, so it is reported as
            a `TransactionError` carrying librdkafka's abortable and fatal flags.

    Returns:
        The translated error. Callers raise it `from None`: the message already
        carries librdkafka's reason and code, and the chained trace adds nothing.
    """
    # A KafkaException carries the KafkaError as its first argument.
    if isinstance(error, Exception) and not hasattr(error, "code"):
        inner = error.args[0] if error.args else None
        if inner is not None and hasattr(inner, "code") and hasattr(inner, "name"):
            error = inner
        else:
            prefix = f"{context}: " if context else ""
            return KafkaBrokerError(f"{prefix}{error}")

    name: str = error.name()
    reason: str = error.str() or name
    retriable = bool(error.retriable())
    prefix = f"{context}: " if context else ""
    message = f"{prefix}{reason} [{name}]"

    if transactional:
        return TransactionError(
            message,
            retriable=retriable,
            code=name,
            abortable=bool(error.txn_requires_abort()),
            fatal=bool(error.fatal()),
        )

    error_class = _CLASS_BY_CODE_NAME.get(name, KafkaBrokerError)
    if error_class is SerializationError:
        return SerializationError(message)
    # The class default wins when librdkafka does not flag the error as retriable,
    # since librdkafka marks only some timeouts as retriable.
    return error_class(message, retriable=retriable or error_class.retriable, code=name)
