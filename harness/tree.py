"""The kernel trees: the pinned base, the assembled work tree, the exported series.

The base is Linux 6.12.y as Debian's linux-source-6.12 package ships it,
unpacked once into the cache, or a tree the user names with KERNEL_SRC.  The
work tree is a copy of the base with the series applied (patches/series):
the repository's new files laid over it and its patches to upstream files
applied.

The repository holds each new file as the whole series leaves it.  A patch
after the one that adds a file may change it too (a later step of the same
work): its diff of the file is kept in the patch, and the file as an
earlier patch leaves it is the repository's file with the later patches'
diffs of it taken back, last first (new_file_versions()).

Re-assembling rewrites only the files whose content changes, so builds stay
incremental, and puts back from the base every file an older series touched
that this one does not.
"""

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from common import CACHE, REPO, Failure, log, run

DEB_TARBALL = Path("/usr/src/linux-source-6.12.tar.xz")
DEB_PACKAGE = "linux-source-6.12"
SERIES = REPO / "patches" / "series"
# Fixes to upstream code that the test kernels carry and the series does
# not: each says why in its header (see harness/kernel-fixes/).
KERNEL_FIXES = REPO / "harness" / "kernel-fixes"
MANIFEST = ".isolation-manifest"
BASE_STAMP = ".isolation-base"


@dataclass
class Change:
    """One line of patches/series: one commit of the exported series."""
    patch: Path
    new_files: list = field(default_factory=list)
    # Every new file of the series, which diff() leaves to own_sections().
    series_files: frozenset = frozenset()

    @property
    def text(self):
        return self.patch.read_text()

    def message(self):
        """The commit message: the subject, a blank line, the body."""
        head = self.text.split("\n---\n", 1)[0]
        m = re.match(r"Subject: (.*)\n\n?", head)
        if not m:
            raise Failure(f"{self.patch.name}: no 'Subject:' line at the top")
        return m.group(1) + "\n\n" + head[m.end():].strip() + "\n"

    def full_diff(self):
        """Everything below the message: diffs of upstream and new files."""
        text = self.text
        i = text.find("\ndiff --git ")
        return text[i + 1:] if i >= 0 else ""

    def diff(self):
        """The part of the patch that changes upstream files ('' if none)."""
        return "".join(s for p, s in _sections(self.full_diff()).items()
                       if p not in self.series_files)

    def own_sections(self):
        """{path: diff} of the new files of earlier patches that this one changes."""
        return {p: s for p, s in _sections(self.full_diff()).items()
                if p in self.series_files}

    def patched_files(self):
        return re.findall(r"^diff --git a/(\S+) b/", self.diff(), re.M)


def read_series():
    changes = []
    for n, line in enumerate(SERIES.read_text().splitlines(), 1):
        line = line.split("#", 1)[0].split()
        if not line:
            continue
        change = Change(REPO / "patches" / line[0], line[1:])
        for f in [change.patch] + [REPO / p for p in change.new_files]:
            if not f.is_file():
                raise Failure(f"patches/series line {n}: {f.relative_to(REPO)} does not exist")
        changes.append(change)
    series_files = frozenset(p for c in changes for p in c.new_files)
    for c in changes:
        c.series_files = series_files
    return changes


def _reverse(diff, path, text, patch):
    """@text, the content of @path, with @diff of it taken back."""
    with tempfile.TemporaryDirectory(prefix="isolation-reverse-") as tmp:
        f = Path(tmp) / path
        f.parent.mkdir(parents=True)
        f.write_text(text)
        r = subprocess.run(["git", "apply", "-R", "--whitespace=nowarn", "-"], cwd=tmp,
                           input=diff, capture_output=True, text=True)
        if r.returncode:
            raise Failure(f"{patch.name} changes {path}, and its diff no longer matches the "
                          f"repository's {path} (as the patches after it leave it): "
                          f"update the diff in {patch.name}\n" + r.stderr.strip())
        return f.read_text()


def new_file_versions(changes):
    """The new files as each change leaves them: [{path: text}, ...], one
    dict per change, holding the files added by it or by an earlier one."""
    added = {}
    for i, c in enumerate(changes):
        for p in c.new_files:
            if p in added:
                raise Failure(f"patches/series: {p} is added twice")
            added[p] = i
    text = {p: (REPO / p).read_text() for p in added}
    out = [None] * len(changes)
    for i in range(len(changes) - 1, -1, -1):
        out[i] = {p: t for p, t in text.items() if added[p] <= i}
        for p, diff in changes[i].own_sections().items():
            if added[p] >= i:
                raise Failure(f"{changes[i].patch.name} changes {p}, "
                              "which it or a later patch adds")
            text[p] = _reverse(diff, p, text[p], changes[i].patch)
    return out


def change_diff(changes, i, versions=None):
    """The whole diff of change @i, as its commit shows it: the upstream
    files, the new files it adds (as it leaves them), the new files of
    earlier changes it changes."""
    versions = versions or new_file_versions(changes)
    c = changes[i]
    parts = [c.diff()]
    for p in c.new_files:
        with tempfile.TemporaryDirectory(prefix="isolation-new-") as tmp:
            (Path(tmp) / p).parent.mkdir(parents=True)
            (Path(tmp) / p).write_text(versions[i][p])
            parts.append(subprocess.run(["git", "diff", "--no-index", "--", "/dev/null", p],
                                        cwd=tmp, capture_output=True, text=True).stdout)
    parts += list(c.own_sections().values())
    return "".join(parts)


@dataclass
class Base:
    path: Path
    version: str   # what it is, for the record: the package version or the user's tree


def deb_version():
    r = subprocess.run(["dpkg-query", "-W", "-f=${Version}", DEB_PACKAGE],
                       capture_output=True, text=True)
    return r.stdout.strip() if r.returncode == 0 else ""


def kernel_version(tree):
    mk = (Path(tree) / "Makefile").read_text()[:1000]
    v = {k: re.search(rf"^{k} = (\S*)", mk, re.M) for k in ("VERSION", "PATCHLEVEL", "SUBLEVEL")}
    return ".".join(m.group(1) if m else "?" for m in v.values())


def base():
    """The base tree, unpacking Debian's package the first time."""
    user = os.environ.get("KERNEL_SRC")
    if user:
        path = Path(user).resolve()
        if not (path / "Makefile").is_file() or not (path / "drivers/base/dd.c").is_file():
            raise Failure(f"KERNEL_SRC={user} is not a kernel source tree")
        version = kernel_version(path)
        if not version.startswith("6.12."):
            log(f"warning: KERNEL_SRC is Linux {version}; the series is made for 6.12.y")
        return Base(path, f"{version} from {path}")

    version = deb_version()
    if not version or not DEB_TARBALL.is_file():
        raise Failure(f"{DEB_PACKAGE} is not installed (./iso installs it; "
                      "or set KERNEL_SRC to a 6.12 tree)")
    top = CACHE / "base" / version
    path = top / "linux-source-6.12"
    if not (top / ".unpacked").exists():
        log(f"unpacking {DEB_TARBALL} ({DEB_PACKAGE} {version}) into {top}")
        shutil.rmtree(top, ignore_errors=True)
        top.mkdir(parents=True)
        run(["tar", "-xf", DEB_TARBALL, "-C", top])
        (top / ".unpacked").write_text(version + "\n")
    return Base(path, f"{kernel_version(path)} ({DEB_PACKAGE} {version})")


def work_tree():
    return CACHE / "work" / "linux"


def kernel_fixes():
    """The test kernels' own fixes: (name, diff) each."""
    out = []
    for p in sorted(KERNEL_FIXES.glob("*.patch")):
        text = p.read_text()
        i = text.find("\ndiff --git ")
        out.append((p.name, text[i + 1:] if i >= 0 else ""))
    return out


def _stage(changes, b, stage, fixes=(), upto=None):
    """Apply the series (its first @upto changes, if given), then @fixes,
    to copies of the files they touch, under @stage.

    Returns the set of paths written, relative to the tree."""
    versions = new_file_versions(changes)
    if upto is not None:
        changes = changes[:upto]
    touched = set()
    for c in changes:
        touched.update(c.patched_files())
    for _, diff in fixes:
        touched.update(re.findall(r"^diff --git a/(\S+) b/", diff, re.M))
    for p in touched:
        src = b.path / p
        if src.is_file():
            (stage / p).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, stage / p)
    for c in changes:
        for p in c.new_files:
            (stage / p).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / p, stage / p)
        diff = c.diff()
        if diff:
            r = subprocess.run(["git", "apply", "--whitespace=nowarn", "-"], cwd=stage,
                               input=diff, capture_output=True, text=True)
            if r.returncode:
                raise Failure(f"patch {c.patch.name} does not apply to Linux {b.version}:\n"
                              + r.stderr.strip())
        touched.update(c.new_files)
    if changes:
        for p, text in versions[len(changes) - 1].items():
            (stage / p).write_text(text)
    for name, diff in fixes:
        r = subprocess.run(["git", "apply", "--whitespace=nowarn", "-"], cwd=stage,
                           input=diff, capture_output=True, text=True)
        if r.returncode:
            raise Failure(f"harness/kernel-fixes/{name} does not apply:\n" + r.stderr.strip())
    return touched


def _same(a, b):
    return b.is_file() and a.stat().st_size == b.stat().st_size and \
        a.read_bytes() == b.read_bytes()


def _digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "-"


def _manifest(work):
    """What the last assembly wrote: {path: digest of what it wrote}."""
    f = work / MANIFEST
    if not f.exists():
        return {}
    return dict(line.split() for line in f.read_text().splitlines() if line.strip())


def edited_files(work):
    """Files of the series edited in the work tree since it was assembled."""
    return [p for p, d in _manifest(work).items() if _digest(work / p) != d]


def assemble():
    """Bring the work tree to base + series (+ the test kernels' fixes),
    touching only what changes."""
    b = base()
    changes = read_series()
    work = work_tree()
    stamp = work / BASE_STAMP
    if not stamp.is_file() or stamp.read_text() != str(b.path) + "\n" + b.version + "\n":
        log(f"copying the base tree (Linux {b.version}) into {work}")
        work.mkdir(parents=True, exist_ok=True)
        run(["rsync", "-a", "--delete", "--exclude=/.git", f"{b.path}/", f"{work}/"])
        (work / MANIFEST).unlink(missing_ok=True)
        stamp.write_text(str(b.path) + "\n" + b.version + "\n")

    edited = edited_files(work)
    if edited and os.environ.get("CI"):
        # A CI run has no edits of its own: what is there is a developer's
        # leftover in a shared cache, and the series is what counts.
        log("CI: discarding edits in the work tree: " + " ".join(edited))
    elif edited and not os.environ.get("ISOLATION_DISCARD_EDITS"):
        raise Failure("these files were edited in the work tree since it was assembled:\n  "
                      + "\n  ".join(edited) + "\nsave them into the series with ./iso refresh "
                      "(or ./iso refresh PATCH FILE for a new file), or discard them with "
                      "ISOLATION_DISCARD_EDITS=1")
    old = set(_manifest(work))
    with tempfile.TemporaryDirectory(prefix="isolation-stage-") as tmp:
        stage = Path(tmp)
        new = _stage(changes, b, stage, kernel_fixes())
        written = 0
        for p in sorted(new):
            if not _same(stage / p, work / p):
                (work / p).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(stage / p, work / p)
                written += 1
    for p in sorted(old - new):
        # A file an older series touched: back to the base, or gone.
        if (b.path / p).is_file():
            if not _same(b.path / p, work / p):
                shutil.copyfile(b.path / p, work / p)
        else:
            (work / p).unlink(missing_ok=True)
        written += 1
    (work / MANIFEST).write_text("".join(f"{p} {_digest(work / p)}\n" for p in sorted(new)))
    log(f"assembled {work}: Linux {b.version} + {len(changes)} patches, "
        f"{written} files updated")
    return work


def _unified(old, new, path):
    """The diff of one file, @old to @new, as git would write it for @path."""
    r = subprocess.run(["diff", "-up", "--label", f"a/{path}", "--label", f"b/{path}",
                        str(old), str(new)],
                       capture_output=True, text=True)
    if r.returncode > 1:
        raise Failure(f"diff {path}: {r.stderr.strip()}")
    return f"diff --git a/{path} b/{path}\n" + r.stdout if r.stdout else ""


def _sections(diff):
    """{path: section} of a diff, one section per file."""
    out = {}
    for sec in re.split(r"(?m)^(?=diff --git )", diff):
        m = re.match(r"diff --git a/(\S+) ", sec)
        if m:
            out[m.group(1)] = sec
    return out


def refresh(patch=None, files=()):
    """Write work-tree edits back into the series.

    An edited upstream file's diff goes into the last patch that changes it,
    taken against the tree as the patches before that one leave it.  With
    @patch and @files, those files' diffs go into @patch, which must be the
    last patch to change them (this adds a file to a patch).  Edited new
    files are copied back to the repository."""
    b = base()
    work = work_tree()
    changes = read_series()
    edited = set(edited_files(work))
    assembled = _manifest(work)
    new_files = {p for c in changes for p in c.new_files}
    updated = []

    for p in sorted(edited & new_files):
        if _digest(REPO / p) != assembled.get(p):
            raise Failure(f"{p} was edited both in the repository and in the work tree")
        shutil.copyfile(work / p, REPO / p)
        updated.append(p)

    last = {}
    for i, c in enumerate(changes):
        for p in c.patched_files():
            last[p] = i
    targets = {p: last[p] for p in edited - new_files if p in last}
    if patch:
        idx = [i for i, c in enumerate(changes) if c.patch.name == Path(patch).name]
        if not idx:
            raise Failure(f"{patch} is not in patches/series")
        for p in files:
            if p in new_files:
                raise Failure(f"{p} is a new file of the series, not an upstream file")
            if last.get(p, -1) > idx[0]:
                raise Failure(f"{p} is changed by a later patch, "
                              f"{changes[last[p]].patch.name}: refresh that one")
            targets[p] = idx[0]

    for i in sorted(set(targets.values())):
        c = changes[i]
        mine = sorted(p for p, t in targets.items() if t == i)
        with tempfile.TemporaryDirectory(prefix="isolation-refresh-") as tmp:
            before = Path(tmp)
            _stage(changes, b, before, upto=i)
            sections = _sections(c.full_diff())
            for p in mine:
                src = before / p if (before / p).exists() else b.path / p
                d = _unified(src, work / p, p)
                if d:
                    sections[p] = d
                else:
                    sections.pop(p, None)
        head = c.text.split("\n---\n", 1)[0]
        text = head + "\n---\n" + "".join(sections[p] for p in sorted(sections))
        if text != c.text:
            c.patch.write_text(text)
            updated.append(c.patch.name)

    # A later patch's diff of an edited new file must still match it.
    new_file_versions(changes)
    # The work tree now matches the series: record it as assembled.
    paths = set(assembled) | set(last) | set(targets) | new_files
    (work / MANIFEST).write_text("".join(f"{p} {_digest(work / p)}\n" for p in sorted(paths)))
    return updated


def _merge(base, ours, theirs, path, what):
    """@theirs, @path as a patch leaves it, with the change from @base to
    @ours merged in (git merge-file): lines that later patches change stay
    theirs, lines of the change are taken, and a line both change fails."""
    with tempfile.TemporaryDirectory(prefix="isolation-fold-") as tmp:
        t = Path(tmp)
        (t / "base").write_text(base)
        (t / "ours").write_text(ours)
        (t / "theirs").write_text(theirs)
        r = subprocess.run(["git", "merge-file", "-p", "-L", "change", "-L", "committed",
                            "-L", what, "ours", "base", "theirs"],
                           cwd=tmp, capture_output=True, text=True)
        if r.returncode:
            raise Failure(f"the change of {path} meets lines that {what} changes too: "
                          f"edit that patch's diff by hand")
        return r.stdout


def fold(patch, path):
    """Put the uncommitted change of a new file into the patch it belongs in.

    The repository holds @path as the whole series leaves it.  Its change
    since the last commit is taken to be @patch's: it is carried into the
    file as @patch and every later patch leave it, and the diffs of @path in
    the patches after the one that adds it are written anew, so that the
    series still ends with the repository's file.  A change that does not
    apply to the file as a later patch leaves it fails, changing nothing."""
    changes = read_series()
    names = [c.patch.name for c in changes]
    if Path(patch).name not in names:
        raise Failure(f"{patch} is not in patches/series")
    target = names.index(Path(patch).name)
    adders = [i for i, c in enumerate(changes) if path in c.new_files]
    if not adders:
        raise Failure(f"{path} is not a new file of the series")
    first = adders[0]
    if target < first:
        raise Failure(f"{path} is added by {names[first]}, after {names[target]}")
    r = subprocess.run(["git", "show", f"HEAD:{path}"], cwd=REPO, capture_output=True, text=True)
    if r.returncode:
        raise Failure(f"{path} is not committed: nothing to fold into")
    committed, now = r.stdout, (REPO / path).read_text()

    # The file as each change leaves it, before and after the fold.
    old = {len(changes) - 1: committed}
    for i in range(len(changes) - 1, first, -1):
        sec = changes[i].own_sections().get(path)
        old[i - 1] = _reverse(sec, path, old[i], changes[i].patch) if sec else old[i]
    if committed == now:
        return []
    new = {i: (_merge(committed, now, t, path, names[i]) if i >= target else t)
           for i, t in old.items()}
    if new[len(changes) - 1] != now:
        raise Failure(f"folding {path} into {names[target]} does not end with the repository's file")

    updated = []
    with tempfile.TemporaryDirectory(prefix="isolation-fold-") as tmp:
        for i in range(first + 1, len(changes)):
            c = changes[i]
            sections = _sections(c.full_diff())
            (Path(tmp) / "a").write_text(new[i - 1])
            (Path(tmp) / "b").write_text(new[i])
            d = _unified(Path(tmp) / "a", Path(tmp) / "b", path)
            if d == sections.get(path, ""):
                continue
            if d:
                sections[path] = d
            else:
                sections.pop(path)
            head = c.text.split("\n---\n", 1)[0]
            c.patch.write_text(head + "\n---\n" + "".join(sections[p] for p in sorted(sections)))
            updated.append(c.patch.name)
    new_file_versions(read_series())
    return updated


def series_hash():
    """A digest of everything the series consists of."""
    h = hashlib.sha256()
    for c in read_series():
        h.update(c.patch.read_bytes())
        for p in c.new_files:
            h.update(p.encode() + b"\0" + (REPO / p).read_bytes())
    return h.hexdigest()


def git_identity():
    """git -c options naming the author of the exported commits: none if
    git knows the user, else the author of this repository's last commit,
    so that a machine without a git identity can export."""
    if subprocess.run(["git", "var", "GIT_COMMITTER_IDENT"], cwd=REPO,
                      capture_output=True).returncode == 0:
        return []
    who = subprocess.run(["git", "log", "-1", "--format=%an%n%ae"], cwd=REPO,
                         capture_output=True, text=True).stdout.split("\n")
    if len(who) < 2 or not who[0]:
        raise Failure("git knows no identity to sign the patches with: "
                      "git config --global user.name ...; git config --global user.email ...")
    return ["-c", f"user.name={who[0]}", "-c", f"user.email={who[1]}"]


# The base's commit in the export repository is made the same way on every
# machine (one commit of the base tree, with a fixed author, committer and
# date), so that the base-commit: trailer of the cover letter names the same
# commit wherever the series is exported from the same base.  A change of
# how it is made changes BASE_COMMIT_FORMAT, so that caches make it again.
BASE_COMMIT_FORMAT = "base commit v2: "
BASE_COMMIT_ENV = {"GIT_AUTHOR_NAME": "base", "GIT_AUTHOR_EMAIL": "base@localhost",
                   "GIT_AUTHOR_DATE": "2000-01-01T00:00:00+0000",
                   "GIT_COMMITTER_NAME": "base", "GIT_COMMITTER_EMAIL": "base@localhost",
                   "GIT_COMMITTER_DATE": "2000-01-01T00:00:00+0000"}


def export(out):
    """Turn the series into a git format-patch series against the base.

    Each line of patches/series becomes one commit in a git repository of
    the base kept in the cache; the patches are written to @out."""
    b = base()
    changes = read_series()
    repo = CACHE / "export" / "linux"
    git = ["git", "-C", str(repo)]
    stamp = repo / ".git" / "isolation-base"
    if not stamp.is_file() or stamp.read_text() != BASE_COMMIT_FORMAT + b.version:
        log(f"making a git repository of the base (Linux {b.version}); once, about a minute")
        shutil.rmtree(repo, ignore_errors=True)
        repo.mkdir(parents=True)
        run(["rsync", "-a", "--exclude=/.git", f"{b.path}/", f"{repo}/"])
        run(git + ["init", "-q"])
        run(git + ["add", "-A", "-f"])
        run(git + ["commit", "-q", "-m", f"Linux {b.version}"], env=BASE_COMMIT_ENV)
        run(git + ["tag", "-f", "base"])
        stamp.write_text(BASE_COMMIT_FORMAT + b.version)
    ident = git_identity()
    versions = new_file_versions(changes)
    run(git + ["checkout", "-q", "-f", "--detach", "base"])
    run(git + ["clean", "-q", "-fdx"])
    for i, c in enumerate(changes):
        diff = c.diff()
        if diff:
            r = subprocess.run(git + ["apply", "--index", "-"], input=diff,
                               capture_output=True, text=True)
            if r.returncode:
                raise Failure(f"patch {c.patch.name} does not apply:\n{r.stderr.strip()}")
        for p in list(c.new_files) + list(c.own_sections()):
            (repo / p).parent.mkdir(parents=True, exist_ok=True)
            (repo / p).write_text(versions[i][p])
            run(git + ["add", "-f", p])
        run(git + ident + ["commit", "-q", "-s", "-F", "-"], input=c.message())
    out = Path(out).resolve()
    shutil.rmtree(out, ignore_errors=True)
    run(git + ["format-patch", "-q", "--cover-letter", "--base=base", "-o", str(out),
               "base..HEAD"])
    fill_cover_letter(out / "0000-cover-letter.patch", b.version)
    log(f"exported {len(changes)} patches against Linux {b.version} to {out}")
    return repo, out


COVER_LETTER = REPO / "patches" / "cover-letter"


# Where patches/cover-letter names the base; the export writes it.
BASE_MARK = "@BASE@"


def fill_cover_letter(path, version):
    """Put patches/cover-letter (a Subject: line, a blank line, the body)
    in place of the template that git format-patch writes, with the base
    it was exported against (@version) in place of BASE_MARK."""
    head, _, body = COVER_LETTER.read_text().partition("\n\n")
    if not head.startswith("Subject: ") or "\n" in head or not body.strip():
        raise Failure(f"{COVER_LETTER}: expected a Subject: line, a blank line, then the body")
    if BASE_MARK not in body:
        raise Failure(f"{COVER_LETTER}: no {BASE_MARK} where the base is named")
    body = body.replace(BASE_MARK, f"Linux {version}")
    text = path.read_text()
    for mark in ("*** SUBJECT HERE ***", "*** BLURB HERE ***"):
        if mark not in text:
            raise Failure(f"{path}: git format-patch wrote no '{mark}' to replace")
    text = text.replace("*** SUBJECT HERE ***", head[len("Subject: "):])
    path.write_text(text.replace("*** BLURB HERE ***", body.rstrip("\n")))
