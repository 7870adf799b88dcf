"""A local Apache Kafka for development and tests, without Docker.

Kafka's jars are fetched once from Maven Central into a cache (`provision`), and
`LocalCluster` runs one or three KRaft nodes as detached JVMs on 127.0.0.1:

```python
from kafka_utils.broker import LocalCluster

cluster = LocalCluster(nodes=1, port=9092)
bootstrap = cluster.up()  # "127.0.0.1:9092"; returns at once if already running
print(cluster.status().running, cluster.logs(lines=20))
cluster.down()  # stops the JVMs and deletes the data
```

Environment variables:
    KAFKA_UTILS_CACHE_DIR: where Kafka's jars are cached
        (default `~/.cache/kafka-utils`).
    KAFKA_UTILS_STATE_DIR: where each cluster keeps its configuration, data and
        logs, one folder per port (default `<cache>/clusters`).
    JAVA_HOME: the Java 17+ installation to use before `java` on PATH.
"""

from __future__ import annotations

from kafka_utils.broker._cluster import (
    ClusterStatus,
    LocalCluster,
    NodeStatus,
    state_root,
)
from kafka_utils.broker._config import DEFAULT_PORT, NodePorts, layout
from kafka_utils.broker._java import MIN_JAVA_MAJOR, find_java
from kafka_utils.broker._provision import (
    KAFKA_VERSION,
    cache_root,
    is_provisioned,
    provision,
)

__all__ = [
    "DEFAULT_PORT",
    "KAFKA_VERSION",
    "MIN_JAVA_MAJOR",
    "ClusterStatus",
    "LocalCluster",
    "NodePorts",
    "NodeStatus",
    "cache_root",
    "find_java",
    "is_provisioned",
    "layout",
    "provision",
    "state_root",
]
