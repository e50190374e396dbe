#!/usr/bin/env python3
"""The isolation series' tooling: assemble, build, boot, test and export.

Run it as ./iso (which installs what it needs first).  ./iso help lists the
commands.
"""

import argparse
import fcntl
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench   # noqa: E402
import boot    # noqa: E402
import kbuild  # noqa: E402
import tree    # noqa: E402
from common import CACHE, REPO, Failure, log  # noqa: E402

DEFAULT_SCENARIO = boot.SCENARIOS / "default.scn"


def boot_kernel(work, debug=False):
    """The boot-test kernel, or the release check's debug kernel."""
    name, fragments = ("debug", ["boot.config", "debug.config"]) if debug else \
        ("boot", ["boot.config"])
    build = kbuild.build_kernel(work, name, fragments, targets=("bzImage", "modules"))
    return build / "arch/x86/boot/bzImage"


def initramfs(work, kernel):
    """The guest's initramfs: the test programs built for @kernel, and its modules."""
    build = kernel.parents[3]
    out = CACHE / ("initramfs.cpio" if build.name == "boot" else f"initramfs-{build.name}.cpio")
    boot.build_initramfs(out, kbuild.guest_programs(work, build),
                         kbuild.install_modules(work, build))
    return out


# --- static checks ------------------------------------------------------------

def commit_text(changes, i, versions):
    """Change @i as git format-patch would write it: message, sign-off, diff."""
    change = changes[i]
    r = subprocess.run(["git", "config", "user.name"], capture_output=True, text=True)
    e = subprocess.run(["git", "config", "user.email"], capture_output=True, text=True)
    who = f"{r.stdout.strip() or 'Isolation Developers'} <{e.stdout.strip() or 'isolation@localhost'}>"
    diff = tree.change_diff(changes, i, versions)
    stat = subprocess.run(["git", "apply", "--stat", "-"], input=diff,
                          capture_output=True, text=True).stdout
    subject, _, body = change.message().partition("\n\n")
    return (f"From: {who}\nSubject: [PATCH] {subject}\n\n{body}\n"
            f"Signed-off-by: {who}\n---\n{stat}\n{diff}")


def checkpatch(work):
    """checkpatch.pl --strict on every change of the series.  Return failures."""
    failures = []
    changes = tree.read_series()
    versions = tree.new_file_versions(changes)
    for i, c in enumerate(changes):
        with tempfile.NamedTemporaryFile("w", suffix=".patch") as f:
            f.write(commit_text(changes, i, versions))
            f.flush()
            r = subprocess.run(["perl", "scripts/checkpatch.pl", "--strict", "--terse",
                                "--no-summary", "--show-types", f.name],
                               cwd=work, capture_output=True, text=True)
        out = [l for l in r.stdout.splitlines() if l.strip()]
        if out or r.returncode:
            failures.append(f"checkpatch --strict on {c.patch.name}:\n    " +
                            "\n    ".join(out or [r.stderr.strip()]))
    log(f"checkpatch --strict: {'FAIL' if failures else 'ok'}")
    return failures


def new_sources(suffix):
    return sorted({p for c in tree.read_series() for p in c.new_files
                   if p.endswith(suffix) and "/test/" not in p
                   and not p.endswith("_test.c")})


def kernel_doc(work):
    """scripts/kernel-doc -Wall on the series' new C files and headers that
    @work has (a point of the series may not have them all yet)."""
    files = [f for f in new_sources(".c") + new_sources(".h") if (work / f).is_file()]
    if not files:
        return []
    r = subprocess.run(["perl", "scripts/kernel-doc", "-none", "-Wall"] + files,
                       cwd=work, capture_output=True, text=True)
    warn = [l for l in (r.stdout + r.stderr).splitlines() if l.strip()]
    log(f"kernel-doc -Wall: {'FAIL' if warn or r.returncode else 'ok'}")
    return [f"kernel-doc:\n    " + "\n    ".join(warn)] if warn or r.returncode else []


def sparse(work, build):
    """sparse (make C=2) and W=1 on the series' new C files in the boot kernel."""
    # tools/ is userspace, built by its own Makefile (tests/tool/run).
    objs = [p[:-2] + ".o" for p in new_sources(".c")
            if not p.startswith("tools/") and (work / p).is_file()]
    if not objs:    # make with no target would check the whole kernel
        return []
    r = subprocess.run(kbuild.make_args(work, build) + ["C=2", "CHECK=sparse", "W=1"] + objs,
                       capture_output=True, text=True,
                       env=dict(os.environ, **kbuild.ccache_env()))
    warn = [l for l in (r.stdout + r.stderr).splitlines()
            if re.search(r": (warning|error):", l)]
    if r.returncode:
        warn.append(f"make C=2 W=1 failed: {r.stderr.strip()[-500:]}")
    log(f"sparse and W=1 on {' '.join(objs)}: {'FAIL' if warn else 'ok'}")
    return ["sparse, W=1:\n    " + "\n    ".join(warn)] if warn else []


def without_isolation(work):
    """Build what the series touches with CONFIG_ISOLATION unset."""
    try:
        kbuild.build_kernel(work, "no-isolation", ["boot.config", "no-isolation.config"],
                            targets=SERIES_DIRS)
    except Failure as e:
        return [f"build without CONFIG_ISOLATION: {e}"]
    return []


def tool_test(work):
    """tests/tool/run: the tool of the series, built in @work, against fake
    sysfs trees (the boot scenarios run it on real ones)."""
    r = subprocess.run([sys.executable, str(REPO / "tests/tool/run"), "--source", str(work)],
                       capture_output=True, text=True)
    last = (r.stdout.strip().splitlines() or ["no output"])[-1]
    log(f"tools/isolation: {last}")
    if r.returncode:
        bad = [l for l in r.stdout.splitlines() if not l.startswith("ok ")]
        return ["tests/tool/run:\n    " + "\n    ".join(bad + r.stderr.splitlines())]
    return []


def export_locked(out):
    """tree.export() under the export lock: two exports would check out each
    other's commits under each other's builds."""
    (CACHE / "export").mkdir(parents=True, exist_ok=True)
    lock = open(CACHE / "export" / ".lock", "w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.close()
        raise Failure("another ./iso export is running on this cache; wait for it")
    try:
        return lock, tree.export(out)
    except BaseException:
        lock.close()
        raise


def export_check():
    """The series exports: one patch per line of patches/series, and a cover
    letter that names the base it was exported against, in its text and in
    the base-commit: trailer, which is the same commit on every machine."""
    with tempfile.TemporaryDirectory() as out:
        try:
            lock, (repo, out) = export_locked(Path(out) / "series")
        except Failure as e:
            return [f"export: {e}"]
        with lock:
            git = ["git", "-C", str(repo)]
            sha = subprocess.run(git + ["rev-parse", "base"], capture_output=True,
                                 text=True).stdout.strip()
            date = subprocess.run(git + ["log", "-1", "--format=%aI %cI", "base"],
                                  capture_output=True, text=True).stdout.split()
        patches = sorted(out.glob("*.patch"))
        cover = out / "0000-cover-letter.patch"
        text = cover.read_text() if cover.is_file() else ""
        version = tree.base().version
        bad = []
        if len(patches) != len(tree.read_series()) + 1:
            bad.append(f"{len(patches)} files for {len(tree.read_series())} patches "
                       "and a cover letter")
        if f"Base: Linux {version}." not in text or tree.BASE_MARK in text:
            bad.append(f"the cover letter does not name the base, Linux {version}")
        if not re.search(rf"^base-commit: {sha}$", text, re.M):
            bad.append(f"the cover letter has no 'base-commit: {sha}' trailer")
        fixed = tree.BASE_COMMIT_ENV["GIT_AUTHOR_DATE"].replace("+0000", "+00:00")
        if date != [fixed, fixed]:
            bad.append(f"the base commit {sha} is not made the fixed way ({date})")
    log(f"export: {'FAIL' if bad else 'ok'} ({len(patches)} files, base-commit {sha[:12]})")
    return [f"export:\n    " + "\n    ".join(bad)] if bad else []


# --- commands -------------------------------------------------------------------

def cmd_assemble(args):
    print(tree.assemble())


def cmd_base(args):
    b = tree.base()
    print(f"{b.path}\nLinux {b.version}")


def cmd_build(args):
    print(boot_kernel(tree.assemble()))


def cmd_kunit(args):
    return 0 if kbuild.kunit(tree.assemble(), args.kunit_args) else 1


def cmd_boot(args):
    work = tree.assemble()
    kernel = boot_kernel(work, args.debug)
    initrd = initramfs(work, kernel)
    failed = 0
    for path, iommu in boot.boots(args.scenario or boot.scenarios(), args.iommu, args.debug):
        sc = boot.parse_scenario(path, iommu=iommu)
        failures = boot.run_scenario(kernel, initrd, sc, show=args.show, debug=args.debug)
        for f in failures:
            print(f"FAIL {sc.name}: {f}")
        failed += bool(failures)
    return 1 if failed else 0


def cmd_run(args):
    """The main job: build, boot a topology on an emulated IOMMU, show the groups."""
    work = tree.assemble()
    kernel = boot_kernel(work)
    initrd = initramfs(work, kernel)
    sc = boot.parse_scenario(args.scenario or DEFAULT_SCENARIO, args.qemu, args.iommu)
    print(f"\n{sc.name}: {sc.title} (on {sc.iommu}-iommu)")
    failures = boot.run_scenario(kernel, initrd, sc, show=True)
    for f in failures:
        print(f"FAIL: {f}")
    print(f"\nboot kernel: {kernel}\ninitramfs:   {initrd}\n"
          f"console log: {CACHE / 'logs' / (sc.name + '.log')} (its first line is the QEMU command)")
    return 1 if failures else 0


def figures(boots, debug):
    """What the robustness tests did in this run, read from their logs."""
    def count(pattern, text):
        return sum(int(m) for m in re.findall(pattern, text))

    def logs(prefix):
        paths = [CACHE / "logs" / f"{n}.log" for n, _ in boots if n.split("@")[0] == prefix]
        return "".join(p.read_text(errors="replace") for p in paths if p.exists())
    kunit_log = kbuild.KUNIT_BUILD / "test.log"
    kunit = kunit_log.read_text(errors="replace") if kunit_log.exists() else ""
    failures = [f for _, fs in boots for f in fs]
    points = count(r"(\d+) allocation failure points injected", kunit)
    rounds = count(r"stress: (\d+) rounds of 8 workers done", logs("stress"))
    hostile = len(re.findall(r"vfio-test: write .*: E[A-Z]+\r?$", logs("hostile"), re.M))
    splats = sum("has a splat" in f for f in failures)
    out = [f"KUnit fault injection: {points} allocation failure points, each refused "
           "or absorbed, nothing changed",
           f"stress: {rounds} rounds of 8 workers, over the stress boots",
           f"hostile writes refused: {hostile}",
           f"boots: {len(boots)}, kernel log splats: {splats}"]
    if debug:
        claim = count(r"faults: (\d+) points in a claim", logs("faults"))
        release = count(r"(\d+) in a release", logs("faults"))
        leaks = sum("kmemleak: the series leaked" in f for f in failures)
        out += [f"fault injection from userspace: {claim} points in a claim, "
                f"{release} in a release",
                f"kmemleak reports from the series: {leaks}"]
    return out


def cmd_test(args):
    """Every test: static checks, KUnit under QEMU, every boot scenario; with
    --debug, the scenarios on the debug kernel, with kmemleak, and its own."""
    start = time.time()
    work = tree.assemble()
    results = []          # (name, ok)

    def step(name, failures):
        results.append((name, not failures))
        for f in failures:
            print(f"FAIL {f}", flush=True)

    step("checkpatch --strict", checkpatch(work))
    step("kernel-doc", kernel_doc(work))
    step("export", export_check())
    results.append(("kunit", kbuild.kunit(work)))
    kernel = boot_kernel(work, args.debug)
    step("sparse and W=1", sparse(work, kernel.parents[3]))
    step("build without CONFIG_ISOLATION", without_isolation(work))
    step("tools/isolation", tool_test(work))

    initrd = initramfs(work, kernel)
    boots = []
    for path, iommu in boot.boots(boot.scenarios(), debug=args.debug):
        sc = boot.parse_scenario(path, iommu=iommu)
        failures = boot.run_scenario(kernel, initrd, sc, debug=args.debug)
        for f in failures:
            print(f"FAIL boot {sc.name}: {f}")
        results.append((f"boot {sc.name}", not failures))
        boots.append((sc.name, failures))

    passed = [n for n, ok in results if ok]
    failed = [n for n, ok in results if not ok]
    print(f"\n{'=' * 60}\nTESTS ({time.time() - start:.0f}s)")
    for n, ok in results:
        print(f"  {'ok  ' if ok else 'FAIL'}  {n}")
    print("figures:\n  " + "\n  ".join(figures(boots, args.debug)))
    print(f"test: {len(passed)} passed, {len(failed)} failed")
    return 1 if failed else 0


def cmd_bench(args):
    return bench.cmd_bench(tree.assemble())


def cmd_refresh(args):
    if bool(args.patch) != bool(args.files):
        raise Failure("refresh takes no arguments, or a patch and the files to put in it")
    for p in tree.refresh(args.patch, args.files):
        print(f"updated {p}")


def cmd_fold(args):
    for p in tree.fold(args.patch, args.file):
        print(f"updated {p}")


# What the series touches, built without CONFIG_ISOLATION by ./iso test.
SERIES_DIRS = ["drivers/base/", "drivers/pci/", "drivers/iommu/", "drivers/vfio/"]
# The two ways distributions build the series, built after each of its
# patches by export --build: VFIO and the KUnit suites as modules (the boot
# kernel: vmlinux, then the modules, which modpost links against it), and
# all of it built in (with the fsl-mc bus; CDX builds on ARM64 only, so its
# object alone).
SERIES_BUILDS = [("series-modular", ["boot.config"], ["vmlinux", "modules"]),
                 ("series-builtin", ["boot.config", "builtin.config"],
                  ["vmlinux", "drivers/cdx/cdx.o"])]


def build_each_patch(repo, first=1):
    """At every commit of the exported series: build what it touches modular
    and built in, check its new C files with sparse, W=1 and kernel-doc, and
    run the KUnit suites that exist at that point.  Patches before @first
    are skipped (a run that stopped there, whose earlier patches have not
    changed since)."""
    commits = subprocess.run(["git", "-C", str(repo), "rev-list", "--reverse", "base..HEAD"],
                             capture_output=True, text=True, check=True).stdout.split()
    if first > len(commits):
        raise Failure(f"--from {first}: the series has {len(commits)} patches")
    head = commits[-1]
    try:
        for n, sha in enumerate(commits, 1):
            if n < first:
                continue
            subject = subprocess.run(["git", "-C", str(repo), "log", "-1", "--format=%s", sha],
                                     capture_output=True, text=True).stdout.strip()
            log(f"patch {n}/{len(commits)}: {subject}")
            subprocess.run(["git", "-C", str(repo), "checkout", "-q", sha], check=True)
            for name, fragments, targets in SERIES_BUILDS:
                kbuild.build_kernel(repo, name, fragments, targets=targets,
                                    series_point=True, check=sha == head)
            bad = sparse(repo, CACHE / "build" / SERIES_BUILDS[0][0]) + kernel_doc(repo)
            if bad:
                raise Failure(f"patch {n}/{len(commits)}:\n" + "\n".join(bad))
            if not kbuild.kunit(repo, build=CACHE / "build" / "kunit-series"):
                raise Failure(f"patch {n}/{len(commits)}: the KUnit suites fail")
    finally:
        subprocess.run(["git", "-C", str(repo), "checkout", "-q", head])
    log(f"patches {first} to {len(commits)} each build modular and built in, "
        "are clean under sparse, W=1 and kernel-doc, and pass the KUnit suites they have")


def cmd_export(args):
    if args.first != 1 and not args.build:
        raise Failure("--from is for --build: it names the first patch to build")
    if args.first < 1:
        raise Failure(f"--from {args.first}: patches are numbered from 1")
    lock, (repo, out) = export_locked(args.out)
    with lock:
        if args.build:
            build_each_patch(repo, args.first)
    print(out)


def main():
    p = argparse.ArgumentParser(prog="./iso", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", metavar="COMMAND")

    iommu_help = ("the emulated IOMMU: " + ", ".join(boot.IOMMUS) +
                  f" (default: {boot.DEFAULT_IOMMU}, or each the scenario names)")
    s = sub.add_parser("run", help="the main job: build the patched kernel, boot it on "
                       "an emulated IOMMU (VT-d by default) and show the groups")
    s.add_argument("--iommu", choices=list(boot.IOMMUS), help=iommu_help)
    s.add_argument("args", nargs=argparse.REMAINDER, metavar="[SCENARIO.scn] [-- QEMU ARGS]",
                   help="a scenario file (default: tests/boot/default.scn), then after -- "
                   "more QEMU arguments, e.g. -- -device pcie-root-port,id=myrp,chassis=9,"
                   "addr=0x6 -device edu,bus=myrp")
    s.set_defaults(fn=cmd_run)

    s = sub.add_parser("test", help="every test: checkpatch, KUnit, sparse, boot scenarios")
    s.add_argument("--debug", action="store_true",
                   help="the release check: the scenarios on the debug kernel (KASAN, "
                   "kmemleak, DEBUG_OBJECTS, DEBUG_KOBJECT_RELEASE, failslab), and its own")
    s.set_defaults(fn=cmd_test)

    s = sub.add_parser("bench", help="the benchmark: isolation groups against iommu groups "
                       "and the bus's match, one table of ratios (not a test)")
    s.set_defaults(fn=cmd_bench)

    s = sub.add_parser("base", help="unpack the base tree and say where and which it is")
    s.set_defaults(fn=cmd_base)
    s = sub.add_parser("assemble", help="lay the series over the base, in the cache")
    s.set_defaults(fn=cmd_assemble)
    s = sub.add_parser("build", help="build the boot-test kernel")
    s.set_defaults(fn=cmd_build)
    s = sub.add_parser("kunit", help="the KUnit suites under QEMU (more kunit.py "
                       "arguments after --)")
    s.add_argument("kunit_args", nargs=argparse.REMAINDER)
    s.set_defaults(fn=cmd_kunit)
    s = sub.add_parser("boot", help="boot scenarios (all, or the files named)")
    s.add_argument("scenario", nargs="*")
    s.add_argument("--iommu", choices=list(boot.IOMMUS), help=iommu_help)
    s.add_argument("--debug", action="store_true", help="on the release check's debug kernel")
    s.add_argument("--show", action="store_true", help="print the groups at every check")
    s.set_defaults(fn=cmd_boot)
    s = sub.add_parser("refresh", help="write edits made in the work tree back into "
                       "the series (PATCH FILE...: add upstream files to a patch)")
    s.add_argument("patch", nargs="?")
    s.add_argument("files", nargs="*")
    s.set_defaults(fn=cmd_refresh)
    s = sub.add_parser("fold", help="put the uncommitted change of a new file (FILE) "
                       "into the patch it belongs in (PATCH), and through the later ones")
    s.add_argument("patch")
    s.add_argument("file")
    s.set_defaults(fn=cmd_fold)
    s = sub.add_parser("export", help="the series as git format-patch files")
    s.add_argument("out", nargs="?", default=str(CACHE / "series"))
    s.add_argument("--build", action="store_true",
                   help="and build what the series touches after each patch")
    s.add_argument("--from", dest="first", type=int, default=1, metavar="N",
                   help="with --build, start at patch N")
    s.set_defaults(fn=cmd_export)
    s = sub.add_parser("help", help="this message")
    s.set_defaults(fn=lambda a: p.print_help())

    args = p.parse_args()
    if not getattr(args, "fn", None):
        p.print_help()
        return 2
    if args.cmd == "run":
        rest = list(args.args)
        args.scenario = rest.pop(0) if rest and rest[0] != "--" and \
            not rest[0].startswith("-") else None
        args.qemu = rest[1:] if rest and rest[0] == "--" else rest
    if getattr(args, "kunit_args", None) and args.kunit_args[0] == "--":
        args.kunit_args = args.kunit_args[1:]
    try:
        return args.fn(args) or 0
    except Failure as e:
        print(f"iso: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
