"""Canonical annotation records: one annotator's annotation of one task, in one layer.

Import writes them, validation checks them, adjudication merges them, publishing reads them.
On disk they are JSON Lines with sorted keys (see `write_jsonl`).
"""

from __future__ import annotations

import gc
import hashlib
import os
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import orjson

from .errors import InvalidAnnotations
from .layers import Layer
from .workspace import write_atomic


@dataclass(frozen=True, slots=True)
class Span:
    start: int
    end: int
    text: str


@dataclass(frozen=True, slots=True)
class Entity:
    id: str
    start: int
    end: int
    text: str
    label: str


@dataclass(frozen=True, slots=True)
class Argument:
    role: str
    start: int
    end: int
    text: str
    entity_type: str


@dataclass(frozen=True, slots=True)
class Event:
    id: str
    type: str
    trigger: Span
    arguments: tuple[Argument, ...] = ()


@dataclass(frozen=True, slots=True)
class Source:
    url: str | None = None
    project_id: int | None = None
    task_id: int | None = None


@dataclass(frozen=True, slots=True)
class Record:
    layer: Layer
    segment_id: str
    document_id: str
    text: str
    annotator: str
    annotation_id: int | str
    created_at: str | None = None
    updated_at: str | None = None
    lead_time: float | None = None
    ground_truth: bool = False
    model_version: str | None = None
    source: Source = field(default_factory=Source)
    entities: tuple[Entity, ...] = ()
    events: tuple[Event, ...] = ()
    target: str | None = None
    label: str | None = None

    @property
    def task_key(self) -> tuple[str, str]:
        """What identifies a task across Label Studio instances: segment, and target for stance."""
        return (self.segment_id, self.target or "")

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "layer": str(self.layer),
            "segment_id": self.segment_id,
            "document_id": self.document_id,
            "text": self.text,
            "annotator": self.annotator,
            "annotation_id": self.annotation_id,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "lead_time": self.lead_time,
            "ground_truth": self.ground_truth,
            "model_version": self.model_version,
            "source": {
                "url": self.source.url,
                "project_id": self.source.project_id,
                "task_id": self.source.task_id,
            },
        }
        if self.layer is Layer.ENTITIES:
            out["entities"] = [entity_dict(e) for e in self.entities]
        elif self.layer is Layer.EVENTS:
            out["events"] = [event_dict(e) for e in self.events]
        else:
            out["target"] = self.target
            out["label"] = self.label
        return out

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Record:
        """Build a record from a dict that has passed the layer's JSON Schema."""
        value = raw["layer"]
        layer = _LAYER_OF.get(value) if type(value) is str else None
        if layer is None:
            layer = Layer(value)  # the error a value that is not a layer raises
        src = raw.get("source") or {}
        get = raw.get
        # (positional arguments, in field order: the bulk readers build many records)
        return cls(
            layer,
            raw["segment_id"],
            raw["document_id"],
            raw["text"],
            raw["annotator"],
            get("annotation_id", ""),
            get("created_at"),
            get("updated_at"),
            get("lead_time"),
            bool(get("ground_truth", False)),
            get("model_version"),
            Source(src.get("url"), src.get("project_id"), src.get("task_id")),
            tuple(
                [
                    Entity(e["id"], e["start"], e["end"], e["text"], e["label"])
                    for e in get("entities", ())
                ]
            ),
            tuple(
                [
                    Event(
                        e["id"],
                        e["type"],
                        Span(e["trigger"]["start"], e["trigger"]["end"], e["trigger"]["text"]),
                        tuple(
                            [
                                Argument(
                                    a["role"], a["start"], a["end"], a["text"], a["entity_type"]
                                )
                                for a in e.get("arguments", ())
                            ]
                        ),
                    )
                    for e in get("events", ())
                ]
            ),
            get("target"),
            get("label"),
        )


_LAYER_OF: dict[str, Layer] = {str(layer): layer for layer in Layer}


def canonical_dict(raw: dict[str, Any]) -> dict[str, Any]:
    """`Record.from_dict(raw).to_dict()`, without building the Record (the import's hot path):
    the canonical fields only, in their canonical shape."""
    layer = Layer(raw["layer"])
    src = raw.get("source") or {}
    out: dict[str, Any] = {
        "layer": str(layer),
        "segment_id": raw["segment_id"],
        "document_id": raw["document_id"],
        "text": raw["text"],
        "annotator": raw["annotator"],
        "annotation_id": raw.get("annotation_id", ""),
        "created_at": raw.get("created_at"),
        "updated_at": raw.get("updated_at"),
        "lead_time": raw.get("lead_time"),
        "ground_truth": bool(raw.get("ground_truth", False)),
        "model_version": raw.get("model_version"),
        "source": {
            "url": src.get("url"),
            "project_id": src.get("project_id"),
            "task_id": src.get("task_id"),
        },
    }
    if layer is Layer.ENTITIES:
        out["entities"] = [
            {
                "id": e["id"],
                "start": e["start"],
                "end": e["end"],
                "text": e["text"],
                "label": e["label"],
            }
            for e in raw.get("entities", ())
        ]
    elif layer is Layer.EVENTS:
        out["events"] = [
            {
                "id": e["id"],
                "type": e["type"],
                "trigger": {
                    "start": e["trigger"]["start"],
                    "end": e["trigger"]["end"],
                    "text": e["trigger"]["text"],
                },
                "arguments": [
                    {
                        "role": a["role"],
                        "start": a["start"],
                        "end": a["end"],
                        "text": a["text"],
                        "entity_type": a["entity_type"],
                    }
                    for a in e.get("arguments", ())
                ],
            }
            for e in raw.get("events", ())
        ]
    else:
        out["target"] = raw.get("target")
        out["label"] = raw.get("label")
    return out


def entity_dict(e: Entity) -> dict[str, Any]:
    return {"id": e.id, "start": e.start, "end": e.end, "text": e.text, "label": e.label}


def event_dict(e: Event) -> dict[str, Any]:
    return {
        "id": e.id,
        "type": e.type,
        "trigger": {"start": e.trigger.start, "end": e.trigger.end, "text": e.trigger.text},
        "arguments": [
            {
                "role": a.role,
                "start": a.start,
                "end": a.end,
                "text": a.text,
                "entity_type": a.entity_type,
            }
            for a in e.arguments
        ],
    }


_SEGMENT_ID = re.compile(r"^(?P<doc>.+):(?P<start>\d+)-(?P<end>\d+)$")


def segment_id_for(document_id: str, start: int, end: int) -> str:
    """Stable id of a segment: derived from its document and offsets, never from a counter."""
    return f"{document_id}:{start}-{end}"


@lru_cache(maxsize=4096)
def segment_sort_key(segment_id: str) -> tuple[str, int, int]:
    m = _SEGMENT_ID.match(segment_id)
    if not m:
        return (segment_id, 0, 0)
    return (m["doc"], int(m["start"]), int(m["end"]))


def record_sort_key(r: Record) -> tuple[Any, ...]:
    return (*segment_sort_key(r.segment_id), r.target or "", r.annotator, str(r.annotation_id))


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector for a bulk pass, then restore it as it was.

    Parsing and keeping many records makes millions of containers, none of them in a cycle; each
    gen-0 threshold crossed would start a collection that walks them all again (measured: a
    quarter of the CPU of `dataset publish`). Reference counting still frees everything.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


_DIGESTS: ContextVar[dict[tuple[Any, ...], str] | None] = ContextVar("_DIGESTS", default=None)


@contextmanager
def remembered_digests() -> Iterator[None]:
    """Within the block, `file_sha256` of a file that is still the same file (same inode, size,
    modification and change times) is not read again: one publish fingerprints the same record
    files several times. Anything written in the meantime is a new file, and read."""
    token = _DIGESTS.set({})
    try:
        yield
    finally:
        _DIGESTS.reset(token)


def file_sha256(path: Path) -> str:
    """The sha256 of a file, read in blocks (a record file is never held whole for it)."""
    memo = _DIGESTS.get()
    key: tuple[Any, ...] = ()
    if memo is not None:
        st = os.stat(path)
        key = (os.fspath(path), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
        if key in memo:
            return memo[key]
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    if memo is not None:
        memo[key] = digest.hexdigest()
    return digest.hexdigest()


def dumps_line(obj: Any) -> bytes:
    """One JSON Lines line: sorted keys, UTF-8, no spaces — same input, same bytes."""
    return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS) + b"\n"


def write_jsonl(path: Path, rows: Iterable[dict[str, Any]]) -> int:
    """Write rows atomically; returns how many."""
    chunks = [dumps_line(row) for row in rows]
    write_atomic(path, b"".join(chunks))
    return len(chunks)


def write_records(path: Path, records: Iterable[Record]) -> int:
    return write_jsonl(path, (r.to_dict() for r in sorted(records, key=record_sort_key)))


def iter_jsonl(path: Path) -> Iterator[tuple[int, Any]]:
    """Yield (line number, parsed object); a line that is not JSON raises with file and line."""
    for lineno, _, obj in iter_jsonl_lines(path):
        yield lineno, obj


def iter_jsonl_lines(path: Path) -> Iterator[tuple[int, bytes, Any]]:
    """`iter_jsonl` with each line's bytes too: (line number, line, parsed object)."""
    with open(path, "rb") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                yield lineno, line, orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                raise InvalidAnnotations(f"{path}:{lineno}: not valid JSON ({exc}).") from None


def read_records(path: Path) -> list[Record]:
    """Read a canonical record file without validating it (see validate.py for that)."""
    return [Record.from_dict(raw) for _, raw in iter_jsonl(path)]
