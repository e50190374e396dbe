"""The benchmark: isolation groups against the kernel's own iommu groups.

./iso bench builds a benchmark kernel (the boot kernel's configuration
without its lock and list debugging and without KUnit, plus
CONFIG_ISOLATION_BENCHMARK: harness/configs/bench.config), boots it under
QEMU on one vCPU with nothing else to run, and reads what
drivers/base/test/isolation_bench.c prints at the end of boot: medians,
minimums and maximums of each figure, isolation groups and what the kernel
does already measured in turn within each run.  It prints one table of
ratios and says which of the targets the figures meet.  A benchmark, not a
test: a missed target does not fail it, a benchmark that does not run does.
"""

import datetime
import os
import platform
import re
import subprocess
import threading
import time

import kbuild
from common import CACHE, Failure, log

TIMEOUT = 30 * 60
PREFIX = "isolation-bench: "

# What the series promises (README, "Benchmark"): (what, test on the figures).
TARGETS = [
    ("a device in an unmanaged group matches as fast as one in no group "
     "(within 5%), whether another group is held or not", "unmanaged_vs_none", 1.05),
    ("no group held (before any was, or after the last is let go): matching "
     "costs nothing measurable (within 5% of the kernel's driver_match_device() "
     "without the series)", "nothing_held", 1.05),
    ("a refused match costs at most 2x an allowed one", "refused_vs_allowed", 2.0),
    ("add and remove per device at most 1.1x the iommu group's", "add_vs_iommu", 1.1),
    ("memory per member at most 1.2x an iommu group's", "member_memory", 1.2),
    ("add per device at 16,000 devices at most 1.2x that at 1,000", "add_scaling", 1.2),
    ("claim and release per device at 4,096 at most 1.2x that at 256",
     "claim_scaling", 1.2),
]


def run_qemu(kernel):
    cmd = ["qemu-system-x86_64", "-machine", "q35", "-accel", "tcg", "-cpu", "max",
           "-smp", "1", "-m", "2048", "-nodefaults", "-display", "none",
           "-no-reboot", "-serial", "stdio", "-kernel", str(kernel),
           "-append", "console=ttyS0 panic=-1 isolation_bench.run=1"]
    logfile = CACHE / "logs" / "bench.log"
    logfile.parent.mkdir(parents=True, exist_ok=True)
    lines = []
    start = time.time()
    with open(logfile, "w") as out, subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, text=True, errors="replace") as proc:
        out.write("# " + " ".join(cmd) + "\n")
        # A guest that goes silent ends the read when the watchdog kills it.
        watchdog = threading.Timer(TIMEOUT, proc.kill)
        watchdog.start()
        try:
            for line in proc.stdout:
                line = line.rstrip("\r\n")
                out.write(line + "\n")
                i = line.find(PREFIX)
                if i >= 0:
                    lines.append(line[i + len(PREFIX):])
                    if lines[-1] == "done" or lines[-1].startswith("failed"):
                        break
                if time.time() - start > TIMEOUT:
                    break
        finally:
            watchdog.cancel()
            proc.kill()
    if not lines or lines[-1] != "done":
        raise Failure(f"the benchmark did not finish: {lines[-1] if lines else 'no output'}; "
                      f"console log: {logfile}")
    return lines, time.time() - start


def parse(lines):
    """{key tuple: (median, min, max)}; memory lines have one value."""
    fig = {}
    for line in lines:
        words = line.split()
        nums = [w for w in words if re.fullmatch(r"-?\d+", w)]
        if words[0] == "memory":          # memory SIZE N who BYTES
            fig[("memory", int(words[1]), words[3])] = (int(words[4]),) * 3
        elif words[0] == "match":         # match CASE bus|unhooked|full MED MIN MAX
            fig[("match", words[1], words[2])] = tuple(int(n) for n in nums[-3:])
        elif words[0] in ("add", "log-default"):  # TAG SIZE N who op MED MIN MAX
            fig[(words[0], int(words[1]), int(words[2]), words[3], words[4])] = \
                tuple(int(n) for n in nums[-3:])
        elif words[0] == "claim":         # claim N who op MED MIN MAX
            fig[("claim", int(words[1]), words[2], words[3])] = \
                tuple(int(n) for n in nums[-3:])
    return fig


def ratio(a, b):
    return a / b if b else float("inf")


def spread(v, scale=1):
    """median (min..max), in ns: whole ns, or tenths for the matches' ps."""
    if scale == 1:
        return f"{v[0]:.0f} ({v[1]:.0f}..{v[2]:.0f})"
    return f"{v[0] / scale:.1f} ({v[1] / scale:.1f}..{v[2] / scale:.1f})"


def table(fig):
    """The table's lines, and the figures the targets judge."""
    out, judge = [], {}
    m = lambda case, w: fig[("match", case, w)]        # noqa: E731

    out += ["", "Matching: ns per driver_match_device() call on the same device and "
            "driver: the bus's match alone, the kernel's driver_match_device() "
            "without the series, and with it",
            f"  {'device':40} {'bus match':>20} {'without':>20} {'with':>20} "
            f"{'/bus':>6} {'/without':>8}"]
    cases = [("none-nothing-held", "in no group, no group held anywhere"),
             ("unmanaged-nothing-held", "in an unmanaged group, no group held"),
             ("none", "in no group, another group held"),
             ("unmanaged", "in an unmanaged group, another held"),
             ("held-manager-driver", "in a held group, the manager's driver"),
             ("held-foreign-driver", "in a held group, a foreign driver"),
             ("none-after-release", "in no group, the held group let go")]
    for case, label in cases:
        b, u, f = m(case, "bus"), m(case, "unhooked"), m(case, "full")
        out.append(f"  {label:40} {spread(b, 1000):>20} {spread(u, 1000):>20} "
                   f"{spread(f, 1000):>20} {ratio(f[0], b[0]):5.2f}x {ratio(f[0], u[0]):7.2f}x")
    # Both devices match the same driver by the same name: compare their
    # matches with the filter directly, and each against its own match
    # without the series.
    own = lambda c: ratio(m(c, "full")[0], m(c, "unhooked")[0])   # noqa: E731
    full = lambda c: m(c, "full")[0]                              # noqa: E731
    judge["unmanaged_vs_none"] = max(
        ratio(full("unmanaged-nothing-held"), full("none-nothing-held")),
        ratio(full("unmanaged"), full("none")))
    judge["nothing_held"] = max(own("none-nothing-held"), own("unmanaged-nothing-held"),
                                own("none-after-release"))
    judge["refused_vs_allowed"] = ratio(m("held-foreign-driver", "full")[0],
                                        m("held-manager-driver", "full")[0])
    out.append(f"  refused against allowed, in a held group: "
               f"{judge['refused_vs_allowed']:.2f}x")

    out += ["", "Adding and removing devices: ns per device, against "
            "iommu_group_alloc() + iommu_group_add_device() and "
            "iommu_group_remove_device()",
            f"  {'':36} {'isolation groups':>22} {'iommu groups':>22} {'ratio':>7}"]
    worst = 0.0
    scaling = 0.0
    for size in (1, 8):
        for op in ("add", "remove"):
            for n in (1000, 16000):
                i = fig[("add", size, n, "isolation", op)]
                g = fig[("add", size, n, "iommu", op)]
                r = ratio(i[0], g[0])
                worst = max(worst, r)
                out.append(f"  {op + ', groups of ' + str(size) + ', ' + format(n, ',') + ' devices':36} "
                           f"{spread(i):>22} {spread(g):>22} {r:6.2f}x")
            s = ratio(fig[("add", size, 16000, "isolation", op)][0],
                      fig[("add", size, 1000, "isolation", op)][0])
            g = ratio(fig[("add", size, 16000, "iommu", op)][0],
                      fig[("add", size, 1000, "iommu", op)][0])
            if op == "add":
                scaling = max(scaling, s)
            out.append(f"  {'':36} per device at 16,000 against 1,000: {s:.2f}x "
                       f"(iommu groups: {g:.2f}x)")
    judge["add_vs_iommu"] = worst
    judge["add_scaling"] = scaling

    out += ["", "Printing: the same at 1,000 devices, groups of 1, with the console at "
            "the default log level (the rest of the run is at \"quiet\"'s)"]
    for op in ("add", "remove"):
        i = fig[("log-default", 1, 1000, "isolation", op)]
        g = fig[("log-default", 1, 1000, "iommu", op)]
        out.append(f"  {op:36} {spread(i):>22} {spread(g):>22} {ratio(i[0], g[0]):6.2f}x")

    out += ["", "Memory: slab bytes per device at 16,000 devices, and per group and "
            "per member (from groups of 1 and of 8)",
            f"  {'':36} {'isolation groups':>22} {'iommu groups':>22} {'ratio':>7}"]
    per = {}
    for who in ("isolation", "iommu"):
        one = fig[("memory", 1, who)][0]
        eight = fig[("memory", 8, who)][0]
        member = (8 * eight - one) / 7
        per[who] = (one, eight, one - member, member)
    for k, label in enumerate(("per device, groups of 1", "per device, groups of 8",
                               "per group", "per member")):
        i, g = per["isolation"][k], per["iommu"][k]
        out.append(f"  {label:36} {i:>22.0f} {g:>22.0f} {ratio(i, g):6.2f}x")
    judge["member_memory"] = ratio(per["isolation"][3], per["iommu"][3])

    out += ["", "Claiming and releasing a group through its manager file: ns per device, "
            "against unbinding and binding the same drivers by hand on devices in no group",
            f"  {'':36} {'isolation groups':>22} {'by hand':>22} {'ratio':>7}"]
    for op in ("claim", "release"):
        for n in (1, 16, 256, 4096):
            i = fig[("claim", n, "isolation", op)]
            p = fig[("claim", n, "plain", op)]
            out.append(f"  {op + ', ' + format(n, ',') + ' devices':36} "
                       f"{spread(i):>22} {spread(p):>22} {ratio(i[0], p[0]):6.2f}x")
    judge["claim_scaling"] = max(
        ratio(fig[("claim", 4096, "isolation", op)][0], fig[("claim", 256, "isolation", op)][0])
        for op in ("claim", "release"))
    out.append(f"  per device at 4,096 against 256 (the worse of claim and release): "
               f"{judge['claim_scaling']:.2f}x")
    return out, judge


def report(lines, secs, when):
    """The table and the targets, from the benchmark's lines."""
    out, judge = table(parse(lines))
    print(f"isolation groups benchmark, {when}, on {platform.node()} "
          f"({os.cpu_count()} host cores), QEMU TCG, one vCPU; {secs:.0f} s")
    print("Each figure: the median of 9 runs (min..max); both sides of a ratio "
          "measured in turn within each run.")
    print("\n".join(out))
    print("\nTargets:")
    for what, key, limit in TARGETS:
        v = judge[key]
        print(f"  {'met   ' if v <= limit else 'MISSED'} {what}: {v:.2f}x")


def cmd_bench(work):
    kernel = kbuild.build_kernel(work, "bench", ["boot.config", "bench.config"]) \
        / "arch" / "x86" / "boot" / "bzImage"
    log("booting the benchmark kernel (one vCPU, TCG); the run takes a few minutes")
    lines, secs = run_qemu(kernel)
    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    report(lines, secs, when)
    return 0
