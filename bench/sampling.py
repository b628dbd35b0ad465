"""Where a running server's CPU goes, sampled from outside with py-spy (``bench/claim.py --py-spy DIR``).

Why: cProfile inside the process inflates function-call-heavy code (SQLAlchemy) several times over and
cannot see gunicorn; a sampling profiler attached to the gunicorn workers measures the real server under
the real load at a small cost. Only samples of threads holding the GIL are kept (``--gil``): a thread
waiting on PostgreSQL or a socket is not spending our CPU.

py-spy is not a dependency of the service or its tests: ``.venv/bin/pip install py-spy`` first. It must be
allowed to read the workers' memory (same user, or root; ``ptrace_scope`` permitting).
"""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

RATE_HZ = 100
_FRAME = re.compile(r"^(?P<name>.*?) \((?P<file>[^:()]*)(?::\d+)?\)$")


def py_spy() -> str:
    """The py-spy executable beside this interpreter, or on PATH; exits with the fix if there is none."""
    beside = Path(sys.executable).with_name("py-spy")
    found = str(beside) if beside.exists() else shutil.which("py-spy")
    if not found:
        raise SystemExit("--py-spy needs py-spy: .venv/bin/pip install py-spy")
    return found


@contextmanager
def sampled(pid: int, out: Path) -> Iterator[None]:
    """Sample ``pid`` and its child processes (gunicorn's workers) into ``out`` while the block runs."""
    command = [py_spy(), "record", "--gil", "--subprocesses", "--nonblocking", "-r", str(RATE_HZ), "-f", "raw"]
    spy = subprocess.Popen(
        [*command, "-o", str(out), "-p", str(pid)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield
    finally:
        spy.send_signal(signal.SIGINT)  # py-spy writes its file on SIGINT
        try:
            spy.wait(timeout=30)
        except subprocess.TimeoutExpired:
            spy.kill()
            spy.wait(timeout=10)


def _where(frame: str) -> tuple[str, str]:
    """A frame's function and where it lives: ``wallet/claims/admission.py``, or a package's name."""
    match = _FRAME.match(frame.strip())
    if match is None:
        return frame.strip(), ""
    name, file = match.group("name"), match.group("file")
    if "site-packages/" in file:
        return name, file.split("site-packages/", 1)[1].split("/", 1)[0]
    for root in ("/wallet/", "/client_sdk/"):
        if root in file:
            return name, root.strip("/") + "/" + file.split(root, 1)[1]
    if "/python3." in file:
        return name, "stdlib"
    return name, file


def summary(path: Path, *, top: int = 30) -> str:
    """Markdown tables: the share of samples by package of the innermost frame, and by our functions
    (inclusive: a function's share counts everything it called)."""
    leaf: Counter[str] = Counter()
    ours: Counter[str] = Counter()
    total = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = [_where(frame) for frame in stack.split(";")]
        leaf[frames[-1][1].split("/", 1)[0] or frames[-1][0]] += n
        for name, where in dict.fromkeys(f for f in frames if f[1].startswith("wallet/")):
            ours[f"`{where.removesuffix('.py').replace('/', '.')}.{name}`"] += n
    if not total:
        return "(no samples)"
    lines = [f"{total} samples at {RATE_HZ} Hz of threads holding the GIL", ""]
    lines += ["| innermost frame in | share |", "| --- | ---: |"]
    lines += [f"| {where} | {n / total:.1%} |" for where, n in leaf.most_common(12)]
    lines += ["", "| our function (with what it calls) | share |", "| --- | ---: |"]
    lines += [f"| {name} | {n / total:.1%} |" for name, n in ours.most_common(top)]
    return "\n".join(lines)
