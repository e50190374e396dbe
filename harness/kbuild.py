"""Building kernels from the work tree: KUnit through kunit.py, the boot kernel with make.

Build directories live in the cache (never in the repository or the work
tree), compilers run through ccache, and builds are incremental: a kernel is
reconfigured only when its Kconfig fragment changes.
"""

import hashlib
import os
import re
import shutil
import subprocess
from pathlib import Path

from common import CACHE, JOBS, REPO, Failure, log, run

CONFIGS = REPO / "harness" / "configs"
KUNITCONFIG = "drivers/base/test"      # in the work tree: the driver core's .kunitconfig


def ccache_env():
    d = CACHE / "ccache"
    d.mkdir(parents=True, exist_ok=True)
    env = {"CCACHE_DIR": str(d), "CCACHE_MAXSIZE": "8G",
           # the same sources in another clone still hit the cache
           "CCACHE_BASEDIR": str(CACHE), "CCACHE_NOHASHDIR": "1"}
    return env


def make_args(tree, build):
    cc = "ccache gcc" if shutil.which("ccache") else "gcc"
    return ["make", "-C", str(tree), f"O={build}", "ARCH=x86_64", f"-j{JOBS}", f"CC={cc}"]


def fragment_lines(*names):
    lines = []
    for name in names:
        for line in (CONFIGS / name).read_text().splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                lines.append(line)
    return lines


def check_config(build, lines):
    have = set((Path(build) / ".config").read_text().splitlines())
    missing = [l for l in lines
               if l not in have and not (l.endswith("=n") and
                                         f"# {l[:-2]} is not set" in have)]
    if missing:
        raise Failure("the kernel configuration lost these options (renamed, or a "
                      "dependency is missing):\n  " + "\n  ".join(missing))


def build_kernel(tree, name, fragments):
    """Build bzImage for the config made of @fragments; return the build dir."""
    build = CACHE / "build" / name
    build.mkdir(parents=True, exist_ok=True)
    lines = fragment_lines(*fragments)
    digest = hashlib.sha256("\n".join(lines).encode()).hexdigest()
    stamp = build / ".isolation-config"
    env = ccache_env()
    if not stamp.is_file() or stamp.read_text() != digest or not (build / ".config").is_file():
        log(f"configuring the {name} kernel in {build}")
        (build / ".config").write_text("\n".join(lines) + "\n")
        run(make_args(tree, build) + ["olddefconfig"], env=env, quiet=True)
        check_config(build, lines)
        stamp.write_text(digest)
    log(f"building the {name} kernel (incremental; a first build takes 5 to 10 minutes)")
    run(make_args(tree, build) + ["bzImage"], env=env, quiet=True)
    check_config(build, lines)
    return build


def kunit(tree, extra=()):
    """Run the driver core's KUnit suites, ours among them, under QEMU."""
    build = CACHE / "build" / "kunit"
    build.parent.mkdir(parents=True, exist_ok=True)   # kunit.py makes only the last part
    cmd = ["python3", "tools/testing/kunit/kunit.py", "run", "--arch=x86_64",
           f"--kunitconfig={KUNITCONFIG}", f"--build_dir={build}", f"--jobs={JOBS}",
           "--timeout=300"]
    if shutil.which("ccache"):
        cmd.append("--make_options=CC=ccache gcc")
    cmd += list(extra)
    log("KUnit: " + " ".join(cmd[1:]))
    r = subprocess.run(cmd, cwd=tree, env=dict(os.environ, **ccache_env()))
    return r.returncode == 0
