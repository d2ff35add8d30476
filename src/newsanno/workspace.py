"""Where things live in a workspace (the folder a user runs newsanno in)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Workspace:
    root: Path

    @classmethod
    def here(cls) -> Workspace:
        return cls(Path.cwd())

    @property
    def seeds(self) -> Path:
        return self.root / "seeds"

    @property
    def schema(self) -> Path:
        return self.root / "schema"

    @property
    def tasks(self) -> Path:
        return self.root / "tasks"

    @property
    def annotations(self) -> Path:
        return self.root / "annotations"

    @property
    def export(self) -> Path:
        return self.root / "export"

    @property
    def state(self) -> Path:
        """Private state: server credentials, project ids. Git-ignored."""
        return self.root / ".newsanno"

    @property
    def server_file(self) -> Path:
        return self.state / "server.json"

    @property
    def projects_file(self) -> Path:
        return self.state / "projects.json"


@contextmanager
def atomic_dir(target: Path, mode: int = 0o755) -> Iterator[Path]:
    """Yield a fresh temp folder beside `target`; on success it replaces `target` whole.

    On any exception the temp folder is removed and `target` is left as it was.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        yield tmp
        os.chmod(tmp, mode)
        old = None
        if target.exists():
            old = target.with_name(f".{target.name}.old-{os.getpid()}")
            if old.exists():
                shutil.rmtree(old)
            os.replace(target, old)
        os.replace(tmp, target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def write_atomic(path: Path, data: bytes | str | Iterable[bytes], mode: int = 0o644) -> None:
    """Write a file so that readers see either the old or the new content, never half of it.
    `data` may come in blocks (an iterable of bytes), written one by one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            if isinstance(data, bytes | str):
                fh.write(data.encode("utf-8") if isinstance(data, str) else data)
            else:
                for block in data:
                    fh.write(block)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
