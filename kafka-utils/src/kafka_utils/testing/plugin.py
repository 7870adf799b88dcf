"""The kafka-utils pytest plugin: a real Kafka broker and fresh topic names.

Installing the package registers the plugin (entry point `pytest11`), so another
project only needs:

```
pip install async-kafka-utils        # Java 17+ and, the first time, Maven
```

and its tests can ask for the fixtures, with no conftest.py:

```python
def test_orders_are_counted(kafka_bootstrap: str, topic_name: str) -> None:
    create_topic(kafka_bootstrap, topic_name)  # with the admin client you use
    ...
```

Fixtures:
    kafka_bootstrap (session): bootstrap servers of a one-node broker. It is
        started on the first request (about 4 s; the very first run also downloads
        Kafka), shared with other pytest processes (pytest-xdist workers, a second
        terminal) and stopped when the last of them finishes, unless it was already
        running when the session began.
    kafka_cluster_bootstrap (session): the same for a three-node cluster, started
        only when a test requests it.
    kafka_settings: `KafkaSettings(bootstrap_servers=kafka_bootstrap)`.
    topic_name: a unique topic name for the test, `test-<test>-<8 hex>`; the test
        creates the topic itself.
    make_topic_name: a factory for tests needing several topics:
        `make_topic_name("orders")` gives `test-<test>-orders-<8 hex>`.

Environment variables:
    KAFKA_UTILS_BOOTSTRAP: use this external broker instead of starting one; it is
        never stopped by the plugin.
    KAFKA_UTILS_CLUSTER_BOOTSTRAP: likewise for the three-node cluster.
    KAFKA_UTILS_TEST_PORT: port of the test broker (default 19192, so it never
        collides with a developer's broker on 9092).
    KAFKA_UTILS_TEST_CLUSTER_PORT: first port of the test cluster (default 19292).
    KAFKA_UTILS_CACHE_DIR, KAFKA_UTILS_STATE_DIR, JAVA_HOME: see
        `kafka_utils.broker`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import ExitStack
from typing import TYPE_CHECKING

import pytest

from kafka_utils.broker import LocalCluster
from kafka_utils.errors import KafkaUtilsError
from kafka_utils.testing._environment import (
    DEFAULT_TEST_CLUSTER_PORT,
    DEFAULT_TEST_PORT,
    ENV_BOOTSTRAP,
    ENV_CLUSTER_BOOTSTRAP,
    ENV_TEST_CLUSTER_PORT,
    ENV_TEST_PORT,
    port_from_env,
)
from kafka_utils.testing._topics import TopicNameFactory, unique_topic_name

if TYPE_CHECKING:
    from kafka_utils.settings import KafkaSettings

__all__ = [
    "kafka_bootstrap",
    "kafka_cluster_bootstrap",
    "kafka_settings",
    "make_topic_name",
    "topic_name",
]

# Generous for a loaded CI machine; the one-time download is not counted.
START_TIMEOUT_SECONDS = 120.0


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    """Bootstrap servers of a one-node Kafka, started for the session if needed."""
    yield from _bootstrap(ENV_BOOTSTRAP, ENV_TEST_PORT, DEFAULT_TEST_PORT, nodes=1)


@pytest.fixture(scope="session")
def kafka_cluster_bootstrap() -> Iterator[str]:
    """Bootstrap servers of a three-node Kafka cluster, started on first request."""
    yield from _bootstrap(
        ENV_CLUSTER_BOOTSTRAP, ENV_TEST_CLUSTER_PORT, DEFAULT_TEST_CLUSTER_PORT, nodes=3
    )


@pytest.fixture
def kafka_settings(kafka_bootstrap: str) -> KafkaSettings:
    """`KafkaSettings` pointing at the `kafka_bootstrap` broker."""
    from kafka_utils.settings import KafkaSettings

    return KafkaSettings(bootstrap_servers=kafka_bootstrap)


@pytest.fixture
def topic_name(request: pytest.FixtureRequest) -> str:
    """A fresh, unique topic name for this test (the topic is not created)."""
    return unique_topic_name(request.node.name)


@pytest.fixture
def make_topic_name(request: pytest.FixtureRequest) -> TopicNameFactory:
    """A factory of fresh topic names for this test: `make_topic_name("dlq")`."""
    test_name: str = request.node.name

    def make(label: str = "") -> str:
        return unique_topic_name(test_name, label)

    return make


def _bootstrap(
    external_variable: str, port_variable: str, default_port: int, *, nodes: int
) -> Iterator[str]:
    """Yield an external cluster's bootstrap, or start/join a local one."""
    external = os.environ.get(external_variable, "").strip()
    if external:
        yield external
        return

    with ExitStack() as stack:
        # A missing Java or a taken port fails the tests that need Kafka with one
        # readable line instead of a traceback through the fixture machinery.
        try:
            port = port_from_env(port_variable, default_port)
            cluster = LocalCluster(nodes=nodes, port=port)
            bootstrap = stack.enter_context(cluster.shared(START_TIMEOUT_SECONDS))
        except KafkaUtilsError as error:
            pytest.fail(
                f"could not start the local Kafka ({nodes} node(s)): {error}; set "
                f"{external_variable} to use a running broker instead",
                pytrace=False,
            )
        yield bootstrap
