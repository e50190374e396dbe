"""Boot tests: the boot kernel under QEMU q35 with an emulated IOMMU.

A scenario file (tests/boot/*.scn) gives the QEMU devices of a topology,
what the kernel command line adds, the steps to run and the groups to
expect, and the IOMMUs to run it on: intel (VT-d), amd (AMD-Vi) or virtio
(virtio-iommu); each is a boot of its own.  The guest is busybox and our own programs in an initramfs; it
reports the machine on the serial console (harness/guest/iso-report), and
the host maps guest PCI addresses to the scenario's QEMU ids through QMP
(query-pci), so expectations name devices as the scenario does.

Scenario lines:

    title: <one line>
    iommus: <iommu> ...               the IOMMUs to boot it on (default: intel)
    debug: only                       a scenario for the release check's debug
                                      kernel only (./iso test --debug)
    debug iommus: <iommu> ...         the IOMMUs to boot it on with the debug
                                      kernel, if fewer (an upstream issue that
                                      only its debugging shows, said in a comment)
    preload: <module> ... | none      what the guest loads once it is up, as a
                                      distribution's initramfs or init would
                                      (default: vfio-pci vfio_iommu_type1)
    qemu: <QEMU arguments>            the machine (any number of lines)
    cmdline: <kernel arguments>       added to the kernel command line
    expect iommu: <id> <id> ...       one kernel iommu group, by QEMU ids
    expect isolation: <id> <id> ...   one isolation group, by QEMU ids
    expect driver: <id> <driver|->    the driver bound to a device
    expect reason: <id> <text>        the device's reason line contains <text>
    expect state: <id> <state>        the state of the device's isolation group
    expect ungrouped: <id> ...        devices in no isolation group
    expect absent: <id> ...           devices gone from the guest and its groups
    expect blockers: <id> ...         exactly these named devices keep their
                                      groups from locking (are in "blockers")
    expect manager: <id> <name|->     the manager of the device's isolation group
    expect log: <word> ...            a line of the kernel's log since the last
                                      check holds these words, in this order
    expect nolog: <word> ...          no line of the kernel's log since the last
                                      check (since boot, at the first) holds them
    monitor: <HMP command>            e.g. device_add, through QMP
    wait: <id>                        until the guest sees the device
    gone: <id>                        until the guest no longer sees it (and,
                                      after a device_del, QEMU has let it go)
    guest: <shell command>            run in the guest; must exit 0
    check                             report, and compare with the
                                      expectations given since the last check

In guest lines, {text:<object>} stands for "START END", the addresses of the
object's .text in the booted kernel (e.g. {text:drivers/base/isolation.o};
the scenario must boot with nokaslr).

In monitor, guest and log lines, {<id>} stands for the guest PCI address of
the device with that QEMU id, e.g. "guest: vfio-test container {rng}".  The
guest has busybox, vfio-test (tests/vfio/vfio-test.c) and the isolation
tool (tools/isolation), which every check compares with sysfs.

A line that starts with "[<iommu>,...]" counts only in the boots on those
IOMMUs, e.g. "[virtio] expect iommu: br" where virtio-iommu's iommu groups
differ from the others'.

A scenario without a "check" line checks once, at the end.  On every check
the kernel log so far must be free of warnings and oopses, and no isolation
group may be finer than the kernel's own iommu groups.
"""

import dataclasses
import json
import os
import queue
import re
import shlex
import socket
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from common import CACHE, REPO, Failure, log
from kbuild import SPLAT_END, splat_lines

GUEST = REPO / "harness" / "guest"
SCENARIOS = REPO / "tests" / "boot"
BUSYBOX = Path("/bin/busybox")

QEMU_MACHINE = [
    "qemu-system-x86_64",
    "-machine", "q35,kernel-irqchip=split", "-accel", "tcg",
    "-cpu", "max", "-smp", "2", "-m", "1024",
    "-nodefaults", "-vga", "none", "-display", "none", "-no-reboot",
    # Native PCIe hotplug on root ports, rather than ACPI hotplug.
    "-global", "ICH9-LPC.acpi-pci-hotplug-with-bridge-support=off",
]
CMDLINE = "console=ttyS0 panic=-1 oops=panic rdinit=/init"

# Each IOMMU: its QEMU device, placed before the devices it translates for
# as QEMU wants, and what the kernel command line needs for it.  Interrupt
# remapping (intremap=on) is what lets VFIO type1 and iommufd accept a
# device; virtio-iommu has none, so the test guest allows unsafe
# interrupts for both there: a test machine only, never a real host.
IOMMUS = {
    "intel": (["-device", "intel-iommu,intremap=on"], "intel_iommu=on"),
    "amd": (["-device", "amd-iommu,intremap=on"], ""),
    "virtio": (["-device", "virtio-iommu-pci"],
               "vfio_iommu_type1.allow_unsafe_interrupts=1 "
               "iommufd.allow_unsafe_interrupts=1"),
}
DEFAULT_IOMMU = "intel"

# What the guest loads once it is up, after the drivers built into the
# kernel bound at boot: VFIO is modules, as distributions build it.
DEFAULT_PRELOAD = ["vfio-pci", "vfio_iommu_type1"]


# What a device of a group locked for VFIO may be bound to: VFIO's drivers,
# and the drivers that do no DMA of their own.
LOCKED_DRIVERS = {"-", "vfio-pci", "virtio-vfio-pci", "pcieport", "shpchp", "pci-stub"}

BOOT_TIMEOUT = int(os.environ.get("ISOLATION_BOOT_TIMEOUT", 180))
STEP_TIMEOUT = 60
# A guest command on the debug kernel (KASAN, kmemleak, delayed kobject
# releases) takes several times longer; fault injection runs thousands.
DEBUG_STEP_TIMEOUT = 600
# The debug kernel logs every delayed kobject release: a default-sized log
# buffer would lose an early report before the next check reads it.  Under
# TCG a KASAN kernel is slow enough that a guest CPU can go 21 s (the
# default) without a quiescent state while the host is busy: a stall
# report then says nothing of the code, so give it 60 s.
DEBUG_CMDLINE = "log_buf_len=16M rcupdate.rcu_cpu_stall_timeout=60"

# {<id>} in a step or a log expectation; ${var} is the guest shell's own.
ADDRESS = re.compile(r"(?<!\$)\{([\w.-]+)\}")
# {text:<object>} in a guest step: where the object's .text lies in the
# booted kernel, "START END"; the scenario boots with nokaslr.
TEXT = re.compile(r"\{text:([\w/.-]+\.o)\}")


# --- the initramfs ----------------------------------------------------------

def _cpio_entry(name, mode, data=b"", rdev=(0, 0)):
    hdr = "070701" + "".join(f"{v:08x}" for v in (
        0, mode, 0, 0, 1, 0, len(data), 0, 0, rdev[0], rdev[1], len(name) + 1, 0))
    out = hdr.encode() + name.encode() + b"\0"
    out += b"\0" * (-len(out) % 4) + data
    return out + b"\0" * (-len(out) % 4)


def build_initramfs(out, programs=(), modroot=None):
    """Write a newc cpio with busybox, our init and @programs in /bin, and
    the tree under @modroot (the kernel's modules, lib/modules/...).

    Written here rather than with cpio(1), so that /dev/console can be made
    without being root."""
    entries = [_cpio_entry(d, 0o040755) for d in ("bin", "sbin", "dev", "proc", "sys", "tmp",
                                                   "etc", "etc/modprobe.d")]
    entries.append(_cpio_entry("dev/console", 0o020600, rdev=(5, 1)))
    entries.append(_cpio_entry("init", 0o100755, (GUEST / "init").read_bytes()))
    entries.append(_cpio_entry("bin/busybox", 0o100755, BUSYBOX.read_bytes()))
    for p in [GUEST / "iso-report", GUEST / "iso-stress", *programs]:
        entries.append(_cpio_entry("bin/" + Path(p).name, 0o100755, Path(p).read_bytes()))
    if modroot:
        for p in sorted(Path(modroot).rglob("*")):
            name = str(p.relative_to(modroot))
            if p.is_symlink():
                continue            # build and source links into the build tree
            if p.is_dir():
                entries.append(_cpio_entry(name, 0o040755))
            else:
                entries.append(_cpio_entry(name, 0o100644, p.read_bytes()))
    entries.append(_cpio_entry("TRAILER!!!", 0))
    Path(out).write_bytes(b"".join(entries))


# --- scenarios --------------------------------------------------------------

@dataclass
class Step:
    kind: str        # monitor, guest, check
    arg: str = ""
    expect: list = field(default_factory=list)   # (kind, words) for a check
    line: int = 0


@dataclass
class Scenario:
    path: Path
    iommu: str = DEFAULT_IOMMU       # the IOMMU of this boot
    iommus: list = field(default_factory=lambda: [DEFAULT_IOMMU])
    preload: list = field(default_factory=lambda: list(DEFAULT_PRELOAD))
    debug_only: bool = False
    title: str = ""
    qemu: list = field(default_factory=list)
    cmdline: str = ""
    steps: list = field(default_factory=list)
    extra: list = field(default_factory=list)   # the user's QEMU arguments

    @property
    def name(self):
        """The boot's name: the file's, and the IOMMU's unless it is the only one."""
        if self.iommus == [DEFAULT_IOMMU] and self.iommu == DEFAULT_IOMMU:
            return self.path.stem
        return f"{self.path.stem}@{self.iommu}"

    def ids(self):
        """The QEMU ids the scenario gives its devices (not the user's)."""
        return re.findall(r"\bid=([\w.-]+)", " ".join(self.qemu + [
            s.arg for s in self.steps if s.kind == "monitor"]))

    def qemu_args(self):
        return IOMMUS[self.iommu][0] + self.qemu + self.extra

    def kernel_cmdline(self):
        return " ".join(filter(None, [CMDLINE, IOMMUS[self.iommu][1], self.cmdline.strip()]))


def scenario_iommus(path, debug=False):
    """The IOMMUs a scenario file asks to be booted on, with the debug
    kernel if @debug."""
    lines = Path(path).read_text().splitlines()
    keys = ["debug iommus", "iommus"] if debug else ["iommus"]
    for want in keys:
        for raw in lines:
            key, _, rest = raw.strip().partition(":")
            if key.strip() != want:
                continue
            names = rest.split()
            unknown = [n for n in names if n not in IOMMUS]
            if unknown or not names:
                raise Failure(f"{Path(path).name}: {want}: names {unknown or 'nothing'}; "
                              f"known are {' '.join(IOMMUS)}")
            return names
    return [DEFAULT_IOMMU]


def parse_scenario(path, extra_qemu=(), iommu=None):
    iommus = scenario_iommus(path)
    sc = Scenario(Path(path), iommu or iommus[0], iommus)
    if sc.iommu not in IOMMUS:
        raise Failure(f"no IOMMU named {sc.iommu}; known are {' '.join(IOMMUS)}")
    pending = []
    for n, raw in enumerate(Path(path).read_text().splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        where = f"{Path(path).name}:{n}"
        m = re.match(r"\[([\w,]+)\]\s*(.*)$", line)
        if m:
            only = m.group(1).split(",")
            unknown = [i for i in only if i not in IOMMUS]
            if unknown:
                raise Failure(f"{where}: no IOMMU named {unknown[0]}")
            if sc.iommu not in only:
                continue
            line = m.group(2)
        key, _, rest = line.partition(":")
        key, rest = key.strip(), rest.strip()
        if key == "iommus":
            continue
        if key == "preload":
            sc.preload = [] if rest == "none" else rest.split()
            continue
        if key == "debug iommus":
            continue
        if key == "debug":
            sc.debug_only = rest == "only"
            continue
        if line == "check":
            sc.steps.append(Step("check", expect=pending, line=n))
            pending = []
        elif key == "title":
            sc.title = rest
        elif key == "qemu":
            sc.qemu += shlex.split(rest)
        elif key == "cmdline":
            sc.cmdline += " " + rest
        elif key in ("monitor", "guest", "wait", "gone"):
            sc.steps.append(Step(key, rest, line=n))
        elif key in ("expect iommu", "expect isolation", "expect driver", "expect reason",
                     "expect state", "expect ungrouped", "expect absent",
                     "expect blockers", "expect manager", "expect log",
                     "expect nolog"):
            words = rest.split()
            if not words:
                raise Failure(f"{where}: '{key}' names no device")
            pending.append((key.split()[1], words, n))
        else:
            raise Failure(f"{where}: cannot read '{line}'")
    if pending or not any(s.kind == "check" for s in sc.steps):
        sc.steps.append(Step("check", expect=pending))
    sc.extra = list(extra_qemu)
    known = set(sc.ids())
    for s in sc.steps:
        for kind, words, n in s.expect:
            if kind in ("log", "nolog"):
                names = ADDRESS.findall(" ".join(words))
            elif kind in ("iommu", "isolation", "ungrouped", "absent", "blockers"):
                names = words
            else:
                names = words[:1]
            unknown = [w for w in names if w not in known]
            if unknown:
                raise Failure(f"{Path(path).name}:{n}: no QEMU device has id {unknown[0]}")
        unknown = [w for w in ADDRESS.findall(s.arg) if w not in known]
        if s.kind in ("monitor", "guest") and unknown:
            raise Failure(f"{Path(path).name}:{s.line}: no QEMU device has id {unknown[0]}")
    return sc


# --- talking to QEMU --------------------------------------------------------

class Qmp:
    def __init__(self, path):
        deadline = time.time() + 30
        while True:
            try:
                self.sock = socket.socket(socket.AF_UNIX)
                self.sock.connect(str(path))
                break
            except OSError:
                self.sock.close()
                if time.time() > deadline:
                    raise Failure("QEMU's QMP socket did not open")
                time.sleep(0.1)
        self.file = self.sock.makefile("rw")
        self._read()                                   # the greeting
        self.call("qmp_capabilities")

    def _read(self):
        while True:
            line = self.file.readline()
            if not line:
                raise Failure("QEMU closed its QMP socket")
            msg = json.loads(line)
            if "event" not in msg:
                return msg

    def call(self, cmd, **args):
        self.file.write(json.dumps({"execute": cmd, "arguments": args}) + "\n")
        self.file.flush()
        msg = self._read()
        if "error" in msg:
            raise Failure(f"QMP {cmd}: {msg['error'].get('desc')}")
        return msg["return"]

    def hmp(self, line):
        out = self.call("human-monitor-command", **{"command-line": line})
        if out.strip():
            raise Failure(f"monitor '{line}': {out.strip()}")


    def pci_ids(self):
        """Map guest PCI addresses to QEMU device ids."""
        ids = {}

        def walk(bus, devices):
            for d in devices:
                addr = f"0000:{d['bus']:02x}:{d['slot']:02x}.{d['function']}"
                if d.get("qdev_id"):
                    ids[addr] = d["qdev_id"]
                br = d.get("pci_bridge")
                if br:
                    walk(br["bus"]["number"], br.get("devices", []))

        for bus in self.call("query-pci"):
            walk(bus["bus"], bus["devices"])
        return ids


class Guest:
    """A running QEMU with our guest; collects the console into a log."""

    def __init__(self, kernel, initrd, sc, logfile):
        self.tmp = tempfile.TemporaryDirectory(prefix="isolation-qemu-")
        sock = Path(self.tmp.name) / "qmp.sock"
        self.cmd = QEMU_MACHINE + [
            "-kernel", str(kernel), "-initrd", str(initrd),
            "-append", sc.kernel_cmdline(),
            "-serial", "stdio", "-qmp", f"unix:{sock},server=on,wait=off",
        ] + sc.qemu_args()
        self.log = open(logfile, "w")
        self.log.write("# " + shlex.join(self.cmd) + "\n")
        self.lines = queue.Queue()
        self.console = []
        self.proc = subprocess.Popen(self.cmd, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        threading.Thread(target=self._pump, daemon=True).start()
        self.qmp = None
        self.known = {}          # QEMU id -> the last guest address seen
        self.unplugging = set()  # ids given to device_del, not yet gone
        self.dmesg = []          # the kernel's log, as the last report gave it
        self.dmesg_checked = 0   # how much of it the last check has seen
        self.wait_for("ready", BOOT_TIMEOUT, "the guest did not come up")
        self.qmp = Qmp(sock)
        if sc.preload:
            status, _ = self.run("modprobe -a " + " ".join(sc.preload))
            if status:
                raise Failure(f"modprobe -a {' '.join(sc.preload)} failed in the guest")

    def _pump(self):
        for raw in self.proc.stdout:
            line = raw.decode(errors="replace").rstrip("\r\n").replace("\r", "")
            self.log.write(line + "\n")
            self.log.flush()
            self.console.append(line)
            self.lines.put(line)
        self.lines.put(None)

    def wait_for(self, what, timeout, why):
        """Read console lines up to "@@ISO <what>"; return the @@ISO lines."""
        got = []
        deadline = time.time() + timeout
        while True:
            try:
                line = self.lines.get(timeout=max(0.1, deadline - time.time()))
            except queue.Empty:
                raise Failure(f"{why} within {timeout}s")
            if line is None:
                raise Failure(f"{why}: QEMU exited ({self.proc.wait()})")
            if line.startswith("@@ISO "):
                got.append(line[6:])
                if line[6:].split()[0] == what:
                    return got

    def expand(self, text, line):
        """@text with each {<id>} replaced by the device's guest PCI address."""
        def address(m):
            if m.group(1) not in self.known:
                self.known.update({v: k for k, v in self.qmp.pci_ids().items()})
            if m.group(1) not in self.known:
                raise Failure(f"line {line}: {m.group(1)} has no PCI address in the guest")
            return self.known[m.group(1)]
        return ADDRESS.sub(address, text)

    def run(self, command, timeout=STEP_TIMEOUT):
        """Run a shell command in the guest; return (status, @@ISO lines)."""
        self.proc.stdin.write(command.encode() + b"\n")
        self.proc.stdin.flush()
        got = self.wait_for("done", timeout, f"guest command '{command}' did not finish")
        return int(got[-1].split()[1]), got[:-1]

    def close(self):
        if self.proc.poll() is None:
            try:
                self.qmp and self.qmp.call("quit")
            except Failure:
                pass
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        self.tmp.cleanup()


# --- what the guest reports -------------------------------------------------

@dataclass
class Report:
    pci: dict            # bdf -> (vendor:device, driver)
    iommu: dict          # group id -> [device names]
    isolation: dict      # group id -> [device names]
    attrs: dict          # group id -> {provider|manager|state: value}
    core: bool
    ids: dict            # bdf -> QEMU id
    reasons: dict = field(default_factory=dict)    # device -> reason
    blockers: dict = field(default_factory=dict)   # group id -> [(device, driver)]
    tool_json: str = None                          # isolation list --json
    tool_list: list = field(default_factory=list)  # isolation list
    tool_tree: list = field(default_factory=list)  # isolation tree

    def name(self, dev):
        return self.ids.get(dev, dev)

    def partition(self, groups, named):
        """The groups, as sets of QEMU ids, of the devices in @named."""
        out = []
        for devs in groups.values():
            part = frozenset(self.name(d) for d in devs) & named
            if part:
                out.append(part)
        return out


def parse_report(lines, ids):
    r = Report({}, {}, {}, {}, False, ids)
    for line in lines:
        w = line.split()
        if w[0] == "pci":
            r.pci[w[1]] = (w[2], w[3])
        elif w[0] == "iommu-group":
            r.iommu[w[1]] = w[2:]
        elif w[0] == "isolation-group":
            r.isolation[w[1]] = w[2:]
        elif w[0] == "isolation-attr":
            r.attrs.setdefault(w[1], {})[w[2]] = " ".join(w[3:])
        elif w[0] == "isolation-reason":
            r.reasons[w[2]] = " ".join(w[3:])
        elif w[0] == "isolation-blocker":
            r.blockers.setdefault(w[1], []).append((w[2], w[3] if len(w) > 3 else "?"))
        elif w[0] == "isolation-core":
            r.core = w[1] == "yes"
        elif w[0] == "tool-json":
            r.tool_json = line[len("tool-json "):]
        elif w[0] in ("tool-list", "tool-tree"):
            getattr(r, w[0].replace("-", "_")).append(line[len("tool-list "):])
    return r


def check_tool(r):
    """tools/isolation must show what sysfs says: its JSON, parsed, and its
    table, group by group and device by device."""
    if not r.core:
        return []
    try:
        groups = {str(g["id"]): g for g in json.loads(r.tool_json or "")["groups"]}
    except (ValueError, KeyError, TypeError) as e:
        return [f"isolation list --json: not the documented JSON ({e}): {r.tool_json!r:.200}"]
    errors = []
    if set(groups) != set(r.isolation):
        errors.append(f"isolation list --json: groups {sorted(groups, key=int)}, "
                      f"sysfs has {sorted(r.isolation, key=int)}")
    for g in set(groups) & set(r.isolation):
        j, a = groups[g], r.attrs.get(g, {})
        have = {d["address"]: d for d in j["devices"]}
        want = {"provider": j["provider"] or "", "manager": j["manager"] or "",
                "state": j["state"]}
        for k, v in want.items():
            if v != a.get(k, ""):
                errors.append(f"isolation list --json: group {g} {k} {v!r}, sysfs {a.get(k)!r}")
        if sorted(have) != sorted(r.isolation[g]):
            errors.append(f"isolation list --json: group {g} has {sorted(have)}, "
                          f"sysfs {sorted(r.isolation[g])}")
        for d, dev in have.items():
            if d in r.pci and (dev["driver"] or "-") != r.pci[d][1]:
                errors.append(f"isolation list --json: {d} on {dev['driver']}, "
                              f"sysfs {r.pci[d][1]}")
            if dev["reason"] != r.reasons.get(d):
                errors.append(f"isolation list --json: {d} is there because "
                              f"{dev['reason']!r}, sysfs {r.reasons.get(d)!r}")
        blockers = sorted((b["device"], b["driver"]) for b in j["blockers"])
        if blockers != sorted(r.blockers.get(g, [])):
            errors.append(f"isolation list --json: group {g} blocked by {blockers}, "
                          f"sysfs {sorted(r.blockers.get(g, []))}")
        # The table: a line for the group with its state, one for each member.
        if not any(l.split()[:1] == [g] and a.get("state") in l.split() for l in r.tool_list):
            errors.append(f"isolation list: no line for group {g} ({a.get('state')})")
        for d in r.isolation[g]:
            if not any(d in l.split() for l in r.tool_list):
                errors.append(f"isolation list: no line for {d} of group {g}")
    for d in r.pci:
        if not any(d.split(":", 1)[1] in l for l in r.tool_tree):
            errors.append(f"isolation tree: {d} is not drawn")
    return errors


def check_report(r, expect, named):
    """Every way the report differs from what it must be, as messages."""
    errors = []
    if not r.core:
        errors.append("/sys/kernel/isolation_groups is missing: the isolation core did not start")
    def fmt(g):
        return "{" + " ".join(sorted(g)) + "}"

    for kind, groups in (("iommu", r.iommu), ("isolation", r.isolation)):
        want = [frozenset(w) for k, w, _ in expect if k == kind]
        if not want:
            continue
        # Every device the scenario names, grouped as the guest has it.
        have = r.partition(groups, named)
        for g in want:
            if g not in have:
                found = [h for h in have if h & g]
                errors.append(f"expected {kind} group {fmt(g)}, found "
                              + (", ".join(map(fmt, found)) or "none"))
        for h in have:
            if h not in want and not any(h & g for g in want):
                errors.append(f"unexpected {kind} group {fmt(h)}")
    by_id = {v: k for k, v in r.ids.items()}
    member = {d: g for g, devs in r.isolation.items() for d in devs}
    for kind, words, _ in expect:
        dev = words[0]
        bdf = by_id.get(dev, "")
        if kind == "driver":
            want = words[1] if len(words) > 1 else "-"
            have = r.pci.get(bdf, ("", "(absent)"))[1]
            if have != want:
                errors.append(f"expected {dev} on driver {want}, found {have}")
        elif kind == "reason":
            want = " ".join(words[1:])
            have = r.reasons.get(bdf, "(no reason)")
            if want not in have:
                errors.append(f"expected the reason of {dev} to say '{want}', it says '{have}'")
        elif kind == "state":
            have = r.attrs.get(member.get(bdf), {}).get("state", "(in no group)")
            if have != words[1]:
                errors.append(f"expected the group of {dev} {words[1]}, found {have}")
        elif kind == "manager":
            have = r.attrs.get(member.get(bdf), {}).get("manager", "(in no group)") or "-"
            if have != words[1]:
                errors.append(f"expected the group of {dev} held by {words[1]}, found {have}")
        elif kind == "blockers":
            have = {r.name(d) for bl in r.blockers.values() for d, _ in bl} & named
            if have != set(words):
                errors.append(f"expected the blockers {{{' '.join(sorted(words))}}}, "
                              f"found {{{' '.join(sorted(have))}}}")
        elif kind == "ungrouped":
            for d in words:
                if by_id.get(d) in member:
                    errors.append(f"expected {d} in no isolation group, found it in "
                                  f"group {member[by_id[d]]}")
    if not r.reasons and r.isolation:
        errors.append("the isolation groups give no reasons")
    for d in member:
        if d.startswith("0000:") and d not in r.reasons:
            errors.append(f"{r.name(d)} has no reason in its isolation group")
    # Never locked with a member on a foreign driver: VFIO's drivers and the
    # compatible ones (port, hotplug, stub) are all a locked group may hold.
    for g, devs in r.isolation.items():
        a = r.attrs.get(g, {})
        if a.get("state") != "locked" or a.get("manager") != "vfio":
            continue
        for d in devs:
            drv = r.pci.get(d, ("", "-"))[1]
            if drv not in LOCKED_DRIVERS:
                errors.append(f"isolation group {g} is locked, but {r.name(d)} is on {drv}")
    # Never finer than the kernel's own groups: an iommu group is whole in
    # one isolation group, or in none.  A device that the scenario makes
    # fail its placement ("expect ungrouped") is out of its group on purpose:
    # the kernel refuses its iommu group (iommu_isolation_check()).
    unplaced = {by_id.get(d) for k, w, _ in expect if k == "ungrouped" for d in w}
    for g, devs in r.iommu.items():
        homes = {member.get(d) for d in devs if d not in unplaced}
        if len(homes) > 1:
            errors.append(f"iommu group {g} ({' '.join(r.name(d) for d in devs)}) is split "
                          f"across isolation groups {sorted(map(str, homes))}: "
                          "an isolation group is finer than the IOMMU's")
    return errors


def check_log(lines, expect, expand):
    """Each "expect log" must match a line of @lines, the log since the last
    check, and no "expect nolog" may."""
    errors = []
    for kind, words, n in expect:
        if kind not in ("log", "nolog"):
            continue
        words = expand(" ".join(words), n).split()
        pattern = re.compile(".*".join(re.escape(w) for w in words))
        found = [line for line in lines if pattern.search(line)]
        if kind == "log" and not found:
            errors.append(f"expected a kernel log line since the last check with "
                          f"'{' '.join(words)}', found none")
        elif kind == "nolog" and found:
            errors.append(f"expected no kernel log line since the last check with "
                          f"'{' '.join(words)}', found: {found[0].strip()}")
    return errors


def check_absent(r, expect, known):
    """Devices removed from the machine must be gone from its groups too."""
    errors = []
    listed = {d for devs in list(r.isolation.values()) + list(r.iommu.values()) for d in devs}
    for kind, words, _ in expect:
        for d in words if kind == "absent" else []:
            addr = known.get(d)
            if not addr:
                errors.append(f"{d} was never seen in the guest, so its absence proves nothing")
            elif addr in r.pci or addr in listed:
                errors.append(f"expected {d} ({addr}) gone, but the guest still has it")
    return errors


def format_report(r):
    out = ["isolation groups:"]
    if not r.isolation:
        out.append("  (none)")
    for g in sorted(r.isolation, key=int):
        a = r.attrs.get(g, {})
        out.append(f"  {g:>4}  provider={a.get('provider') or '-'}  "
                   f"manager={a.get('manager') or '-'}  state={a.get('state', '-')}")
        out += [f"        {format_device(r, d):<34} {r.reasons.get(d, '')}"
                for d in r.isolation[g]]
        out += [f"        blocks locking: {d} on {drv}" for d, drv in r.blockers.get(g, [])
                if a.get("manager")]
    return "\n".join(out + [format_iommu_groups(r)])


def format_device(r, d):
    ident = r.ids.get(d)
    return f"{d}" + (f" ({ident})" if ident else "") + f" [{r.pci.get(d, ('', '-'))[1]}]"


def format_iommu_groups(r):
    out = ["kernel iommu groups:"]
    if not r.iommu:
        out.append("  (none)")
    for g in sorted(r.iommu, key=int):
        out.append(f"  {g:>4}  " + ", ".join(format_device(r, d) for d in r.iommu[g]))
    return "\n".join(out)


def format_shown(r):
    """What ./iso run shows: the machine through tools/isolation, the QEMU
    ids of its devices and the kernel's own iommu groups."""
    out = ["$ isolation list"] + r.tool_list + ["", "$ isolation tree"] + r.tool_tree
    out += ["", "QEMU ids: " + (", ".join(f"{i}={d}" for d, i in sorted(r.ids.items()))
                               or "(none)"), format_iommu_groups(r)]
    return "\n".join(out)


# --- running a scenario -----------------------------------------------------

def wait_device(guest, step, timeout=STEP_TIMEOUT):
    """Wait until the guest sees (wait:) or no longer sees (gone:) a device.

    A device taken out by device_del is gone once QEMU has let it go as
    well: the guest drops it from sysfs before it powers the slot off, and
    QEMU frees the device's id only then, so a device_add of the same id
    right after the guest no longer sees it can fail with "Duplicate device
    ID".  (One removed in the guest, through sysfs, stays in QEMU.)"""
    deadline = time.time() + timeout
    while time.time() < deadline:
        ids = guest.qmp.pci_ids()
        guest.known.update({v: k for k, v in ids.items()})
        addr = guest.known.get(step.arg)
        present = bool(addr) and guest.run(f"test -e /sys/bus/pci/devices/{addr}")[0] == 0
        if step.kind == "wait" and present:
            # Let the probes and the groups settle.
            guest.run("sleep 1")
            return []
        if (step.kind == "gone" and not present and
                not (step.arg in guest.unplugging and step.arg in ids.values())):
            guest.unplugging.discard(step.arg)
            return []
        time.sleep(0.5)
    what = "appear" if step.kind == "wait" else "go"
    addr = guest.known.get(step.arg, "no address")
    return [f"line {step.line}: {step.arg} ({addr}) did not {what} "
            f"in the guest within {timeout}s"]


def kmemleak_check(guest):
    """Ask kmemleak, once the objects of the last steps are old enough to be
    reported (5 s), for what leaked.  Return failures for leaks of the
    series (an isolation function in the backtrace), and say how many
    others the base kernel has."""
    _, lines = guest.run("sleep 6; echo scan > /sys/kernel/debug/kmemleak; "
                         "sed 's/^/@@ISO kmemleak /' /sys/kernel/debug/kmemleak", timeout=120)
    leaks = "\n".join(l[len("kmemleak "):] for l in lines if l.startswith("kmemleak "))
    entries = [e for e in leaks.split("unreferenced object")[1:]]
    ours = [e for e in entries if "isolation" in e]
    log(f"kmemleak: {len(entries)} unreferenced objects, {len(ours)} from the series")
    return [f"kmemleak: the series leaked:\n    unreferenced object"
            + "\n    ".join(ours[0].splitlines()[:20])] if ours else []


def object_text(build, obj):
    """'START END' of the .text of @obj (a path in the kernel build @build)
    as vmlinux links it: a global function of the object places it."""
    out = subprocess.run(["objdump", "-h", "-t", str(build / obj)], check=True,
                         capture_output=True, text=True).stdout
    size = next(int(w[2], 16) for w in map(str.split, out.splitlines())
                if len(w) > 2 and w[1] == ".text")
    name, offset = next((w[-1], int(w[0], 16)) for w in map(str.split, out.splitlines())
                        if len(w) == 6 and w[1:4] == ["g", "F", ".text"])
    for line in (build / "System.map").read_text().splitlines():
        addr, kind, sym = line.split()[:3]
        if sym == name and kind == "T":
            start = int(addr, 16) - offset
            return f"{start:#x} {start + size:#x}"
    raise Failure(f"{obj}: {name} is not in System.map")


# The start of the kernel's own boot, before any initcall: none of the
# series' code has run yet.
EARLY_BOOT = re.compile(r"\bstart_kernel\+")
# ...and what would put a report after that: the idle task of a booted CPU.
BOOTED = re.compile(r"\b(rest_init|cpu_startup_entry|do_idle|kernel_init)\+")


def report_before_initcalls(logfile):
    """Whether the first bug report in @logfile came from start_kernel()
    itself, before any initcall."""
    try:
        lines = logfile.read_text(errors="replace").splitlines()
    except FileNotFoundError:
        return False
    hits = splat_lines(lines)
    if not hits:
        return False
    report = lines[hits[0]:hits[0] + 80]
    report = report[:next((i for i, l in enumerate(report) if SPLAT_END.search(l)),
                          len(report)) + 1]
    return (any(EARLY_BOOT.search(l) for l in report)
            and not any(BOOTED.search(l) for l in report))


def run_scenario(kernel, initrd, sc, show=False, debug=False):
    """Boot @sc and run its steps; on the debug kernel, ask kmemleak at the
    end.  Return a list of failures (empty: passed).

    A boot whose first bug report came before any initcall is made once
    more: nothing of the series can be in it, but it turns lockdep off for
    the rest of the boot, so it is not waived.  The debug kernel makes one
    now and then on the emulated AMD-Vi machine (KASAN, in an interrupt
    during identify_cpu()); the first boot's log is kept beside the
    second's, as <scenario>.early.log."""
    logfile = CACHE / "logs" / f"{sc.name}.log"
    failures = boot_scenario(kernel, initrd, sc, logfile, show, debug)
    if failures and report_before_initcalls(logfile):
        early = logfile.with_suffix(".early.log")
        logfile.replace(early)
        log(f"boot {sc.name}: a bug report before any initcall ({early}): booting again")
        failures = boot_scenario(kernel, initrd, sc, logfile, show, debug)
    return failures


def boot_scenario(kernel, initrd, sc, logfile, show, debug):
    """One boot of @sc; failures, as run_scenario() returns them."""
    logfile.parent.mkdir(parents=True, exist_ok=True)
    named = frozenset(sc.ids())
    failures = []
    guest = None
    start = time.time()
    if debug:
        sc = dataclasses.replace(sc, cmdline=f"{sc.cmdline} {DEBUG_CMDLINE}")
    try:
        guest = Guest(kernel, initrd, sc, logfile)
        for step in sc.steps:
            if step.kind == "monitor":
                guest.qmp.hmp(guest.expand(step.arg, step.line))
                if step.arg.split()[0] == "device_del":
                    guest.unplugging.add(step.arg.split()[1])
            elif step.kind in ("wait", "gone"):
                failures += wait_device(guest, step)
            elif step.kind == "guest":
                command = TEXT.sub(lambda m: object_text(Path(kernel).parents[3], m.group(1)),
                                   guest.expand(step.arg, step.line))
                status, _ = guest.run(command, timeout=DEBUG_STEP_TIMEOUT if debug
                                      else STEP_TIMEOUT)
                if status:
                    failures.append(f"line {step.line}: guest command '{command}' "
                                    f"exited {status}")
            elif step.kind == "check":
                _, lines = guest.run("iso-report")
                ids = guest.qmp.pci_ids()
                guest.known.update({v: k for k, v in ids.items()})
                report = parse_report(lines, ids)
                guest.dmesg = [l[6:] for l in lines if l.startswith("dmesg ")]
                new_log = guest.dmesg[guest.dmesg_checked:]
                guest.dmesg_checked = len(guest.dmesg)
                if show:
                    print(format_shown(report) if report.core else format_report(report),
                          flush=True)
                errors = check_report(report, step.expect, named)
                errors += check_tool(report)
                errors += check_absent(report, step.expect, guest.known)
                errors += check_log(new_log, step.expect, guest.expand)
                if errors and not show:
                    print(format_report(report), flush=True)
                where = f"check at line {step.line}: " if step.line else ""
                failures += [where + e for e in errors]
            splats = [guest.dmesg[i] for i in splat_lines(guest.dmesg)]
            splats += [guest.console[i] for i in splat_lines(guest.console)]
            if splats:
                failures.append("the kernel log has a splat: " + splats[0])
            if failures:
                break
        if debug and not failures:
            failures += kmemleak_check(guest)
    except Failure as e:
        failures.append(str(e))
    finally:
        if guest:
            guest.close()
    if failures:
        tail = logfile.read_text().splitlines()[-30:] if logfile.exists() else []
        failures.append(f"console log: {logfile}; its last lines:\n    "
                        + "\n    ".join(tail))
    log(f"boot {sc.name}: {'FAIL' if failures else 'ok'} ({time.time() - start:.0f}s)")
    return failures


def scenarios():
    return sorted(SCENARIOS.glob("*.scn"))


def scenario_debug_only(path):
    return any(l.strip() == "debug: only" for l in Path(path).read_text().splitlines())


def boots(paths, iommu=None, debug=False):
    """Every boot of the scenario files: one per IOMMU each names, or on
    @iommu; the debug kernel's own scenarios only if @debug."""
    return [(p, i) for p in paths if debug or not scenario_debug_only(p)
            for i in ([iommu] if iommu else scenario_iommus(p, debug))]
