"""What every part of the harness shares: paths, logging, running commands."""

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("ISOLATION_CACHE",
                            Path.home() / ".cache" / "isolation")).resolve()
JOBS = int(os.environ.get("ISOLATION_JOBS", os.cpu_count() or 2))


class Failure(Exception):
    """A failure to report in one message, without a Python traceback."""


def log(msg):
    print(f"iso: {msg}", file=sys.stderr, flush=True)


def run(cmd, cwd=None, input=None, env=None, quiet=False):
    """Run a command; raise Failure naming it if it fails."""
    cmd = [str(c) for c in cmd]
    full_env = dict(os.environ, **(env or {}))
    r = subprocess.run(cmd, cwd=cwd, input=input, env=full_env, text=True,
                       stdout=subprocess.PIPE if quiet else None,
                       stderr=subprocess.STDOUT if quiet else None)
    if r.returncode:
        tail = "\n" + "\n".join(r.stdout.splitlines()[-40:]) if quiet and r.stdout else ""
        raise Failure(f"command failed ({r.returncode}): {' '.join(cmd)}{tail}")
    return r
