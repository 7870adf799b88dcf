"""Unique, valid topic names for tests."""

from __future__ import annotations

import re
import uuid
from typing import Protocol

__all__ = ["MAX_TOPIC_LENGTH", "TopicNameFactory", "unique_topic_name"]

# Kafka's Topic.validate: at most 249 characters of [a-zA-Z0-9._-].
MAX_TOPIC_LENGTH = 249

# "." is valid but avoided: Kafka rejects a topic whose name differs from an existing
# one only by "." versus "_" (they collide in metric names).
_INVALID_RUN = re.compile(r"[^a-zA-Z0-9_-]+")


class TopicNameFactory(Protocol):
    """The `make_topic_name` fixture: call it for each topic a test needs."""

    def __call__(self, label: str = "") -> str:
        """Return a new unique topic name, with `label` in it when given."""
        ...


def unique_topic_name(test_name: str, label: str = "") -> str:
    """Return `test-<test name>[-<label>]-<8 hex digits>`, a fresh valid topic name.

    Characters Kafka does not allow in topic names (brackets and slashes of
    parametrized test ids, dots) become "-", and the name is shortened to Kafka's
    limit of 249 characters while keeping the random suffix.

    Args:
        test_name: the test's name, e.g. `request.node.name`; a leading `test_` is
            dropped since every name starts with `test-`.
        label: an optional word telling several topics of one test apart.
    """
    words = [_sanitize(test_name.removeprefix("test_")), _sanitize(label)]
    stem = "-".join(["test", *(word for word in words if word)])
    token = uuid.uuid4().hex[:8]
    stem = stem[: MAX_TOPIC_LENGTH - len(token) - 1].rstrip("-")
    return f"{stem}-{token}"


def _sanitize(text: str) -> str:
    return _INVALID_RUN.sub("-", text).strip("-")
