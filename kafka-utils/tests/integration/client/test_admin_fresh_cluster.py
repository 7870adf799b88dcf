"""AsyncAdmin's group requests on a cluster that has never seen a consumer group.

Until the first group request, Kafka has no __consumer_offsets topic and answers
NOT_COORDINATOR. librdkafka crashes the whole process when ListConsumerGroupOffsets
gets that answer (librdkafka#5040), so these tests start their own empty broker.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kafka_utils.broker import LocalCluster
from kafka_utils.client.admin import AsyncAdmin
from kafka_utils.errors import LocalBrokerError
from kafka_utils.settings import KafkaSettings

# Apart from the plugin's brokers (19192, 19292-19294) and their controllers, and
# below Linux's ephemeral range (32768 and up) like every port the tests bind.
FRESH_PORT = 19392


@pytest.fixture(scope="module")
def fresh_bootstrap() -> Iterator[str]:
    cluster = LocalCluster(nodes=1, port=FRESH_PORT)
    try:
        bootstrap = cluster.up(timeout=120)
    except LocalBrokerError as error:
        pytest.skip(f"cannot start a local broker: {error}")
    try:
        yield bootstrap
    finally:
        cluster.down()


async def test_lag_and_reset_plan_work_before_any_group_exists(
    fresh_bootstrap: str, topic_name: str
) -> None:
    settings = KafkaSettings(bootstrap_servers=fresh_bootstrap)
    async with AsyncAdmin(settings) as admin:
        assert await admin.lag("first-group") == []

        await admin.create_topic(topic_name, partitions=2)
        plan = await admin.reset_offsets("second-group", topic_name, "latest")
        assert [(row.current_offset, row.new_offset) for row in plan] == [
            (None, 0),
            (None, 0),
        ]
