"""Work shared with a second core: a forked child process runs one part while this one runs
another, and hands back its result.

Import and publish spend their time on per-record Python work that one core does alone. Where a
part can be done apart (the second half of an export; most tasks of a record file), `Forked` runs
it in a child made with `fork` — it starts with every module, the ontology and the parsed state of
this process already in memory, so starting it costs milliseconds — and returns what it
computed, pickled through an unnamed temp file.

The child only ever computes: every file the user sees is written by this process, in the order a
single process would write it, so the output is the same bytes with or without a child (tests
compare both). A child that fails, for any reason, is not trusted: its caller does that part
itself, and a real problem in the input then surfaces with its usual message.

`NEWSANNO_WORKERS=1` turns the children off (`0` or unset: one per core, at most 2; on macOS,
where forking a process that has loaded system libraries is not safe, only when asked for).
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import sys
import tempfile
from collections.abc import Callable
from typing import Any, Generic, TypeVar

T = TypeVar("T")

MAX_WORKERS = 2
# Inputs smaller than this (an export; the record files of a publish) stay in one process: a
# child costs more than it saves.
MIN_BYTES = 4 << 20
# This process's share of an import's work (measured best, 0.46–0.58 tried): half. This process
# also keeps each entry as it goes, the child only lists them; its list is then taken over.
PARENT_SHARE = 0.5


class ChildFailed(Exception):
    """A forked part did not finish with a result (an exception in it, or it was killed)."""


def workers() -> int:
    """How many processes a part of the work may be split over (1: no children)."""
    raw = os.environ.get("NEWSANNO_WORKERS", "").strip()
    try:
        wanted = int(raw) if raw else 0
    except ValueError:
        wanted = 0
    if not hasattr(os, "fork") or (wanted <= 0 and sys.platform == "darwin"):
        return 1  # macOS: system libraries are not fork-safe (as multiprocessing, ask for it)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return min(cores or 1, MAX_WORKERS) if wanted <= 0 else min(wanted, MAX_WORKERS)


class Forked(Generic[T]):
    """`fn()` running in a forked child; `result()` waits for it and returns what it returned.

    Use as a context manager: leaving the block without `result()` (an error in the parent's own
    part) kills and reaps the child.
    """

    def __init__(self, fn: Callable[[], T]) -> None:
        self._out = tempfile.TemporaryFile()  # noqa: SIM115 - closed by result()/cancel()
        self._pid: int | None = os.fork()
        if self._pid == 0:  # the child: compute, pickle, leave without running the parent's exits
            status = 0
            try:
                outcome: tuple[str, Any] = ("ok", fn())
            except BaseException as exc:  # noqa: BLE001 - reported to the parent, which decides
                outcome, status = ("error", f"{type(exc).__name__}: {exc}"), 1
            try:
                pickle.dump(outcome, self._out, protocol=pickle.HIGHEST_PROTOCOL)
                self._out.flush()
            except BaseException:  # noqa: BLE001
                status = 2
            os._exit(status)

    def result(self) -> T:
        """The child's result; `ChildFailed` if it raised or died."""
        pid, self._pid = self._pid, None
        if pid is None:
            raise ChildFailed("the result was already taken")
        _, status = os.waitpid(pid, 0)
        try:
            self._out.seek(0)
            outcome = pickle.load(self._out) if os.fstat(self._out.fileno()).st_size else None
        finally:
            self._out.close()
        if outcome is None:
            raise ChildFailed(f"the child process ended without a result (status {status})")
        kind, value = outcome
        if kind != "ok":
            raise ChildFailed(str(value))
        return value  # type: ignore[no-any-return]

    def cancel(self) -> None:
        pid, self._pid = self._pid, None
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        self._out.close()

    def __enter__(self) -> Forked[T]:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pid is not None:
            self.cancel()
