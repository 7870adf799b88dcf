"""Build hook: compile `kafka_utils._speedups` when a C compiler is present.

The extension is optional. Without a compiler (or Python headers) the build goes
on, pure Python: the consumer's record view and the producer's delivery path then
run their Python versions, which behave the same and are slower (ADR 0008 and
0009). The compiled module is written next to its source, so an editable install
(`uv sync`) imports it from `src/`; a wheel packs it and is tagged for this
interpreter and platform.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sysconfig
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

SOURCE = Path("src/kafka_utils/_speedups.c")


def compile_speedups(root: Path) -> Path:
    """Compile the extension in place and return its path.

    Raises:
        OSError, subprocess.CalledProcessError: no compiler, or it failed.
    """
    source = root / SOURCE
    target = source.with_name("_speedups" + sysconfig.get_config_var("EXT_SUFFIX"))
    compiler = os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc"
    command = [
        *shlex.split(compiler),
        "-shared",
        "-fPIC",
        "-O2",
        "-Wall",
        "-Werror=implicit-function-declaration",
        f"-I{sysconfig.get_paths()['include']}",
        str(source),
        "-o",
        str(target),
    ]
    if shutil.which(command[0]) is None:
        raise OSError(f"no C compiler found ({command[0]})")
    subprocess.run(command, check=True, capture_output=True, text=True)
    return target


class SpeedupsBuildHook(BuildHookInterface):
    """Compiles the per-record hot paths; falls back to pure Python when it cannot."""

    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        """Compile before hatchling collects the wheel's files."""
        if self.target_name != "wheel":
            return
        try:
            target = compile_speedups(Path(self.root))
        except (OSError, subprocess.CalledProcessError) as error:
            detail = getattr(error, "stderr", "") or str(error)
            self.app.display_warning(
                f"kafka_utils._speedups not compiled, using pure Python: {detail}"
            )
            return

        if version == "editable":
            return
        build_data["pure_python"] = False
        build_data["infer_tag"] = True
        build_data["force_include"][str(target)] = f"kafka_utils/{target.name}"
