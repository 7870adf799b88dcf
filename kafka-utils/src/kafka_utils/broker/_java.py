"""Finding a Java runtime recent enough to run Kafka 4."""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
from pathlib import Path

from kafka_utils.errors import JavaNotFoundError

__all__ = ["MIN_JAVA_MAJOR", "find_java", "parse_java_major"]

logger = logging.getLogger(__name__)

# Kafka 4.0 dropped Java 11 for brokers and tools: the server needs Java 17
# (kafka.apache.org/40/getting-started/compatibility).
MIN_JAVA_MAJOR = 17

# `java -version` prints e.g. `openjdk version "17.0.15" 2025-04-15` on stderr;
# Java 8 and older print `java version "1.8.0_392"`.
_VERSION_PATTERN = re.compile(r'version "(?P<version>[^"]+)"')


def parse_java_major(output: str) -> int | None:
    """Return the major version in the output of `java -version`, or None.

    Args:
        output: what `java -version` printed (it prints on stderr).

    Returns:
        The feature release number (8, 11, 17, 21, ...), or None when the output
        does not contain a recognisable version string.
    """
    match = _VERSION_PATTERN.search(output)
    if match is None:
        return None

    # "1.8.0_392" is Java 8; "17.0.15", "21", "22-ea" and "17+35" are Java 17+.
    parts = re.split(r"[._+-]", match.group("version"))
    if parts[0] == "1" and len(parts) > 1:
        parts = parts[1:]
    return int(parts[0]) if parts[0].isdigit() else None


def find_java() -> Path:
    """Return the `java` executable to run Kafka with.

    `$JAVA_HOME/bin/java` is preferred, then `java` on PATH.

    Returns:
        The path of a Java executable of version 17 or newer.

    Raises:
        JavaNotFoundError: no Java is installed, or the one found is too old.
    """
    candidates: list[Path] = []
    java_home = os.environ.get("JAVA_HOME")
    if java_home:
        candidates.append(Path(java_home) / "bin" / "java")
    on_path = shutil.which("java")
    if on_path is not None:
        candidates.append(Path(on_path))

    usable = [path for path in candidates if os.access(path, os.X_OK)]
    if not usable:
        raise JavaNotFoundError(
            f"Java {MIN_JAVA_MAJOR} or newer is needed to run Kafka and none was found "
            "in JAVA_HOME or on PATH; install a JDK (for example openjdk-17-jre)"
        )

    # JAVA_HOME wins when it is usable; an outdated JAVA_HOME is reported rather
    # than silently bypassed, since the user chose it on purpose.
    java = usable[0]
    major = _java_major(java)
    if major is None or major < MIN_JAVA_MAJOR:
        found = "an unknown version" if major is None else f"Java {major}"
        raise JavaNotFoundError(
            f"Kafka needs Java {MIN_JAVA_MAJOR} or newer, but {java} is {found}; "
            "point JAVA_HOME at a newer JDK"
        )

    logger.debug("using Java %s at %s", major, java)
    return java


def _java_major(java: Path) -> int | None:
    """Run `java -version` and parse its major version."""
    try:
        completed = subprocess.run(
            [str(java), "-version"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise JavaNotFoundError(f"could not run {java} -version: {error}") from error
    return parse_java_major(completed.stderr + completed.stdout)
