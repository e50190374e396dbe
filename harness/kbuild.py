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
# In the work tree: the driver core's suites, ours among them, and the
# IOMMU core's isolation suite.
KUNIT_BUILD = CACHE / "build" / "kunit"
KUNITCONFIGS = ["drivers/base/test", "drivers/iommu/isolation.kunitconfig"]


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


def check_config(build, lines):
    """Every line of the fragments holds in .config.  "# CONFIG_X is not set"
    also holds when CONFIG_X is absent: an option whose dependency a fragment
    turns off (the KUnit suites without CONFIG_ISOLATION) leaves the file."""
    have = set((Path(build) / ".config").read_text().splitlines())
    set_options = {l.split("=", 1)[0] for l in have if l.startswith("CONFIG_")}

    def holds(line):
        m = re.match(r"# (CONFIG_\w+) is not set$", line)
        return line in have or (m and m.group(1) not in set_options)
    missing = [l for l in lines if not holds(l)]
    if missing:
        raise Failure("the kernel configuration lost these options (renamed, or a "
                      "dependency is missing):\n  " + "\n  ".join(missing))


def fragment_lines(*names):
    """The options of the fragments; "# CONFIG_X is not set" counts too."""
    lines = {}
    for name in names:
        for line in (CONFIGS / name).read_text().splitlines():
            line = line.strip()
            m = re.match(r"# (CONFIG_\w+) is not set$", line) or re.match(r"(CONFIG_\w+)=", line)
            if m:
                lines[m.group(1)] = line      # a later fragment wins
    return list(lines.values())


def build_kernel(tree, name, fragments, targets=("bzImage",), series_point=False,
                 check=True):
    """Build @targets for the config made of @fragments; return the build dir.

    With @series_point, @tree is the series at one of its patches: the
    config is made afresh from the fragments (an option that an earlier
    patch did not have yet would otherwise stay dropped).  Without @check,
    options of the fragments may be missing from it (a later patch adds
    them)."""
    build = CACHE / "build" / name
    build.mkdir(parents=True, exist_ok=True)
    lines = fragment_lines(*fragments)
    digest = hashlib.sha256("\n".join(lines).encode()).hexdigest()
    stamp = build / ".isolation-config"
    env = ccache_env()
    if (series_point or not stamp.is_file() or stamp.read_text() != digest
            or not (build / ".config").is_file()):
        log(f"configuring the {name} kernel in {build}")
        (build / ".config").write_text("\n".join(lines) + "\n")
        run(make_args(tree, build) + ["olddefconfig"], env=env, quiet=True)
        if check:
            check_config(build, lines)
        stamp.write_text(digest)
    log(f"building {' '.join(targets)} of the {name} kernel (incremental; "
        "a first build of a whole kernel takes 10 to 15 minutes)")
    run(make_args(tree, build) + list(targets), env=env, quiet=True)
    if check:
        check_config(build, lines)
    return build


def install_modules(tree, build):
    """The modules of @build, installed (stripped) under a root of their own."""
    root = CACHE / "modroot"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    run(make_args(tree, build) + ["modules_install", f"INSTALL_MOD_PATH={root}",
                                  "INSTALL_MOD_STRIP=1"],
        env=ccache_env(), quiet=True)
    return root


# The guest's programs: our test program, and the series' tool as the
# kernel tree builds it (against tools/include).
GUEST_PROGRAMS = ["tests/vfio/vfio-test.c", "tools/isolation/isolation.c"]


def guest_programs(tree, build):
    """The guest's programs, static, against the uapi headers of @build.

    The kernel's own headers, because the VFIO and iommufd ioctls are newer
    than the build machine's."""
    env = ccache_env()
    run(make_args(tree, build) + ["headers"], env=env, quiet=True)
    out = CACHE / "guest"
    out.mkdir(parents=True, exist_ok=True)
    programs = []
    for src in GUEST_PROGRAMS:
        exe = out / Path(src).stem
        flags = ["-I", Path(tree) / "tools/include", Path(tree) / src] \
            if src.startswith("tools/") else [REPO / src]
        run(["gcc", "-static", "-O2", "-Wall", "-Wextra", "-Werror",
             "-isystem", Path(build) / "usr" / "include", "-o", exe] + flags, quiet=True)
        programs.append(exe)
    return programs


def kunit(tree, extra=(), build=KUNIT_BUILD):
    """Run the driver core's KUnit suites, ours among them, under QEMU: those
    of @tree (a point of the series may not have the IOMMU core's yet)."""
    build.parent.mkdir(parents=True, exist_ok=True)   # kunit.py makes only the last part
    cmd = ["python3", "tools/testing/kunit/kunit.py", "run", "--arch=x86_64"]
    cmd += [f"--kunitconfig={k}" for k in KUNITCONFIGS if (Path(tree) / k).exists()]
    cmd += [f"--build_dir={build}", f"--jobs={JOBS}", "--timeout=300"]
    cmd += [f"--kconfig_add={l}" for l in fragment_lines("kunit-debug.config")]
    if shutil.which("ccache"):
        cmd.append("--make_options=CC=ccache gcc")
    cmd += list(extra)
    log("KUnit: " + " ".join(cmd[1:]))
    r = subprocess.run(cmd, cwd=tree, env=dict(os.environ, **ccache_env()))
    splats = kernel_splats(build / "test.log")
    for s in splats:
        print(f"FAIL KUnit kernel log: {s}", flush=True)
    return r.returncode == 0 and not splats


# What the kernel prints when something went wrong that a test must not hide.
SPLAT = re.compile(r"WARNING:|BUG:|Oops|Kernel panic|general protection|Call Trace:|"
                   r"UBSAN:|KASAN:|kmemleak:.*new suspected|"
                   r"possible circular locking|possible recursive locking|"
                   r"inconsistent lock state|INFO: task .* blocked|refcount_t:|"
                   r"ODEBUG:|list_add corruption|list_del corruption")


# Reports that the base kernel makes by itself, which the series neither
# causes nor fixes, each known by words of its first lines.  A known report
# is passed over whole, up to the end of its stack dump; anything else that
# matches SPLAT fails.  Lockdep reports once a boot, so a boot that makes a
# known report is checked by lockdep up to it only: the test kernels carry
# harness/kernel-fixes/ rather than let one happen.  None is known today.
KNOWN_SPLATS = []
SPLAT_HEAD = 12     # the lines of a report that name what it is about
SPLAT_END = re.compile(r"</TASK>|---\[ end trace")


def splat_lines(lines):
    """The indexes of the lines that report a bug, known reports left out."""
    hits, skip = [], -1
    for i, line in enumerate(lines):
        if i <= skip or not SPLAT.search(line):
            continue
        head = "\n".join(lines[i:i + SPLAT_HEAD])
        if any(what in line and all(w in head for w in words)
               for what, words in KNOWN_SPLATS):
            end = next((j for j in range(i, min(len(lines), i + 200))
                        if SPLAT_END.search(lines[j])), i)
            skip = end
            continue
        hits.append(i)
    return hits


def kernel_splats(logfile):
    """The lines of a kernel log that report a bug, with what follows the first."""
    try:
        lines = Path(logfile).read_text(errors="replace").splitlines()
    except FileNotFoundError:
        return [f"{logfile} is missing: the kernel's log was not saved"]
    hits = splat_lines(lines)
    if not hits:
        return []
    first = hits[0]
    return [f"{len(hits)} line(s) report a kernel bug; the first, in {logfile}:\n    "
            + "\n    ".join(lines[first:first + 25])]
