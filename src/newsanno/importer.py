"""`newsanno annotations import`: Label Studio full-JSON exports → canonical annotation records.

One record per (task, annotation), written to `OUT/entities.jsonl`, `OUT/events.jsonl` and
`OUT/stance.jsonl`; what breaks the layer's JSON Schema or the ontology's rules goes, with every
problem listed, to `OUT/quarantine.jsonl` as `{"record": {...the raw annotation, its task's ids and
layer...}, "errors": [...]}`. Cancelled annotations (skips) are counted, not written. Nothing is
lost: for every layer, valid + quarantined + skipped = annotations read.

How an annotation becomes a record (control names from `labelconfig.py`):
- entities: each `label` span → `{id, start, end, text, label}` (id = Label Studio region id).
- events: each `trigger` span is an event (type = its label); each relation that links a trigger
  to an `argument` span makes that span an argument, with the relation's label as its role. The
  relation's direction is not used: one end must be a trigger and the other an argument. An argument
  span that no relation links, a relation with no role (or several), a relation between two
  triggers or two arguments, or one that names a missing region is a problem.
- stance: the one `stance` choice is the label; the target is the task's `data.target`.

Which layer an annotation belongs to, first answer wins: the task's `meta.layer` (`tasks build`
writes it); the layer of the project it was fetched from (`.newsanno/projects.json`); a
`data.target` (stance); the controls its results use (`label` → entities; `trigger`, `argument`,
relations → events; `stance` → stance); the layer the other tasks of the same export were found
to have. An annotation whose layer still cannot be told is quarantined.

Offsets: Label Studio counts code points for `<Text>`. When `text[start:end]` is not the span's
text but the offsets read as UTF-16 code units point at it (older exports, other clients, emoji
before the span), the span is realigned to code points and counted in the summary.

Updated annotations replace their old version by annotation id: records already in OUT whose
annotation id is imported again are dropped (also when the new version is quarantined or skipped);
all others are kept. Within one import, the version with the latest `updated_at` wins. Every file
is written atomically, sorted, with sorted keys: the same input gives the same bytes.

Drafts (unsubmitted work) and predictions are not annotations: they are not imported.

Exports are split into tasks without parsing the whole file at once: each task's bytes are found
and parsed alone with orjson, so memory stays about one task deep beside the records kept. On a
machine with two cores, a forked child converts the second part of a large export (see
`parallel.py` and `_Importer.add_export`); the files written are the same bytes.
"""

from __future__ import annotations

import hashlib
import mmap
import os
import re
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import chain, islice
from operator import itemgetter
from pathlib import Path
from typing import IO, Any

import orjson

from . import parallel
from .errors import ExportFormatError, InvalidAnnotations, LabelStudioError
from .labelconfig import ARGUMENT_CONTROL, ENTITY_CONTROL, STANCE_CONTROL, TRIGGER_CONTROL
from .layers import LAYERS, Layer
from .ontology import Ontology
from .records import dumps_line, iter_jsonl, paused_gc, segment_sort_key
from .validate import CHECKED_FILE, ROOT, Problem, RecordChecker
from .workspace import Workspace, write_atomic

QUARANTINE_FILE = "quarantine.jsonl"
UNKNOWN = "(layer unknown)"

# ---- sources -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProjectSource:
    """A Label Studio project to export: a `labelstudio.Connection` and the project id."""

    connection: Any
    project_id: int
    layer: Layer | None = None  # known from .newsanno/projects.json; otherwise told per task


ExportSource = Path | str | ProjectSource | tuple[Any, int]


def _source_name(source: ExportSource) -> str:
    if isinstance(source, ProjectSource):
        return f"project {source.project_id}"
    if isinstance(source, tuple):
        return f"project {source[1]}"
    return str(source)


# ---- splitting an export into tasks --------------------------------------------------------


class MalformedExport(ExportFormatError):
    """An export file that is not a JSON array of task objects; knows the line it broke on."""

    def __init__(self, name: str, line: int, reason: str) -> None:
        self.name, self.line, self.reason = name, line, reason
        super().__init__(
            f"{name}:{line}: {reason}. Export the project again as JSON (the full export, not "
            "JSON_MIN or CSV) or fix the file."
        )


_WS = b" \t\r\n"
_ANY_NEXT = re.compile(rb"\}[ \t\r\n]*,[ \t\r\n]*(?=\{)")
_FIRST_KEYS = re.compile(
    rb'\{[ \t\r\n]*"([A-Za-z_][A-Za-z0-9_]*)"[ \t\r\n]*:[ \t\r\n]*[-0-9.eE]+[ \t\r\n]*,'
    rb'[ \t\r\n]*"([A-Za-z_][A-Za-z0-9_]*)"[ \t\r\n]*:'
)


def _next_task_pattern(head: bytes) -> re.Pattern[bytes]:
    """Where the next task may start: `}, {"id": 12, "annotations":` in a Label Studio export.

    Learnt from the first task's first two keys; nested objects rarely start the same way, so
    few candidates are tried per task. Every candidate is proven by parsing (see `iter_export`).
    """
    m = _FIRST_KEYS.match(head)
    if not m:
        return _ANY_NEXT
    k1, k2 = (re.escape(g) for g in m.groups())
    return re.compile(
        rb"\}[ \t\r\n]*,[ \t\r\n]*(?=\{[ \t\r\n]*\"" + k1 + rb"\"[ \t\r\n]*:[ \t\r\n]*[-0-9.eE]+"
        rb"[ \t\r\n]*,[ \t\r\n]*\"" + k2 + rb"\"[ \t\r\n]*:)"
    )


def _line_of(buf: bytes | mmap.mmap, offset: int) -> int:
    return buf[:offset].count(b"\n") + 1


def _error_offset(chunk: bytes, exc: orjson.JSONDecodeError) -> int:
    """Byte offset in `chunk` of a parse error (orjson counts characters)."""
    try:
        text = chunk.decode("utf-8")
    except UnicodeDecodeError as bad:
        return bad.start
    return len(text[: exc.pos].encode("utf-8"))


def iter_export(buf: bytes | mmap.mmap, name: str) -> Iterator[tuple[int, int, Any]]:
    """Yield (index, byte offset, task) for every element of a Label Studio JSON export.

    Each element's end is found by trying candidate boundaries (`}` then `,` then `{`) and parsing
    the bytes between with orjson: a cut inside the element ends "early" and the next candidate is
    tried; a parse that succeeds has found exactly the element (a JSON object's text has one end).
    Anything else is a syntax error, raised as `MalformedExport` with its line.
    """
    first, close = _array_bounds(buf, name)
    for index, pos, task, _ in _elements(buf, name, first, close):
        yield index, pos, task


def _array_bounds(buf: bytes | mmap.mmap, name: str) -> tuple[int, int]:
    """Where the export's first element starts and where its closing `]` is (equal: no tasks)."""
    n = len(buf)
    pos = 3 if buf[:3] == b"\xef\xbb\xbf" else 0
    while pos < n and buf[pos] in _WS:
        pos += 1
    if pos == n:
        raise MalformedExport(name, 1, "the file is empty, not a Label Studio export")
    if buf[pos : pos + 1] != b"[":
        raise MalformedExport(
            name, _line_of(buf, pos), "not a Label Studio export: it must be a JSON array of tasks"
        )
    close = n
    while close > pos and buf[close - 1] in _WS:
        close -= 1
    close -= 1  # the closing bracket
    if close <= pos or buf[close : close + 1] != b"]":
        raise MalformedExport(
            name, _line_of(buf, n), "the export ends before its closing ']' (cut short?)"
        )
    pos += 1
    while pos < close and buf[pos] in _WS:
        pos += 1
    return pos, close


def _elements(
    buf: bytes | mmap.mmap, name: str, pos: int, close: int, index: int = 0
) -> Iterator[tuple[int, int, Any, int | None]]:
    """(index, offset, task, offset of the next task or None) of the elements from `pos` (where
    one starts) to the closing bracket at `close`; `index`: the first one's."""
    if pos >= close:
        return
    pattern = _next_task_pattern(bytes(buf[pos : pos + 256]))
    released = pos - pos % mmap.PAGESIZE
    while True:
        if buf[pos : pos + 1] != b"{":
            raise MalformedExport(
                name,
                _line_of(buf, pos),
                f"task {index} is not a JSON object (it starts {bytes(buf[pos : pos + 12])!r})",
            )
        got = _element(buf, pos, close, pattern, name, index)
        if got is None:  # the learnt key order does not hold here: try every `}, {`
            pattern = _ANY_NEXT
            got = _element(buf, pos, close, pattern, name, index)
        assert got is not None
        task, next_pos = got
        yield index, pos, task, next_pos
        if next_pos is None:
            return
        index += 1
        pos = next_pos
        if pos - released >= _RELEASE_EVERY:
            released = _release(buf, released, pos)


def _split_point(buf: bytes | mmap.mmap, first: int, close: int) -> int | None:
    """Where a task probably starts near the middle of the elements (the learnt `}, {"id": …`
    boundary): the second half's start for a child process. Only probably: the parent, reading
    the first half, checks that a task really starts there (see `_Importer.add_export`)."""
    if close - first < parallel.MIN_BYTES:
        return None
    pattern = _next_task_pattern(bytes(buf[first : first + 256]))
    m = pattern.search(buf, first + int((close - first) * parallel.PARENT_SHARE), close)
    return m.end() if m else None


_RELEASE_EVERY = 8 << 20


def _release(buf: bytes | mmap.mmap, start: int, upto: int) -> int:
    """Let the OS drop the mapped pages already parsed (a file-backed, read-only map: reading
    them again, for an error's line number, pages them back in); returns the new start."""
    if not isinstance(buf, mmap.mmap) or not hasattr(mmap, "MADV_DONTNEED"):
        return start
    end = upto - upto % mmap.PAGESIZE
    if end > start:
        buf.madvise(mmap.MADV_DONTNEED, start, end - start)
    return max(start, end)


def _element(
    buf: bytes | mmap.mmap, pos: int, close: int, pattern: re.Pattern[bytes], name: str, index: int
) -> tuple[Any, int | None] | None:
    """The element starting at `pos` and where the next one starts (None after the last one).

    None when a candidate overshot an element: the pattern missed its end.
    """
    for m in pattern.finditer(buf, pos, close):
        chunk = buf[pos : m.start() + 1]
        try:
            return orjson.loads(chunk), m.end()
        except orjson.JSONDecodeError as exc:
            if str(exc).startswith("unexpected end of data"):
                continue  # the cut was inside the element
            if str(exc).startswith("unexpected content after") and pattern is not _ANY_NEXT:
                return None
            raise _syntax_error(buf, pos, chunk, exc, name, index) from None
    chunk = bytes(buf[pos:close]).rstrip(_WS)  # the last element runs up to the closing bracket
    try:
        return orjson.loads(chunk), None
    except orjson.JSONDecodeError as exc:
        if str(exc).startswith("unexpected content after") and pattern is not _ANY_NEXT:
            return None
        raise _syntax_error(buf, pos, chunk, exc, name, index) from None


def _syntax_error(
    buf: bytes | mmap.mmap,
    pos: int,
    chunk: bytes,
    exc: orjson.JSONDecodeError,
    name: str,
    index: int,
) -> MalformedExport:
    at = pos + _error_offset(chunk, exc)
    reason = str(exc).split(": line ")[0]
    line = _line_of(buf, at)
    column = at - (buf.rfind(b"\n", 0, at) + 1) + 1
    return MalformedExport(
        name, line, f"not valid JSON in task {index} at column {column} ({reason})"
    )


# ---- converting one annotation ---------------------------------------------------------------


def _utf16_to_codepoints(text: str, units: int) -> int | None:
    """The code-point index that `units` UTF-16 code units into `text` is, or None."""
    if units < 0:
        return None
    u = 0
    for idx, ch in enumerate(text):
        if u == units:
            return idx
        if u > units:
            return None
        u += 2 if ord(ch) > 0xFFFF else 1
    return len(text) if u == units else None


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def realign(text: str, start: Any, end: Any, span_text: Any) -> tuple[int, int] | None:
    """Code-point offsets of a span whose offsets count UTF-16 code units, or None.

    Only when `text[start:end]` is not the span's text and the UTF-16 reading of the offsets is.
    """
    if (
        type(start) is int
        and type(end) is int
        and 0 <= start < end <= len(text)
        and text[start:end] == span_text
    ):
        return None  # already right: the common case, decided at once
    if not (_is_int(start) and _is_int(end) and isinstance(span_text, str) and span_text):
        return None
    if 0 <= start < end <= len(text) and text[start:end] == span_text:
        return None
    if text.isascii() or all(ord(c) <= 0xFFFF for c in text):
        return None
    s, e = _utf16_to_codepoints(text, start), _utf16_to_codepoints(text, end)
    if s is None or e is None or text[s:e] != span_text:
        return None
    return s, e


def annotator_of(completed_by: Any) -> str | None:
    """`annotator-<user id>`: a stable pseudonym, never the e-mail."""
    if isinstance(completed_by, dict):
        completed_by = completed_by.get("id")
    if _is_int(completed_by) or (isinstance(completed_by, str) and completed_by.isdigit()):
        return f"annotator-{completed_by}"
    return None


def model_version_of(annotation: dict[str, Any], task: dict[str, Any]) -> str | None:
    """The model_version of the prediction the annotation started from (`parent_prediction`).

    The export's `prediction` is filled with the task's prediction even when the annotator did not
    start from it, so it counts only when its id is the parent's.
    """
    parent = annotation.get("parent_prediction")
    if isinstance(parent, dict):
        if isinstance(parent.get("model_version"), str):
            return str(parent["model_version"])
        parent = parent.get("id")
    if parent is None:
        return None
    candidates = [annotation.get("prediction"), *(task.get("predictions") or [])]
    for pred in candidates:
        if isinstance(pred, dict) and pred.get("id") == parent:
            version = pred.get("model_version")
            return version if isinstance(version, str) else None
    return None


def _controls_layer(results: Any) -> Layer | None:
    if not isinstance(results, list):
        return None
    for r in results:
        if not isinstance(r, dict):
            continue
        name = r.get("from_name")
        if r.get("type") == "relation" or name in (TRIGGER_CONTROL, ARGUMENT_CONTROL):
            return Layer.EVENTS
        if name == ENTITY_CONTROL:
            return Layer.ENTITIES
        if name == STANCE_CONTROL:
            return Layer.STANCE
    return None


_LAYER_NAMES = frozenset(LAYERS)


def layer_of(task: dict[str, Any], annotation: dict[str, Any], hint: Layer | None) -> Layer | None:
    meta = task.get("meta")
    if isinstance(meta, dict) and meta.get("layer") in _LAYER_NAMES:
        return Layer(meta["layer"])
    if hint is not None:
        return hint
    data = task.get("data")
    if isinstance(data, dict) and "target" in data:
        return Layer.STANCE
    return _controls_layer(annotation.get("result"))


@dataclass
class Converted:
    """One annotation, converted: a valid record dict, or the errors that quarantine it."""

    layer: Layer | None
    record: dict[str, Any] | None
    errors: list[str]
    realigned: int = 0


def _region(r: dict[str, Any], i: int) -> str:
    rid = r.get("id")
    return f"result {i} (region {rid})" if rid is not None else f"result {i}"


class Converter:
    """Turns Label Studio annotations into canonical record dicts and checks them."""

    def __init__(self, ontology: Ontology, checker: RecordChecker | None = None) -> None:
        self.ontology = ontology
        self.checker = checker or RecordChecker(ontology)

    def convert(
        self,
        task: dict[str, Any],
        annotation: dict[str, Any],
        layer: Layer | None,
        url: str | None,
        project_id: int | None = None,
    ) -> Converted:
        errors: list[str] = []
        data = task.get("data") if isinstance(task.get("data"), dict) else {}
        assert isinstance(data, dict)
        text = data.get("text")
        annotator = annotator_of(annotation.get("completed_by"))
        if annotator is None:
            errors.append(
                f"completed_by: {annotation.get('completed_by')!r} is not a Label Studio user id"
            )
        if project_id is None:
            project_id = annotation.get("project", task.get("project"))
        record: dict[str, Any] = {
            "layer": str(layer) if layer else None,
            "segment_id": data.get("segment_id"),
            "document_id": data.get("document_id"),
            "text": text,
            "annotator": annotator,
            "annotation_id": annotation.get("id"),
            "created_at": annotation.get("created_at"),
            "updated_at": annotation.get("updated_at"),
            "lead_time": annotation.get("lead_time"),
            # A reviewer's verdict on a conflict (a task of a review project) is ground truth.
            "ground_truth": bool(annotation.get("ground_truth"))
            or (task.get("meta") or {}).get("review") is True,
            "model_version": model_version_of(annotation, task),
            "source": {"url": url, "project_id": project_id, "task_id": task.get("id")},
        }
        if layer is None:
            errors.append(
                "cannot tell the layer: the task has no meta.layer and no result names a control "
                "of entities, events or stance"
            )
            return Converted(None, None, errors)
        results = annotation.get("result")
        if results is None:
            results = []
        if not isinstance(results, list):
            errors.append("result: must be a list of regions")
            results = []
        text_str = text if isinstance(text, str) else ""
        realigned = 0
        hints: dict[str, str] = {}  # record path → the Label Studio region it came from
        if layer is Layer.ENTITIES:
            realigned = self._entities(text_str, results, record, errors, hints)
        elif layer is Layer.EVENTS:
            realigned = self._events(text_str, results, record, errors, hints)
        else:
            self._stance(data, results, record, errors)
        explained = _explained_nulls(record, errors)
        problems = self.checker.problems(record)
        if problems and layer is Layer.ENTITIES:  # the regions named only when needed
            for k, entity in enumerate(record["entities"]):
                hints[f"entities/{k}"] = f" (region {entity['id']})"
        for where, message in problems:
            if where in explained:
                continue  # a null that a conversion error above already explains
            errors.append(f"{where}{_hint_for(where, hints)}: {message}")
        if errors:
            return Converted(layer, None, errors, realigned)
        _sort_content(record)
        # Built above with exactly the canonical fields in their canonical shape, and checked:
        # it is already what `canonical_dict` would make of it.
        return Converted(layer, record, [], realigned)

    # -- per layer ------------------------------------------------------------------------

    def _span(
        self, text: str, r: dict[str, Any], i: int, errors: list[str]
    ) -> tuple[dict[str, Any], str | None, bool] | None:
        """(start/end/text, its one label, realigned?) of a span result, or None if unusable."""
        value = r.get("value")
        if not isinstance(value, dict):
            errors.append(f"{_region(r, i)}: has no 'value' object")
            return None
        labels = value.get("labels")
        label: str | None = None
        if not isinstance(labels, list) or len(labels) != 1:
            errors.append(f"{_region(r, i)}: a span needs exactly one label, it has {labels!r}")
        else:
            label = labels[0]
        span = {"start": value.get("start"), "end": value.get("end"), "text": value.get("text")}
        if span["text"] is None:
            errors.append(f"{_region(r, i)}: has no 'text'; the offsets cannot be checked")
        fixed = realign(text, span["start"], span["end"], span["text"])
        if fixed is not None:
            span["start"], span["end"] = fixed
        return span, label, fixed is not None

    def _foreign(self, r: dict[str, Any], i: int, layer: Layer, errors: list[str]) -> None:
        what = (
            "a relation"
            if r.get("type") == "relation"
            else (f"control {r.get('from_name')!r} ({r.get('type')})")
        )
        errors.append(f"{_region(r, i)}: {what} is not part of the {layer} layer")

    def _entities(
        self,
        text: str,
        results: list[Any],
        record: dict[str, Any],
        errors: list[str],
        hints: dict[str, str],
    ) -> int:
        entities: list[dict[str, Any]] = []
        realigned = 0
        n = len(text)
        for i, r in enumerate(results):
            # The common case at once: one label, int offsets inside the text that say its text
            # (nothing to report, nothing to realign); anything else takes the general path.
            if (
                type(r) is dict
                and r.get("from_name") == ENTITY_CONTROL
                and r.get("type") == "labels"
            ):
                value = r.get("value")
                if type(value) is dict:
                    labels, start, end = value.get("labels"), value.get("start"), value.get("end")
                    span_text = value.get("text")
                    if (
                        type(labels) is list
                        and len(labels) == 1
                        and type(start) is int
                        and type(end) is int
                        and type(span_text) is str
                        and 0 <= start < end <= n
                        and text[start:end] == span_text
                    ):
                        entities.append(
                            {
                                "id": r.get("id"),
                                "start": start,
                                "end": end,
                                "text": span_text,
                                "label": labels[0],
                            }
                        )
                        continue
            if not isinstance(r, dict):
                errors.append(f"result {i}: not an object")
                continue
            if r.get("from_name") != ENTITY_CONTROL or r.get("type") != "labels":
                self._foreign(r, i, Layer.ENTITIES, errors)
                continue
            got = self._span(text, r, i, errors)
            if got is None:
                continue
            span, label, moved = got
            realigned += moved
            entities.append({"id": r.get("id"), **span, "label": label})
        record["entities"] = entities
        return realigned

    def _events(
        self,
        text: str,
        results: list[Any],
        record: dict[str, Any],
        errors: list[str],
        hints: dict[str, str],
    ) -> int:
        triggers: dict[Any, tuple[dict[str, Any], str | None]] = {}
        arguments: dict[Any, tuple[dict[str, Any], str | None]] = {}
        relations: list[tuple[int, dict[str, Any]]] = []
        realigned = 0
        for i, r in enumerate(results):
            if not isinstance(r, dict):
                errors.append(f"result {i}: not an object")
                continue
            if r.get("type") == "relation":
                relations.append((i, r))
                continue
            name = r.get("from_name")
            if name not in (TRIGGER_CONTROL, ARGUMENT_CONTROL) or r.get("type") != "labels":
                self._foreign(r, i, Layer.EVENTS, errors)
                continue
            rid = r.get("id")
            if not isinstance(rid, str | int):
                errors.append(f"result {i}: a span has no region id, so no relation can name it")
                continue
            if rid in triggers or rid in arguments:
                errors.append(f"{_region(r, i)}: the region id is used twice")
                continue
            got = self._span(text, r, i, errors)
            if got is None:
                continue
            span, label, moved = got
            realigned += moved
            (triggers if name == TRIGGER_CONTROL else arguments)[rid] = (span, label)

        linked: set[Any] = set()
        args_of: dict[Any, list[tuple[dict[str, Any], Any]]] = {rid: [] for rid in triggers}
        for i, rel in relations:
            a, b = rel.get("from_id"), rel.get("to_id")
            where = f"result {i} (relation {a} → {b})"
            missing = [
                x
                for x in (a, b)
                if not isinstance(x, str | int) or (x not in triggers and x not in arguments)
            ]
            if missing:
                errors.append(f"{where}: names no region of this annotation: {missing[0]!r}")
                continue
            if a in triggers and b in arguments:
                trig, arg = a, b
            elif a in arguments and b in triggers:
                trig, arg = b, a
            else:
                kinds = "triggers" if a in triggers else "arguments"
                errors.append(
                    f"{where}: links two {kinds}; a relation must link a trigger to an argument"
                )
                continue
            linked.add(arg)
            labels = rel.get("labels")
            if not isinstance(labels, list) or not labels:
                errors.append(f"{where}: has no role; pick the argument's role on the relation")
                continue
            if len(labels) != 1:
                errors.append(f"{where}: has {len(labels)} roles {labels!r}; keep one")
                continue
            span, entity_type = arguments[arg]
            args_of[trig].append(({"role": labels[0], **span, "entity_type": entity_type}, arg))
        for rid, (span, _label) in arguments.items():
            if rid not in linked:
                errors.append(
                    f"argument region {rid} ({span['text']!r} at {span['start']}-{span['end']}): "
                    "no relation links it to a trigger"
                )
        events = []
        for e, (rid, (span, etype)) in enumerate(triggers.items()):
            hints[f"events/{e}"] = f" (region {rid})"
            args = []
            for k, (arg, arg_rid) in enumerate(args_of[rid]):
                hints[f"events/{e}/arguments/{k}"] = f" (relation {rid} → {arg_rid})"
                args.append(arg)
            events.append({"id": rid, "type": etype, "trigger": span, "arguments": args})
        record["events"] = events
        return realigned

    def _stance(
        self,
        data: dict[str, Any],
        results: list[Any],
        record: dict[str, Any],
        errors: list[str],
    ) -> None:
        record["target"] = data.get("target")
        record["label"] = None
        choices: list[tuple[int, dict[str, Any]]] = []
        for i, r in enumerate(results):
            if not isinstance(r, dict):
                errors.append(f"result {i}: not an object")
            elif r.get("from_name") == STANCE_CONTROL and r.get("type") == "choices":
                choices.append((i, r))
            else:
                self._foreign(r, i, Layer.STANCE, errors)
        names = ", ".join(self.ontology.stance_label_names)
        if not choices:
            errors.append(f"no stance choice at all: pick one of {names}")
            return
        if len(choices) > 1:
            errors.append(f"{len(choices)} stance results; keep one")
            return
        i, r = choices[0]
        value = r.get("value")
        picked = value.get("choices") if isinstance(value, dict) else None
        if not isinstance(picked, list) or not picked:
            errors.append(f"{_region(r, i)}: no stance choice at all: pick one of {names}")
        elif len(picked) != 1:
            errors.append(f"{_region(r, i)}: {len(picked)} stance choices {picked!r}; keep one")
        else:
            record["label"] = picked[0]


def _explained_nulls(record: dict[str, Any], errors: list[str]) -> set[str]:
    """Paths left null on purpose because a conversion error already says what is wrong."""
    if not errors:
        return set()
    out = set()
    if record.get("layer") == "stance" and record.get("label") is None:
        out.add("label")
    for i, entity in enumerate(record.get("entities") or []):
        for key in ("label", "text"):
            if entity.get(key) is None:
                out.add(f"entities/{i}/{key}")
    for i, event in enumerate(record.get("events") or []):
        if event.get("type") is None:
            out.add(f"events/{i}/type")
        if event["trigger"].get("text") is None:
            out.add(f"events/{i}/trigger/text")
        for k, arg in enumerate(event["arguments"]):
            for key in ("entity_type", "text"):
                if arg.get(key) is None:
                    out.add(f"events/{i}/arguments/{k}/{key}")
    return out


def _hint_for(where: str, hints: dict[str, str]) -> str:
    parts = where.split("/")
    for n in range(len(parts), 0, -1):
        hint = hints.get("/".join(parts[:n]))
        if hint:
            return hint
    return ""


def _sort_content(record: dict[str, Any]) -> None:
    if "entities" in record:
        record["entities"].sort(key=itemgetter("start", "end", "label", "id"))
    if "events" in record:
        for event in record["events"]:
            event["arguments"].sort(
                key=lambda a: (a["start"], a["end"], a["role"], a["entity_type"])
            )
        record["events"].sort(
            key=lambda e: (e["trigger"]["start"], e["trigger"]["end"], e["type"], e["id"])
        )


# ---- the import ------------------------------------------------------------------------------


@dataclass
class LayerCounts:
    read: int = 0
    valid: int = 0
    quarantined: int = 0
    skipped: int = 0
    realigned: int = 0  # spans moved from UTF-16 to code-point offsets
    annotators: set[str] = field(default_factory=set)

    def add(self, other: LayerCounts) -> None:
        self.read += other.read
        self.valid += other.valid
        self.quarantined += other.quarantined
        self.skipped += other.skipped
        self.realigned += other.realigned
        self.annotators |= other.annotators


@dataclass
class ImportSummary:
    out: Path
    sources: list[str]
    counts: dict[str, LayerCounts]  # by layer name, and UNKNOWN when some layer was not told
    superseded: int = 0  # older versions of an annotation met again in the same import
    written: dict[str, int] = field(default_factory=dict)  # lines per file now in `out`

    def _total(self, name: str) -> int:
        return sum(getattr(c, name) for c in self.counts.values())

    @property
    def read(self) -> int:
        return self._total("read")

    @property
    def valid(self) -> int:
        return self._total("valid")

    @property
    def quarantined(self) -> int:
        return self._total("quarantined")

    @property
    def skipped(self) -> int:
        return self._total("skipped")

    @property
    def realigned(self) -> int:
        return self._total("realigned")

    COLUMNS = ("layer", "read", "valid", "quarantined", "skipped", "realigned", "annotators")

    def rows(self) -> list[tuple[object, ...]]:
        rows: list[tuple[object, ...]] = []
        annotators: set[str] = set()
        for name, c in self.counts.items():
            annotators |= c.annotators
            rows.append(
                (name, c.read, c.valid, c.quarantined, c.skipped, c.realigned, len(c.annotators))
            )
        rows.append(
            (
                "total",
                self.read,
                self.valid,
                self.quarantined,
                self.skipped,
                self.realigned,
                len(annotators),
            )
        )
        return rows


@dataclass(slots=True)
class _Entry:
    """The newest version of one annotation met so far in this import."""

    updated_at: str
    seq: int
    file: str | None = None  # where its line goes: a layer's file or the quarantine; None: a skip
    at: int = 0  # its serialized line: offset and length in the import's `_Spill`
    size: int = 0
    key: tuple[Any, ...] = ()  # its place in the sorted file


# An entry as a child sends it to the parent: (id key, updated_at, file, at, size, sort key).
# Plain tuples, not `_Entry`s: they pickle and unpickle several times faster (measured: 0.05 s
# against 0.12 s for the 20,000 entries of half the benchmark's export).
_Logged = tuple[str, str, str | None, int, int, tuple[Any, ...]]


class _Spill:
    """The import's serialized lines, in an unnamed temp file until the sorted write: memory
    keeps only each line's sort key and place, not the line."""

    def __init__(self, fh: IO[bytes]) -> None:
        self.fh = fh  # opened (and closed) by the caller
        self.end = 0

    def put(self, line: bytes) -> tuple[int, int]:
        """Append a line; its (offset, length)."""
        self.fh.write(line)
        at = self.end
        self.end += len(line)
        return at, len(line)

    def append_from(self, other: IO[bytes]) -> int:
        """Append every byte of another spill file; the offset its first byte now has."""
        base = self.end
        other.seek(0)
        while block := other.read(1 << 20):
            self.fh.write(block)
            self.end += len(block)
        return base

    def in_order(self, lines: list[tuple[tuple[Any, ...], int, int]]) -> Iterator[bytes]:
        """The lines of (sort key, offset, length), by key and then by their bytes (the order
        of sorting (key, line) pairs), read back one by one."""
        lines.sort(key=itemgetter(0))
        if not lines:
            return
        self.fh.flush()
        # Sliced from a read-only map of the file (twice as fast as a read call per line); the
        # pages read are given back as the reading moves on (it goes mostly forward: pages
        # given back too early are read again), so memory does not grow with the import.
        with mmap.mmap(self.fh.fileno(), 0, access=mmap.ACCESS_READ) as buf:
            released = 0
            i, n = 0, len(lines)
            while i < n:
                j = i + 1
                while j < n and lines[j][0] == lines[i][0]:
                    j += 1
                _, at, size = lines[i]
                if j == i + 1:
                    yield buf[at : at + size]
                else:  # the same key (rare): their bytes decide, as they did in memory
                    yield from sorted(buf[a : a + z] for _, a, z in lines[i:j])
                if at - released >= 2 * _RELEASE_EVERY:
                    released = _release(buf, released, at - _RELEASE_EVERY)
                i = j


def _id_key(annotation: dict[str, Any], task: dict[str, Any]) -> str:
    aid = annotation.get("id")
    if aid is not None:
        return _annotation_id_key(aid)
    return orjson.dumps([task.get("id"), annotation], option=orjson.OPT_SORT_KEYS).decode()


def _annotation_id_key(aid: Any) -> str:
    # A str, never the bytes orjson returns: each of those holds a 4 KB buffer (orjson 3.13),
    # which kept as dict keys was more than half of the import's memory.
    return orjson.dumps(aid).decode()


def _quarantine_line(
    task: dict[str, Any],
    annotation: dict[str, Any],
    layer: Layer | None,
    url: str | None,
    project_id: Any,
    errors: list[str],
) -> dict[str, Any]:
    data = task.get("data") if isinstance(task.get("data"), dict) else {}
    assert isinstance(data, dict)
    record: dict[str, Any] = {
        "layer": str(layer) if layer else None,
        "source": {"url": url, "project_id": project_id, "task_id": task.get("id")},
        "segment_id": data.get("segment_id"),
        "document_id": data.get("document_id"),
        "text": data.get("text"),
        "annotation": annotation,
    }
    if "target" in data:
        record["target"] = data.get("target")
    return {"record": record, "errors": errors}


@dataclass
class _Part:
    """What reading (part of) one export leaves besides the entries: the annotations whose layer
    is told by the export's other tasks, and the first layer met."""

    name: str = ""
    pending: list[tuple[dict[str, Any], dict[str, Any]]] = field(default_factory=list)
    seen_layer: Layer | None = None

    def absorb(self, later: _Part) -> None:
        self.pending += later.pending
        self.seen_layer = self.seen_layer or later.seen_layer


class _StopAt:
    """Elements up to (not including) the one at byte offset `at`; `reached` when it starts
    exactly there. `resume` goes on from there (or from wherever the elements went past it)."""

    def __init__(self, at: int) -> None:
        self.at = at
        self.reached = False
        self.held: tuple[int, int, Any, int | None] | None = None  # the element at/after `at`

    def until(
        self, elements: Iterator[tuple[int, int, Any, int | None]]
    ) -> Iterator[tuple[int, int, Any, int | None]]:
        for element in elements:
            if element[1] >= self.at:
                self.reached = element[1] == self.at
                self.held = element
                return
            yield element


class _Importer:
    def __init__(self, converter: Converter, spill: _Spill, log: bool = False) -> None:
        self.converter = converter
        # log: a child's share of an export, whose entries the parent keeps (see `_merge`)
        self.log: list[_Logged] | None = [] if log else None
        self.counts: dict[str, LayerCounts] = {str(layer): LayerCounts() for layer in LAYERS}
        self.entries: dict[str, _Entry] = {}
        self.superseded = 0
        self.seq = 0
        self.written: dict[str, int] = {}
        self.spill = spill

    def _count(self, layer: Layer | None) -> LayerCounts:
        return self.counts.setdefault(str(layer) if layer else UNKNOWN, LayerCounts())

    def add_export(
        self,
        buf: bytes | mmap.mmap,
        name: str,
        url: str | None,
        project: int | None,
        hint: Layer | None,
    ) -> None:
        first, close = _array_bounds(buf, name)
        split = _split_point(buf, first, close) if parallel.workers() > 1 else None
        part = _Part(name)
        if split is None:
            self._add_elements(_elements(buf, name, first, close), part, url, project, hint)
        else:
            # A child converts the second half while this process does the first; the child's
            # results are taken only where this process finds a task really starting at `split`.
            with tempfile.TemporaryFile(buffering=1 << 20) as spill:

                def second_half() -> tuple[_Part, list[_Logged], dict[str, LayerCounts]]:
                    child, child_part = (
                        _Importer(self.converter, _Spill(spill), log=True),
                        _Part(name),
                    )
                    child._add_elements(
                        _elements(buf, name, split, close), child_part, url, project, hint
                    )
                    spill.flush()
                    assert child.log is not None
                    return child_part, child.log, child.counts

                with parallel.Forked(second_half) as child:
                    elements = _elements(buf, name, first, close)
                    stop = _StopAt(split)
                    self._add_elements(stop.until(elements), part, url, project, hint)
                    rest: Iterator[tuple[int, int, Any, int | None]] = chain(
                        [stop.held] if stop.held else [], elements
                    )
                    if stop.reached:
                        try:
                            got = child.result()
                        except parallel.ChildFailed:
                            got = None  # done here instead, where any error gets its message
                        if got is not None:
                            child_part, log, counts = got
                            self._merge(log, counts, spill)
                            part.absorb(child_part)
                            rest = iter(())
                    self._add_elements(rest, part, url, project, hint)
        for task, annotation in part.pending:
            self.add(task, annotation, part.seen_layer, url, project)

    def _add_elements(
        self,
        elements: Iterable[tuple[int, int, Any, int | None]],
        part: _Part,
        url: str | None,
        project: int | None,
        hint: Layer | None,
    ) -> None:
        for index, _offset, task, _next in elements:
            for annotation in _annotations_of(task, index, part.name):
                layer = layer_of(task, annotation, hint)
                if layer is None:
                    part.pending.append((task, annotation))
                    continue
                part.seen_layer = part.seen_layer or layer
                self.add(task, annotation, layer, url, project)

    def _merge(self, log: list[_Logged], counts: dict[str, LayerCounts], spill: IO[bytes]) -> None:
        """Take a child's converted annotations as if this process had met them next."""
        for name, c in counts.items():
            self.counts.setdefault(name, LayerCounts()).add(c)
        base = self.spill.append_from(spill)
        for key, updated_at, file, at, size, sort_key in log:
            self.seq += 1
            self.keep(key, _Entry(updated_at, self.seq, file, at + base, size, sort_key))

    def add(
        self,
        task: dict[str, Any],
        annotation: dict[str, Any],
        layer: Layer | None,
        url: str | None,
        project: int | None,
    ) -> None:
        count = self._count(layer)
        count.read += 1
        self.seq += 1
        updated = annotation.get("updated_at")
        entry = _Entry(updated if isinstance(updated, str) else "", self.seq)
        project_id = (
            project if project is not None else annotation.get("project", task.get("project"))
        )
        if annotation.get("was_cancelled"):
            count.skipped += 1
        else:
            done = self.converter.convert(task, annotation, layer, url, project_id)
            count.realigned += done.realigned
            if done.record is not None:
                count.valid += 1
                count.annotators.add(done.record["annotator"])
                entry.file = f"{layer}.jsonl"
                entry.at, entry.size = self.spill.put(dumps_line(done.record))
                entry.key = _record_key(done.record)
            else:
                count.quarantined += 1
                row = _quarantine_line(task, annotation, layer, url, project_id, done.errors)
                entry.file = QUARANTINE_FILE
                entry.at, entry.size = self.spill.put(dumps_line(row))
                entry.key = _quarantine_key(row)
        key = _id_key(annotation, task)
        if self.log is not None:  # a child's part: the parent keeps (see `_merge`)
            self.log.append((key, entry.updated_at, entry.file, entry.at, entry.size, entry.key))
        else:
            self.keep(key, entry)

    def keep(self, key: str, entry: _Entry) -> None:
        """Keep the newest version of each annotation (latest `updated_at`, then the last met)."""
        old = self.entries.get(key)
        if old is not None:
            self.superseded += 1
            if (old.updated_at, old.seq) > (entry.updated_at, entry.seq):
                return
        self.entries[key] = entry

    def write(self, out: Path) -> dict[str, int]:
        names = [f"{layer}.jsonl" for layer in LAYERS] + [QUARANTINE_FILE]
        files: dict[str, list[tuple[tuple[Any, ...], int, int]]] = {name: [] for name in names}
        for entry in self.entries.values():
            if entry.file is not None:
                files[entry.file].append((entry.key, entry.at, entry.size))
        spill = self.spill
        # Keep what earlier imports wrote, unless this import brought a newer version.
        unchecked = {QUARANTINE_FILE}
        checker = self.converter.checker
        for layer in LAYERS:
            name = f"{layer}.jsonl"
            for _, row in _read_existing(out / name):
                if _annotation_id_key(row.get("annotation_id")) not in self.entries:
                    files[name].append((_record_key(row), *spill.put(dumps_line(row))))
                    if name not in unchecked and (
                        row.get("layer") != str(layer) or checker.problems(row)
                    ):
                        unchecked.add(name)  # kept as it was, but not vouched for
        for _, row in _read_existing(out / QUARANTINE_FILE):
            record = _dict(row.get("record"))
            ann, source = _dict(record.get("annotation")), _dict(record.get("source"))
            if _id_key(ann, {"id": source.get("task_id")}) not in self.entries:
                files[QUARANTINE_FILE].append((_quarantine_key(row), *spill.put(dumps_line(row))))
        written = {}
        checked: dict[str, str] = {}
        for name, lines in files.items():
            digest = _write_lines(out / name, spill.in_order(lines))
            if name not in unchecked:
                checked[name] = digest
            written[name] = len(lines)
            lines.clear()
        # Every record of these files has passed its checks: publish need not check them again
        # while their bytes are the same (a file edited by hand is checked).
        write_atomic(
            out / CHECKED_FILE,
            dumps_line({"checker": self.converter.checker.fingerprint, "files": checked}),
        )
        return written


def _write_lines(path: Path, lines: Iterable[bytes]) -> str:
    """Write the lines atomically, one by one (no joined copy in memory); their sha256."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    digest = hashlib.sha256()
    try:
        with os.fdopen(fd, "wb") as fh:
            # written (and hashed) a block of lines at a time: a call per line cost more
            it = iter(lines)
            while block := list(islice(it, 256)):
                data = b"".join(block)
                digest.update(data)
                fh.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return digest.hexdigest()


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _annotations_of(task: Any, index: int, name: str) -> list[dict[str, Any]]:
    if not isinstance(task, dict) or not isinstance(task.get("data"), dict):
        raise ExportFormatError(
            f"{name}: task {index} has no 'data' object, so this is not a Label Studio full-JSON "
            "export (JSON_MIN, CSV and CONLL drop what the import needs). Export it again as JSON."
        )
    annotations = task.get("annotations") or []
    if not isinstance(annotations, list) or not all(isinstance(a, dict) for a in annotations):
        raise ExportFormatError(
            f"{name}: task {index} (id {task.get('id')}): 'annotations' must be a list of objects. "
            "Export the project again as JSON."
        )
    return annotations


def _read_existing(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    if not path.is_file():
        return
    for lineno, row in iter_jsonl(path):
        if not isinstance(row, dict):
            raise InvalidAnnotations(
                f"{path}:{lineno}: not a record. Fix or delete the line, then import again."
            )
        yield lineno, row


def _record_key(row: dict[str, Any]) -> tuple[Any, ...]:
    return (
        *segment_sort_key(str(row.get("segment_id") or "")),
        row.get("target") or "",
        str(row.get("annotator") or ""),
        str(row.get("annotation_id")),
    )


def _quarantine_key(row: dict[str, Any]) -> tuple[Any, ...]:
    record = row.get("record") or {}
    ann = record.get("annotation") or {}
    return (
        str(record.get("layer") or ""),
        *segment_sort_key(str(record.get("segment_id") or "")),
        str(record.get("target") or ""),
        str(ann.get("id")),
    )


def _fetch(source: ProjectSource, into: IO[bytes]) -> None:
    """Download the project's full JSON export into a file, chunk by chunk."""
    from . import labelstudio  # the only module that talks to Label Studio

    for chunk in labelstudio.Client(source.connection).iter_export(source.project_id):
        into.write(chunk)
    into.flush()


def _connection_url(connection: Any) -> str | None:
    url = getattr(connection, "url", None)
    return url if isinstance(url, str) else None


def sources_for(
    workspace: Workspace,
    project_ids: Sequence[int] = (),
    files: Sequence[Path] = (),
    url: str | None = None,
    api_key: str | None = None,
) -> list[ExportSource]:
    """What `annotations import` reads: export files, projects by id, or else the workspace's
    projects (`.newsanno/projects.json`, which also tells each project's layer)."""
    sources: list[ExportSource] = [Path(f) for f in files]
    if files and not project_ids:
        return sources
    from . import labelstudio
    from .review import load_review_projects

    recorded = labelstudio.load_projects(workspace)
    review = load_review_projects(workspace)
    layer_of_project = {ref.id: layer for layer, ref in recorded.items()}
    layer_of_project |= {ref.id: layer for layer, ref in review.items()}
    ids = list(project_ids) or [
        projects[layer].id
        for projects in (recorded, review)
        for layer in LAYERS
        if layer in projects
    ]
    if not ids:
        raise LabelStudioError(
            f"No projects to import from: {workspace.projects_file} lists none. Run 'newsanno "
            "project create', or name them with --project ID or --from-file EXPORT.json."
        )
    connection = labelstudio.resolve_connection(workspace, url, api_key)
    sources += [ProjectSource(connection, pid, layer_of_project.get(pid)) for pid in ids]
    return sources


@contextmanager
def _mapped(fh: IO[bytes], name: str) -> Iterator[mmap.mmap]:
    """The file's bytes, mapped read-only: the OS pages them in, Python holds no copy."""
    fh.seek(0, os.SEEK_END)
    if fh.tell() == 0:
        raise MalformedExport(name, 1, "the file is empty, not a Label Studio export")
    with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as buf:
        yield buf


def import_annotations(
    sources: Sequence[ExportSource], out: Path, ontology: Ontology
) -> ImportSummary:
    """Import every annotation of `sources` into `out` (see the module docstring)."""
    out = Path(out)
    with paused_gc():
        importer = _import(sources, out, ontology)
    return ImportSummary(
        out=out,
        sources=[_source_name(s) for s in sources],
        counts=importer.counts,
        superseded=importer.superseded,
        written=importer.written,
    )


def _import(sources: Sequence[ExportSource], out: Path, ontology: Ontology) -> _Importer:
    with tempfile.TemporaryFile(buffering=1 << 20) as spill:
        importer = _Importer(Converter(ontology), _Spill(spill))
        _add_sources(importer, sources)
        importer.written = importer.write(out)
    # Freed here, while the collector is still paused: kept until it resumes, the entries would
    # all be walked by its first collection (~0.03 s for the benchmark's 40,000).
    importer.entries.clear()
    return importer


def _add_sources(importer: _Importer, sources: Sequence[ExportSource]) -> None:
    for source in sources:
        if isinstance(source, tuple):
            source = ProjectSource(source[0], int(source[1]))
        if isinstance(source, ProjectSource):
            with tempfile.TemporaryFile() as fh:
                _fetch(source, fh)
                with _mapped(fh, _source_name(source)) as buf:
                    importer.add_export(
                        buf,
                        _source_name(source),
                        _connection_url(source.connection),
                        source.project_id,
                        source.layer,
                    )
            continue
        path = Path(source)
        if not path.is_file():
            raise ExportFormatError(
                f"{path}: no such file. Save a full-JSON export from Label Studio (Export → JSON)."
            )
        with open(path, "rb") as export, _mapped(export, str(path)) as buf:
            importer.add_export(buf, str(path), None, None, None)


# ---- checking an export without importing it (for `annotations validate`) --------------------


def check_export(
    path: Path, ontology: Ontology, checker: RecordChecker | None = None
) -> list[Problem]:
    """Every problem `import` would quarantine an annotation of this export for, by line."""
    name = str(path)
    converter = Converter(ontology, checker)
    problems: list[Problem] = []
    try:
        with open(path, "rb") as fh, _mapped(fh, name) as buf:
            pending: list[tuple[int, int, int, dict[str, Any], dict[str, Any]]] = []
            seen_layer: Layer | None = None
            line, last = 1, 0
            try:
                for index, offset, task in iter_export(buf, name):
                    line += buf[last:offset].count(b"\n")
                    last = offset
                    for k, annotation in enumerate(_annotations_of(task, index, name)):
                        if annotation.get("was_cancelled"):
                            continue
                        layer = layer_of(task, annotation, None)
                        if layer is None:
                            pending.append((line, index, k, task, annotation))
                            continue
                        seen_layer = seen_layer or layer
                        problems += _export_problems(
                            converter, name, line, index, k, task, annotation, layer
                        )
            except MalformedExport as exc:
                problems.append(Problem(name, exc.line, ROOT, exc.reason))
            except ExportFormatError as exc:
                problems.append(Problem(name, line, ROOT, str(exc).removeprefix(f"{name}: ")))
            for line, index, k, task, annotation in pending:
                problems += _export_problems(
                    converter, name, line, index, k, task, annotation, seen_layer
                )
    except MalformedExport as exc:  # an empty file
        return [Problem(name, exc.line, ROOT, exc.reason)]
    return problems


def _export_problems(
    converter: Converter,
    name: str,
    line: int,
    index: int,
    k: int,
    task: dict[str, Any],
    annotation: dict[str, Any],
    layer: Layer | None,
) -> list[Problem]:
    done = converter.convert(task, annotation, layer, None)
    where = f"{index}/annotations/{k}"
    ids = f"task {task.get('id')}, annotation {annotation.get('id')}"
    return [Problem(name, line, where, f"{ids}: {error}") for error in done.errors]
