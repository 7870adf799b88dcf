"""Provisioning Apache Kafka's jars from Maven Central into a local cache.

The Apache download site and Docker are not assumed to be reachable, so Kafka is
assembled from its Maven artifacts: a small POM lists the broker, the tools and a
Log4j 2 binding, and `maven-dependency-plugin:copy-dependencies` copies the whole
runtime classpath into `<cache>/kafka-<version>/libs`. See ADR 0002.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from kafka_utils.broker._locks import file_lock
from kafka_utils.errors import ConfigurationError, MavenNotFoundError, ProvisioningError

__all__ = [
    "KAFKA_VERSION",
    "cache_root",
    "is_provisioned",
    "kafka_home",
    "provision",
    "render_pom",
]

logger = logging.getLogger(__name__)

KAFKA_VERSION = "4.4.0"
"""The Kafka release run by default: the newest 4.x on Maven Central."""

SCALA_VERSION = "2.13"

# Kafka 4.x logs through SLF4J 1.7, hence log4j-slf4j-impl and not the slf4j2 one.
LOG4J_VERSION = "2.24.3"

DEPENDENCY_PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:3.8.1"

# Generous: a cold Maven repository downloads about 90 jars (roughly 100 MB).
MAVEN_TIMEOUT_SECONDS = 900.0

_SUPPORTED_VERSION = re.compile(r"4\.\d+\.\d+")

_POM_TEMPLATE = """\
<?xml version="1.0" encoding="UTF-8"?>
<!-- Written by kafka-utils: the runtime classpath of Apache Kafka {version}. -->
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>kafka-utils.local</groupId>
  <artifactId>kafka-runtime</artifactId>
  <version>{version}</version>
  <packaging>pom</packaging>
  <dependencies>
{dependencies}
  </dependencies>
</project>
"""

_DEPENDENCY_TEMPLATE = """\
    <dependency>
      <groupId>{group}</groupId>
      <artifactId>{artifact}</artifactId>
      <version>{version}</version>
    </dependency>"""


def cache_root() -> Path:
    """Return the cache folder: `$KAFKA_UTILS_CACHE_DIR` or `~/.cache/kafka-utils`."""
    configured = os.environ.get("KAFKA_UTILS_CACHE_DIR")
    if configured:
        return Path(configured).expanduser()
    return Path.home() / ".cache" / "kafka-utils"


def kafka_home(version: str = KAFKA_VERSION) -> Path:
    """Return the cache folder of one Kafka version (its POM and `libs/`)."""
    return cache_root() / f"kafka-{version}"


def is_provisioned(version: str = KAFKA_VERSION) -> bool:
    """True when Kafka `version` is in the cache, so `provision` returns at once."""
    return _is_complete(kafka_home(version) / "libs", version)


def render_pom(version: str = KAFKA_VERSION) -> str:
    """Return the POM whose runtime dependencies are Kafka's classpath.

    Args:
        version: the Kafka release, for example "4.4.0".
    """
    coordinates = [
        ("org.apache.kafka", f"kafka_{SCALA_VERSION}", version),
        ("org.apache.kafka", "kafka-tools", version),
        ("org.apache.logging.log4j", "log4j-api", LOG4J_VERSION),
        ("org.apache.logging.log4j", "log4j-core", LOG4J_VERSION),
        ("org.apache.logging.log4j", "log4j-slf4j-impl", LOG4J_VERSION),
    ]
    dependencies = "\n".join(
        _DEPENDENCY_TEMPLATE.format(group=group, artifact=artifact, version=release)
        for group, artifact, release in coordinates
    )
    return _POM_TEMPLATE.format(version=version, dependencies=dependencies)


def provision(version: str = KAFKA_VERSION) -> Path:
    """Make sure Kafka's jars are in the local cache and return their folder.

    The first call resolves the jars with Maven (about 25 seconds from a cold Maven
    repository); later calls return at once. The jars are copied into a temporary
    folder renamed into place when complete, under a file lock, so an interrupted
    download is redone and concurrent callers wait for one another.

    Args:
        version: the Kafka release; only 4.x releases are supported.

    Returns:
        The `libs` folder, to be used as the classpath `libs/*`.

    Raises:
        ConfigurationError: `version` is not a Kafka 4.x release number.
        MavenNotFoundError: the jars are not cached and `mvn` is not on PATH.
        ProvisioningError: Maven failed; the message ends with its last lines.
    """
    if not _SUPPORTED_VERSION.fullmatch(version):
        raise ConfigurationError(
            f"Kafka version {version!r} is not supported: use a 4.x release "
            f"such as {KAFKA_VERSION}"
        )

    home = kafka_home(version)
    libs = home / "libs"
    if _is_complete(libs, version):
        return libs

    lock = home.parent / f"kafka-{version}.lock"
    with file_lock(lock, waiting_message=f"waiting for Kafka {version} download"):
        # Another process may have finished the download while we waited.
        if _is_complete(libs, version):
            return libs

        mvn = shutil.which("mvn")
        if mvn is None:
            raise MavenNotFoundError(
                f"Kafka {version} is not in {home} yet and `mvn` is not on PATH; "
                "install Maven (for example the `maven` package) to download it"
            )

        _resolve(Path(mvn), home, libs, version)
    return libs


def _is_complete(libs: Path, version: str) -> bool:
    """True when `libs` was renamed into place and holds the broker jar."""
    return (libs / f"kafka_{SCALA_VERSION}-{version}.jar").is_file()


def _resolve(mvn: Path, home: Path, libs: Path, version: str) -> None:
    """Run Maven into a temporary folder, then rename it to `libs`."""
    home.mkdir(parents=True, exist_ok=True)
    pom = home / "pom.xml"
    pom.write_text(render_pom(version), encoding="utf-8")

    # Leftovers of an interrupted download are incomplete by construction.
    for leftover in home.glob("libs.partial-*"):
        shutil.rmtree(leftover, ignore_errors=True)
    if libs.exists():
        shutil.rmtree(libs)

    partial = Path(tempfile.mkdtemp(prefix="libs.partial-", dir=home))
    command = [
        str(mvn),
        "-q",
        "-B",
        "-f",
        str(pom),
        f"{DEPENDENCY_PLUGIN}:copy-dependencies",
        "-DincludeScope=runtime",
        f"-DoutputDirectory={partial}",
    ]
    logger.info("provisioning Kafka %s from Maven Central into %s", version, libs)
    started = time.monotonic()
    try:
        completed = subprocess.run(
            command,
            cwd=home,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=MAVEN_TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired as error:
        shutil.rmtree(partial, ignore_errors=True)
        raise ProvisioningError(
            f"Maven did not resolve Kafka {version} within "
            f"{MAVEN_TIMEOUT_SECONDS:.0f} s; check the network and try again"
        ) from error

    if completed.returncode != 0 or not _is_complete(partial, version):
        shutil.rmtree(partial, ignore_errors=True)
        raise ProvisioningError(
            f"could not resolve Kafka {version} from Maven Central "
            f"(mvn exited with {completed.returncode}); its last lines:\n"
            + _last_lines(completed.stdout, 15)
        )

    os.rename(partial, libs)
    jars = sum(1 for _ in libs.glob("*.jar"))
    logger.info(
        "provisioned Kafka %s: %d jars in %.1f s",
        version,
        jars,
        time.monotonic() - started,
    )


def _last_lines(output: str, count: int) -> str:
    """The last `count` non-blank lines of `output`, indented."""
    lines = [line for line in output.splitlines() if line.strip()]
    if not lines:
        return "  (no output)"
    return "\n".join(f"  {line}" for line in lines[-count:])
