"""`newsanno dataset publish`: gold records → a Hugging Face dataset repo folder.

The folder is what the Hub serves: `README.md` (the dataset card: YAML front matter, then prose)
and `data/<config>/<split>-00000-of-00001.parquet`, so `datasets.load_dataset(folder, config)`
loads it offline exactly as it will load from the Hub. Four configs:

- `entities` (default): tokens and BIO `ner_tags` (conll2003 style) plus the character spans;
- `events`: triggers (with token offsets) and their arguments by role;
- `stance`: one row per (sentence, target) with a stance label;
- `annotations`: one row per (task, annotator), the records as they were imported.

Every label set comes from the ontology; the card's `dataset_info` is generated from the very
Features the parquet files are written with, because `load_dataset` trusts the card's features
over the files' own. Records are streamed twice (check, then write), so memory grows with the
number of documents, not of records.
"""

from __future__ import annotations

import heapq
import os
import random
import re
import tempfile
from bisect import bisect_left, bisect_right
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from functools import partial
from itertools import chain, islice
from operator import itemgetter
from pathlib import Path
from typing import Any, Generic, TypeVar

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from datasets import ClassLabel, Features, List, Value
from datasets.info import DatasetInfo, DatasetInfosDict
from datasets.splits import SplitDict, SplitInfo
from huggingface_hub import DatasetCardData

from . import parallel
from .adjudicate import (
    CONFLICTS_FILE,
    GOLD,
    adjudicate,
    adjudicate_part,
    finish_parts,
    gold_fingerprint_matches,
    gold_is_stale,
    input_fingerprint,
    recorded_agreement,
)
from .adjudicate import Part as AdjudicationPart
from .agreement import load_and_measure
from .errors import InvalidAnnotations, PublishError
from .layers import LAYERS, Layer
from .ontology import Ontology
from .records import (
    file_sha256,
    iter_jsonl,
    iter_jsonl_lines,
    paused_gc,
    remembered_digests,
    segment_sort_key,
)
from .segment import Token, token_offsets, token_offsets_many
from .validate import RecordChecker, checked_files
from .workspace import atomic_dir

CONFIGS: tuple[str, ...] = ("entities", "events", "stance", "annotations")
DEFAULT_CONFIG = "entities"
SPLITS: tuple[str, ...] = ("train", "validation", "test")
DEFAULT_RATIOS: tuple[float, float, float] = (0.8, 0.1, 0.1)
MIN_DOCUMENTS_TO_SPLIT = 5
BATCH_ROWS = 2000
# Gold records whose sentences are tokenized together (see _Rows.prepare; measured best).
TOKEN_BATCH = 64
# Misaligned spans listed one by one in the card (all of them are counted).
MAX_LISTED = 25


# ---- Features: generated from the ontology ---------------------------------------------------


def features_for(ontology: Ontology, config: str) -> Features:
    """The Features of one config; every ClassLabel's names come from `ontology`."""
    string, offset = Value("string"), Value("int32")
    head = {
        "id": string,
        "document_id": string,
        "segment_id": string,
        "text": string,
    }
    if config == "entities":
        return Features(
            {
                **head,
                "tokens": List(string),
                "ner_tags": List(ClassLabel(names=list(ontology.bio_tags))),
                "entities": List(
                    {
                        "id": string,
                        "start": offset,
                        "end": offset,
                        "text": string,
                        "label": ClassLabel(names=list(ontology.entity_labels)),
                    }
                ),
            }
        )
    if config == "events":
        return Features(
            {
                **head,
                "tokens": List(string),
                "events": List(
                    {
                        "id": string,
                        "type": ClassLabel(names=list(ontology.event_labels)),
                        "trigger": {
                            "start": offset,
                            "end": offset,
                            "text": string,
                            "token_start": offset,
                            "token_end": offset,
                        },
                        "arguments": List(
                            {
                                "role": ClassLabel(names=list(ontology.roles)),
                                "start": offset,
                                "end": offset,
                                "text": string,
                                "entity_type": ClassLabel(names=list(ontology.entity_labels)),
                            }
                        ),
                    }
                ),
            }
        )
    if config == "stance":
        return Features(
            {
                **head,
                "target": string,
                "label": ClassLabel(names=list(ontology.stance_label_names)),
            }
        )
    if config == "annotations":
        return Features(
            {
                "id": string,
                "layer": string,
                "document_id": string,
                "segment_id": string,
                "target": string,
                "annotator": string,
                "annotation_id": string,
                "created_at": string,
                "updated_at": string,
                "lead_time": Value("float64"),
                "ground_truth": Value("bool"),
                "model_version": string,
                "record": string,
            }
        )
    raise ValueError(f"unknown config {config!r}; expected one of {', '.join(CONFIGS)}")


# ---- tokens and BIO --------------------------------------------------------------------------


@dataclass(frozen=True)
class Alignment:
    """The tokens a character span overlaps: `token_end` is exclusive; `exact` when the span
    starts at its first token's start and ends at its last token's end."""

    token_start: int
    token_end: int
    exact: bool


def align(tokens: Sequence[Token], start: int, end: int) -> Alignment | None:
    """The tokens overlapping [start, end), or None when the span covers no token at all."""
    return _Tokens(tokens).align(start, end)


class _Tokens:
    """A sentence's tokens with their offsets as lists, so that the tokens a span overlaps are
    found by bisection (tokens are in text order and do not overlap: starts and ends increase)."""

    __slots__ = ("ends", "starts", "texts")

    def __init__(self, tokens: Sequence[Token]) -> None:
        self.starts = [t.start for t in tokens]
        self.ends = [t.end for t in tokens]
        self.texts = [t.text for t in tokens]

    @classmethod
    def of(cls, text: str) -> _Tokens:
        """The tokens of `text` (`tokenize`), straight from their offsets."""
        return cls.at(text, *token_offsets(text))

    @classmethod
    def at(cls, text: str, starts: list[int], ends: list[int]) -> _Tokens:
        """The tokens of `text` at these offsets."""
        self = cls.__new__(cls)
        self.starts, self.ends = starts, ends
        self.texts = [text[s:e] for s, e in zip(starts, ends, strict=True)]
        return self

    def covered(self, start: int, end: int) -> tuple[int, int]:
        """[first, last) of the tokens with t.start < end and t.end > start (first >= last:
        none)."""
        return bisect_right(self.ends, start), bisect_left(self.starts, end)

    def align(self, start: int, end: int) -> Alignment | None:
        first, last = self.covered(start, end)
        if first >= last:
            return None
        exact = self.starts[first] == start and self.ends[last - 1] == end
        return Alignment(first, last, exact)

    def text(self, start: int, end: int) -> str:
        first, last = self.covered(start, end)
        return "".join(self.texts[first:last])


@dataclass(frozen=True)
class SpanIssue:
    """A span the token columns cannot carry exactly: `misaligned` (not on token boundaries;
    its tokens are tagged anyway) or `overlapping` (nested in or crossing an earlier entity;
    kept in `entities`, left out of `ner_tags`)."""

    kind: str
    layer: str
    segment_id: str
    start: int
    end: int
    text: str
    label: str


def bio_tags(
    tokens: Sequence[Token], spans: Iterable[tuple[int, int, str]], segment_id: str = ""
) -> tuple[list[str], list[SpanIssue]]:
    """BIO tags for `tokens` from character spans (start, end, label).

    A span off token boundaries tags the tokens it overlaps and is reported as `misaligned`;
    a span overlapping one already tagged (outer, longer spans first) is reported as
    `overlapping` and left out of the tags. Nothing becomes `O` silently.
    """
    return _bio_tags(_Tokens(tokens), spans, segment_id)


def _bio_tags(
    tokens: _Tokens, spans: Iterable[tuple[int, int, str]], segment_id: str
) -> tuple[list[str], list[SpanIssue]]:
    starts, ends = tokens.starts, tokens.ends
    tags = ["O"] * len(starts)
    issues: list[SpanIssue] = []
    for start, end, label in sorted(spans, key=lambda s: (s[0], -s[1], s[2])):
        # `tokens.align`, inline (no Alignment per span): the tokens [first, last) it overlaps
        first, last = bisect_right(ends, start), bisect_left(starts, end)
        if first >= last or starts[first] != start or ends[last - 1] != end:
            where = tokens.text(start, end)
            issues.append(SpanIssue("misaligned", "entities", segment_id, start, end, where, label))
        if first >= last:
            continue
        if tags[first:last].count("O") != last - first:
            where = tokens.text(start, end)
            issues.append(
                SpanIssue("overlapping", "entities", segment_id, start, end, where, label)
            )
            continue
        tags[first] = f"B-{label}"
        for i in range(first + 1, last):
            tags[i] = f"I-{label}"
    return tags, issues


def spans_from_bio(tags: Sequence[str]) -> list[tuple[int, int, str]]:
    """Decode BIO tags into (token_start, token_end exclusive, label); a stray `I-X` opens one."""
    spans: list[tuple[int, int, str]] = []
    start: int | None = None
    label = ""
    for i, tag in enumerate([*tags, "O"]):
        prefix, _, name = tag.partition("-")
        if start is not None and (prefix != "I" or name != label):
            spans.append((start, i, label))
            start = None
        if prefix == "B" or (prefix == "I" and start is None):
            start, label = i, name
    return spans


# ---- splits ----------------------------------------------------------------------------------


def parse_ratios(text: str) -> tuple[float, float, float]:
    """`"0.8,0.1,0.1"` → (train, validation, test); raises PublishError when it is not that."""
    parts = [p.strip() for p in text.split(",")]
    try:
        values = tuple(float(p) for p in parts)
    except ValueError:
        values = ()
    if len(values) != 3:
        raise PublishError(
            f"--split-ratios {text!r}: give three numbers train,validation,test, e.g. 0.8,0.1,0.1."
        )
    return check_ratios(values)


def check_ratios(ratios: Sequence[float]) -> tuple[float, float, float]:
    if len(ratios) != 3 or any(r < 0 for r in ratios) or abs(sum(ratios) - 1) > 1e-6:
        shown = ",".join(f"{r:g}" for r in ratios)
        raise PublishError(
            f"split ratios {shown}: need three non-negative numbers (train, validation, test) "
            "that add up to 1, e.g. 0.8,0.1,0.1."
        )
    if ratios[0] == 0:
        raise PublishError("split ratios: the train share must be more than 0.")
    return (float(ratios[0]), float(ratios[1]), float(ratios[2]))


def split_counts(n: int, ratios: Sequence[float]) -> tuple[int, int, int]:
    """Documents per split: largest remainders, and at least one document in every split
    whose ratio is above 0 (taken from the largest split)."""
    exact = [n * r for r in ratios]
    counts = [int(x) for x in exact]
    by_remainder = sorted(range(3), key=lambda i: (-(exact[i] - counts[i]), i))
    for i in by_remainder[: n - sum(counts)]:
        counts[i] += 1
    for i in range(3):
        if ratios[i] > 0 and counts[i] == 0:
            largest = max(range(3), key=lambda j: (counts[j], -j))
            if counts[largest] > 1:
                counts[largest] -= 1
                counts[i] += 1
    return (counts[0], counts[1], counts[2])


def assign_splits(
    document_ids: Iterable[str], seed: int = 42, ratios: Sequence[float] = DEFAULT_RATIOS
) -> dict[str, str]:
    """Document id → split. Deterministic from `seed`; every document in exactly one split;
    fewer than MIN_DOCUMENTS_TO_SPLIT documents all go to `train`."""
    docs = sorted(set(document_ids))
    if len(docs) < MIN_DOCUMENTS_TO_SPLIT:
        return dict.fromkeys(docs, "train")
    random.Random(seed).shuffle(docs)
    out: dict[str, str] = {}
    at = 0
    for split, count in zip(SPLITS, split_counts(len(docs), ratios), strict=True):
        for doc in docs[at : at + count]:
            out[doc] = split
        at += count
    return dict(sorted(out.items()))


# ---- reading and checking the records ----------------------------------------------------------


def _record_problems(raw: Any, layer: Layer, checker: RecordChecker) -> list[str]:
    """Every way `raw` breaks the layer's record schema or the ontology's rules."""
    if isinstance(raw, dict) and raw.get("layer") not in (None, str(layer)):
        return [f"layer: {raw['layer']!r} in the {layer} file"]
    return [f"{where}: {message}" for where, message in checker.problems(raw)]


def _iter_raw(path: Path) -> Iterator[tuple[int, Any]]:
    try:
        yield from iter_jsonl(path)
    except InvalidAnnotations as exc:
        raise PublishError(f"{exc} Fix or re-import it; nothing was published.") from None


def _iter_lines(path: Path) -> Iterator[tuple[bytes, Any]]:
    """(line, parsed object) of each non-blank line; what `_iter_raw` raises on one that is
    not JSON."""
    try:
        for _, line, raw in iter_jsonl_lines(path):
            yield line, raw
    except InvalidAnnotations as exc:
        raise PublishError(f"{exc} Fix or re-import it; nothing was published.") from None


@dataclass
class _Problems:
    first: str | None = None
    count: int = 0
    files: set[Path] = field(default_factory=set)

    def add(self, path: Path, lineno: int, problems: list[str]) -> None:
        if problems and self.first is None:
            self.first = f"{path}:{lineno} {problems[0]}"
        self.count += len(problems)
        if problems:
            self.files.add(path)

    def raise_if_any(self) -> None:
        if self.first is None:
            return
        more = f" (and {_plural(self.count - 1, 'more problem')})" if self.count > 1 else ""
        files = " ".join(str(p) for p in sorted(self.files))
        raise PublishError(
            f"{self.first}{more}. Fix the records (newsanno annotations validate {files} lists "
            "them all); nothing was published."
        )


def _task_key(layer: str, segment_id: str, target: str | None) -> tuple[str, str, str]:
    return (layer, segment_id, target or "")


def _read_conflicts(path: Path) -> tuple[int, Counter[str], set[tuple[str, str, str]]]:
    """How many unresolved tasks, per layer when the lines say, and their keys when they can."""
    if not path.is_file():
        return 0, Counter(), set()
    total, per_layer, keys = 0, Counter[str](), set()
    for _, raw in _iter_raw(path):
        total += 1
        if isinstance(raw, dict) and isinstance(raw.get("layer"), str):
            per_layer[raw["layer"]] += 1
            if isinstance(raw.get("segment_id"), str):
                keys.add(_task_key(raw["layer"], raw["segment_id"], raw.get("target")))
    return total, per_layer, keys


@dataclass
class _Scan:
    """What the first pass learns: documents, counts for the card, problems."""

    documents: set[str] = field(default_factory=set)
    gold: Counter[str] = field(default_factory=Counter)
    labels: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    roles: Counter[str] = field(default_factory=Counter)
    stance: Counter[tuple[str, str]] = field(default_factory=Counter)
    sentences: set[str] = field(default_factory=set)
    records: Counter[str] = field(default_factory=Counter)
    annotators: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    per_task: dict[str, Counter[tuple[str, str, str]]] = field(
        default_factory=lambda: defaultdict(Counter)
    )
    model_versions: set[str] = field(default_factory=set)
    ground_truth: int = 0


def _digest(path: Path) -> str | None:
    return file_sha256(path) if path.is_file() else None


def _vouched_layers(annotations_dir: Path, checker: RecordChecker) -> set[Layer]:
    """The layers whose record file `annotations import` wrote with every record checked, under
    the same checks, and that has not changed since (same sha256): no second check needed."""
    vouched = checked_files(annotations_dir, checker)
    out: set[Layer] = set()
    for layer in LAYERS:
        path = annotations_dir / f"{layer}.jsonl"
        if path.name in vouched and vouched[path.name] == _digest(path):
            out.add(layer)
    return out


def _scan_records(
    annotations_dir: Path, checker: RecordChecker, scan: _Scan, vouched: set[Layer]
) -> None:
    """Check every per-annotator record (before adjudication reads them) and count them; the
    files of the `vouched` layers are not checked again."""
    problems = _Problems()
    for layer in LAYERS:
        path = annotations_dir / f"{layer}.jsonl"
        if not path.is_file():
            continue
        trusted = layer in vouched
        for lineno, raw in _iter_raw(path):
            found = [] if trusted else _record_problems(raw, layer, checker)
            problems.add(path, lineno, found)
            if not found:
                _count_record(scan, layer, raw)
    problems.raise_if_any()


def _count_record(scan: _Scan, layer: Layer, raw: dict[str, Any]) -> None:
    """Count one per-annotator record for the card; it has passed its schema, so the few
    fields counted are read straight from the dict."""
    scan.documents.add(raw["document_id"])
    scan.records[layer] += 1
    scan.annotators[layer].add(raw["annotator"])
    scan.per_task[layer][_task_key(layer, raw["segment_id"], raw.get("target"))] += 1
    scan.ground_truth += bool(raw.get("ground_truth"))
    if raw.get("model_version"):
        scan.model_versions.add(raw["model_version"])


def _scan_gold(
    annotations_dir: Path,
    checker: RecordChecker,
    conflict_keys: set[tuple[str, str, str]],
    scan: _Scan,
    checked_records: bool = False,
) -> set[Layer]:
    """Check every gold record and count what the card reports. `checked_records`: the record
    files gold is made from exist and have passed their checks.

    Returns the layers whose gold is as the adjudication wrote it from those checked records:
    such gold needs no check, and its documents are among the records' (already in `scan`), so
    it is not read here but counted (`_count_gold`) while its rows are written.
    """
    problems = _Problems()
    deferred: set[Layer] = set()
    for layer in LAYERS:
        path = annotations_dir / GOLD / f"{layer}.jsonl"
        if not path.is_file():
            continue
        if checked_records and gold_fingerprint_matches(
            annotations_dir, layer, _digest(path) or ""
        ):
            deferred.add(layer)
            continue
        for lineno, raw in _iter_raw(path):
            found = _record_problems(raw, layer, checker)
            problems.add(path, lineno, found)
            if found:
                continue
            if _task_key(layer, raw["segment_id"], raw.get("target")) in conflict_keys:
                continue
            _count_gold(scan, layer, raw)
    problems.raise_if_any()
    return deferred


def _count_gold(scan: _Scan, layer: Layer, raw: dict[str, Any]) -> None:
    """Count one gold record (a dict that has passed its schema) for the card."""
    scan.documents.add(raw["document_id"])
    scan.sentences.add(raw["segment_id"])
    scan.gold[layer] += 1
    if layer is Layer.ENTITIES:
        scan.labels[layer].update(e["label"] for e in raw.get("entities", ()))
    elif layer is Layer.EVENTS:
        events = raw.get("events", ())
        scan.labels[layer].update(e["type"] for e in events)
        scan.roles.update(a["role"] for e in events for a in e.get("arguments", ()))
    else:
        target, label = raw.get("target"), raw.get("label")
        if target is not None and label is not None:
            scan.labels[layer][label] += 1
            scan.stance[(target, label)] += 1


# ---- rows --------------------------------------------------------------------------------------


_ENTITY_ORDER = itemgetter("start", "end", "label", "id")  # an entity dict's place in a row


class _Rows:
    """Builds each config's rows from records, with ClassLabel names turned into their ids."""

    def __init__(self, ontology: Ontology) -> None:
        def index(names: Sequence[str]) -> dict[str, int]:
            return {name: i for i, name in enumerate(names)}

        self.bio = index(ontology.bio_tags)
        self.entity = index(ontology.entity_labels)
        self.event = index(ontology.event_labels)
        self.role = index(ontology.roles)
        self.stance = index(ontology.stance_label_names)
        # the first MAX_LISTED of each kind, per layer (see `issues`); all of them counted
        self._issues: dict[str, list[SpanIssue]] = {"entities": [], "events": []}
        self._layer_counts: Counter[tuple[str, str]] = Counter()
        self.counts: Counter[str] = Counter()
        self.example: tuple[str, list[tuple[str, str]]] | None = None  # for the card
        # the tokens of the next rows' sentences (entities and events rows of a sentence share
        # them), made together by `prepare`
        self._ready: dict[str, _Tokens] = {}

    def prepare(self, texts: Iterable[str]) -> None:
        """Tokenize the texts of the next rows together (`token_offsets_many`, faster than one
        by one); `tokens` then has them, until the next `prepare`."""
        unique = list(dict.fromkeys(texts))
        offsets = token_offsets_many(unique)
        self._ready = {
            text: _Tokens.at(text, *at) for text, at in zip(unique, offsets, strict=True)
        }

    def tokens(self, text: str) -> _Tokens:
        ready = self._ready.get(text)
        return ready if ready is not None else _Tokens.of(text)

    def _note(self, issues: Iterable[SpanIssue]) -> None:
        for issue in issues:
            self.counts[issue.kind] += 1
            self._layer_counts[(issue.layer, issue.kind)] += 1
            if self._layer_counts[(issue.layer, issue.kind)] <= MAX_LISTED:
                self._issues[issue.layer].append(issue)

    def state(self) -> tuple[Any, ...]:
        """What the card needs of these rows (picklable; see `absorb`)."""
        return self._issues, self._layer_counts, self.counts, self.example

    def absorb(self, state: tuple[Any, ...]) -> None:
        """Take the `state` of the rows that follow these (a part's): as if built here."""
        issues, layer_counts, counts, example = state
        for layer, later in issues.items():
            listed = Counter((i.layer, i.kind) for i in self._issues[layer])
            for issue in later:
                if listed[(issue.layer, issue.kind)] < MAX_LISTED:
                    self._issues[layer].append(issue)
                    listed[(issue.layer, issue.kind)] += 1
        self._layer_counts += layer_counts
        self.counts += counts
        if self.example is None:
            self.example = example

    @property
    def issues(self) -> list[SpanIssue]:
        """The first MAX_LISTED issues of each kind, the entities' before the events' (rows of
        the two layers are built side by side, sentence by sentence, but listed this way)."""
        listed: list[SpanIssue] = []
        seen: Counter[str] = Counter()
        for issue in [*self._issues["entities"], *self._issues["events"]]:
            seen[issue.kind] += 1
            if seen[issue.kind] <= MAX_LISTED:
                listed.append(issue)
        return listed

    def entities(self, raw: dict[str, Any]) -> dict[str, Any]:
        """The `entities` row of a gold record (a dict that has passed its schema)."""
        segment_id, text = raw["segment_id"], raw["text"]
        tokens = self.tokens(text)
        entities = sorted(raw.get("entities", ()), key=_ENTITY_ORDER)
        tags, issues = _bio_tags(
            tokens, [(e["start"], e["end"], e["label"]) for e in entities], segment_id
        )
        self._note(issues)
        if self.example is None and entities and len(tokens.texts) <= 40:
            self.example = (segment_id, list(zip(tokens.texts, tags, strict=True)))
        bio, label = self.bio, self.entity
        return {
            "id": segment_id,
            "document_id": raw["document_id"],
            "segment_id": segment_id,
            "text": text,
            "tokens": tokens.texts,
            "ner_tags": [bio[t] for t in tags],
            "entities": [
                {
                    "id": e["id"],
                    "start": e["start"],
                    "end": e["end"],
                    "text": e["text"],
                    "label": label[e["label"]],
                }
                for e in entities
            ],
        }

    def events(self, raw: dict[str, Any]) -> dict[str, Any]:
        """The `events` row of a gold record (a dict that has passed its schema)."""
        segment_id, text = raw["segment_id"], raw["text"]
        tokens = self.tokens(text)
        events = []
        ordered = sorted(
            raw.get("events", ()),
            key=lambda e: (e["trigger"]["start"], e["trigger"]["end"], e["type"], e["id"]),
        )
        for ev in ordered:
            t = ev["trigger"]
            at = tokens.align(t["start"], t["end"])
            if at is None or not at.exact:
                where = tokens.text(t["start"], t["end"])
                self._note(
                    [
                        SpanIssue(
                            "misaligned",
                            "events",
                            segment_id,
                            t["start"],
                            t["end"],
                            where,
                            ev["type"],
                        )
                    ]  # fmt: skip
                )
            args = sorted(
                ev.get("arguments", ()),
                key=lambda a: (a["start"], a["end"], a["role"], a["entity_type"]),
            )
            events.append(
                {
                    "id": ev["id"],
                    "type": self.event[ev["type"]],
                    "trigger": {
                        "start": t["start"],
                        "end": t["end"],
                        "text": t["text"],
                        "token_start": at.token_start if at else None,
                        "token_end": at.token_end if at else None,
                    },
                    "arguments": [
                        {
                            "role": self.role[a["role"]],
                            "start": a["start"],
                            "end": a["end"],
                            "text": a["text"],
                            "entity_type": self.entity[a["entity_type"]],
                        }
                        for a in args
                    ],
                }
            )
        return {
            "id": segment_id,
            "document_id": raw["document_id"],
            "segment_id": segment_id,
            "text": text,
            "tokens": tokens.texts,
            "events": events,
        }

    def stance_row(self, raw: dict[str, Any]) -> dict[str, Any]:
        """The `stance` row of a gold record (a dict that has passed its schema)."""
        target = raw.get("target")
        return {
            "id": f"{raw['segment_id']}#{target}",
            "document_id": raw["document_id"],
            "segment_id": raw["segment_id"],
            "text": raw["text"],
            "target": target,
            "label": self.stance[raw.get("label") or ""],
        }

    @staticmethod
    def annotation(raw: dict[str, Any], line: bytes | None = None) -> dict[str, Any]:
        """A per-annotator row, from the record as imported (it has passed its schema; the
        many per-annotator rows are built from the dict, without a Record in between).
        `line`: the record's line as `dumps_line` wrote it, when known."""
        segment_id, target = raw["segment_id"], raw.get("target")
        task = segment_id if target is None else f"{segment_id}#{target}"
        return {
            "id": f"{raw['layer']}/{task}/{raw['annotator']}/{raw.get('annotation_id', '')}",
            "layer": raw["layer"],
            "document_id": raw["document_id"],
            "segment_id": segment_id,
            "target": target,
            "annotator": raw["annotator"],
            "annotation_id": str(raw.get("annotation_id", "")),
            "created_at": raw.get("created_at"),
            "updated_at": raw.get("updated_at"),
            "lead_time": raw.get("lead_time"),
            "ground_truth": bool(raw.get("ground_truth", False)),
            "model_version": raw.get("model_version"),
            "record": (
                orjson.dumps(raw, option=orjson.OPT_SORT_KEYS).decode()
                if line is None
                else line.rstrip(b"\n").decode()
            ),
        }


K = TypeVar("K")


def _table(rows: list[dict[str, Any]], schema: pa.Schema) -> pa.Table:
    """Rows as an Arrow table, column by column (the same table as `from_pylist`, faster)."""
    return pa.Table.from_pydict(
        {name: [row[name] for row in rows] for name in schema.names}, schema=schema
    )


def _fresh(table: pa.Table) -> pa.Table:
    """A table's rows in new, contiguous buffers: the table `from_pydict` makes of the same rows
    (a slice keeps its parent's buffers, and `nbytes` — the card's sizes — counts them)."""
    return pa.concat_tables([table, table.slice(0, 0)]).combine_chunks()


class _Batches(Generic[K]):
    """Rows gathered per key and handed to `_write` as Arrow tables of BATCH_ROWS rows (the
    last ones of each key when it is closed)."""

    def __init__(self) -> None:
        self.pending: dict[K, list[dict[str, Any]]] = defaultdict(list)

    def add(self, key: K, row: dict[str, Any]) -> None:
        batch = self.pending[key]
        batch.append(row)
        if len(batch) >= BATCH_ROWS:
            self._flush(key)

    def _flush(self, key: K) -> None:
        batch = self.pending.pop(key, [])
        if batch:
            self._write(key, _table(batch, self._schema(key)))

    def _flush_all(self) -> None:
        for key in list(self.pending):
            self._flush(key)

    def _schema(self, key: K) -> pa.Schema:
        raise NotImplementedError

    def _write(self, key: K, table: pa.Table) -> None:
        raise NotImplementedError


# Columns whose values (nearly) never repeat: a dictionary page would only be built to be
# dropped, and min/max statistics of whole JSON records help no reader.
_UNIQUE_COLUMNS = frozenset({"id", "annotation_id", "created_at", "updated_at", "record"})
_NO_STATISTICS = frozenset({"record"})


def _parquet_options(schema: pa.Schema) -> dict[str, Any]:
    """The ParquetWriter options of a config's files (measured: the per-annotator config is
    written 20% faster, and 3% smaller, than with a dictionary tried for every column)."""
    if "record" not in schema.names:
        return {}  # the gold configs: their texts and tokens compress better with dictionaries
    return {
        "use_dictionary": [c for c in schema.names if c not in _UNIQUE_COLUMNS],
        "write_statistics": [c for c in schema.names if c not in _NO_STATISTICS],
    }


class _ConfigWriter(_Batches[str]):
    """One config's parquet files, opened per split on its first row, written in batches."""

    def __init__(self, root: Path, config: str, features: Features, stack: ExitStack) -> None:
        super().__init__()
        self.root, self.config, self.features, self.stack = root, config, features, stack
        self.schema = features.arrow_schema
        self.writers: dict[str, pq.ParquetWriter] = {}
        self.rows: Counter[str] = Counter()
        self.nbytes: Counter[str] = Counter()
        self.held: dict[str, pa.Table] = {}  # `add_table` rows short of a batch

    def path(self, split: str) -> Path:
        return self.root / "data" / self.config / f"{split}-00000-of-00001.parquet"

    def _schema(self, split: str) -> pa.Schema:
        return self.schema

    def _write(self, split: str, table: pa.Table) -> None:
        if split not in self.writers:
            path = self.path(split)
            path.parent.mkdir(parents=True, exist_ok=True)
            self.writers[split] = self.stack.enter_context(
                pq.ParquetWriter(path, self.schema, **_parquet_options(self.schema))
            )
        self.writers[split].write_table(table)
        self.rows[split] += table.num_rows
        self.nbytes[split] += table.nbytes

    def add_table(self, split: str, table: pa.Table) -> None:
        """Rows already in Arrow (a part's, see `_publish_in_two`), after those added so far: in
        the same batches of BATCH_ROWS that `add` makes, so the same file and sizes."""
        held = self.held.pop(split, None)
        if held is not None:
            table = pa.concat_tables([held, table])
        while table.num_rows >= BATCH_ROWS:
            self._write(split, _fresh(table.slice(0, BATCH_ROWS)))
            table = table.slice(BATCH_ROWS)
        if table.num_rows:
            self.held[split] = table

    def close(self) -> None:
        for split in SPLITS:
            self.close_split(split)

    def close_split(self, split: str) -> None:
        """Write a split's last rows and close its file (each split's own state: splits may be
        closed from different threads)."""
        self._flush(split)
        held = self.held.pop(split, None)
        if held is not None:
            self._write(split, _fresh(held))
        if split in self.writers:
            self.writers[split].close()

    def info(self) -> DatasetInfo | None:
        if not self.rows:
            return None
        splits = SplitDict()
        for split in SPLITS:
            if self.rows[split]:
                splits.add(
                    SplitInfo(
                        name=split, num_bytes=self.nbytes[split], num_examples=self.rows[split]
                    )
                )
        return DatasetInfo(
            features=self.features,
            splits=splits,
            config_name=self.config,
            download_size=sum(self.path(s).stat().st_size for s in self.rows),
            dataset_size=sum(self.nbytes.values()),
        )


# ---- publish -----------------------------------------------------------------------------------


@dataclass
class PublishSummary:
    out: Path
    rows: dict[str, dict[str, int]]  # config → split → rows (configs/splits with rows only)
    documents: dict[str, int]  # split → documents
    misaligned_spans: int
    overlapping_entities: int
    conflicts: int
    adjudicated: bool = False
    pushed_to: str | None = None
    processes: int = 1  # 2: a forked child did half of the adjudication and rows

    @property
    def splits(self) -> list[str]:
        return [s for s in SPLITS if self.documents.get(s)]

    def table_rows(self) -> list[list[str]]:
        """Config × split row counts, for the CLI's summary table."""
        return [
            [config, *(str(self.rows[config].get(s, 0)) for s in self.splits)]
            for config in CONFIGS
            if config in self.rows
        ]

    def notes(self) -> list[tuple[str, str]]:
        return [
            ("documents", ", ".join(f"{s} {self.documents[s]}" for s in self.splits)),
            ("spans off token boundaries", str(self.misaligned_spans)),
            ("overlapping entities left out of ner_tags", str(self.overlapping_entities)),
            ("unresolved conflicts left out", str(self.conflicts)),
        ]


def _gold_needed(annotations_dir: Path) -> bool:
    """True when there are record files and gold is missing or older than them."""
    if not any((annotations_dir / f"{layer}.jsonl").is_file() for layer in LAYERS):
        return False  # gold alone (hand-made, or copied): publish it as it is
    return gold_is_stale(annotations_dir)


def _ensure_gold(
    annotations_dir: Path,
    needed: bool,
    vouched: set[Layer],
    on_record: Callable[[Layer, dict[str, Any]], None] | None = None,
) -> bool:
    """Run the adjudication when `needed` (`_gold_needed`); True if it ran. `vouched`: the
    layers whose record files need no check (`_vouched_layers`)."""
    if not needed:
        return False
    try:
        adjudicate(annotations_dir, on_record=on_record, vouched=vouched)
    except InvalidAnnotations as exc:
        raise PublishError(f"{exc} Nothing was published.") from None
    return True


def _agreement(annotations_dir: Path, scan: _Scan) -> dict[str, Any] | None:
    if not scan.records:
        return None
    recorded = recorded_agreement(annotations_dir)  # measured by the adjudication, same records
    if recorded is not None:
        return recorded
    report: dict[str, Any] = load_and_measure(annotations_dir).to_dict()
    return report


def _seed_metadata(seeds_dir: Path | None, documents: Iterable[str]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for doc in sorted(documents):
        path = seeds_dir / f"{doc}.json" if seeds_dir else None
        if path is None or not path.is_file():
            out[doc] = {}
            continue
        try:
            meta = orjson.loads(path.read_bytes())
        except orjson.JSONDecodeError as exc:
            raise PublishError(f"{path}: not valid JSON ({exc}). Fix the metadata file.") from None
        out[doc] = meta if isinstance(meta, dict) else {}
    return out


def publish(
    annotations_dir: Path,
    out: Path,
    ontology: Ontology,
    *,
    seeds_dir: Path | None = None,
    seed: int = 42,
    ratios: Sequence[float] = DEFAULT_RATIOS,
    repo_id: str | None = None,
) -> PublishSummary:
    """Write the gold records of `annotations_dir` as a Hub dataset repo folder at `out`.

    Runs the adjudication first when gold is missing or stale. Writes into a temp folder and
    swaps it into `out` only when everything is written: on any error `out` stays as it was.
    `repo_id` only changes how the card's loading examples name the dataset.
    """
    with paused_gc(), remembered_digests():
        return _publish(annotations_dir, out, ontology, seeds_dir, seed, ratios, repo_id)


def _gold_rows(
    rows: _Rows,
    gold_of: Callable[[Layer], Iterator[dict[str, Any]]],
    by_sentence: bool = True,
) -> Iterator[tuple[Layer, dict[str, Any], dict[str, Any]]]:
    """(layer, gold record, its row) of each layer's gold records (`gold_of`): entities and
    events side by side, by sentence (each file keeps its order), so that a sentence's tokens are
    made once for both; then stance. Not `by_sentence`: one layer after the other (gold that
    another process is still writing, a layer at a time: see `_GoldFeed`)."""
    row_of = {
        Layer.ENTITIES: rows.entities,
        Layer.EVENTS: rows.events,
        Layer.STANCE: rows.stance_row,
    }

    def tagged(layer: Layer) -> Iterator[tuple[Layer, dict[str, Any]]]:
        return ((layer, raw) for raw in gold_of(layer))

    if by_sentence:
        merged = heapq.merge(
            tagged(Layer.ENTITIES),
            tagged(Layer.EVENTS),
            key=lambda item: segment_sort_key(item[1]["segment_id"]),
        )
        items = chain(merged, tagged(Layer.STANCE))
    else:
        items = chain.from_iterable(tagged(layer) for layer in LAYERS)
    while chunk := list(islice(items, TOKEN_BATCH)):
        rows.prepare(raw["text"] for layer, raw in chunk if layer is not Layer.STANCE)
        for layer, raw in chunk:
            yield layer, raw, row_of[layer](raw)


def _publish(
    annotations_dir: Path,
    out: Path,
    ontology: Ontology,
    seeds_dir: Path | None,
    seed: int,
    ratios: Sequence[float],
    repo_id: str | None,
) -> PublishSummary:
    annotations_dir, out = Path(annotations_dir), Path(out)
    ratios = check_ratios(ratios)
    if not annotations_dir.is_dir():
        raise PublishError(
            f"{annotations_dir}: no such folder. Import annotations first "
            "(newsanno annotations import), or pass --annotations DIR."
        )
    scan = _Scan()
    checker = RecordChecker(ontology)
    vouched = _vouched_layers(annotations_dir, checker)
    present = {layer for layer in LAYERS if (annotations_dir / f"{layer}.jsonl").is_file()}
    needed = _gold_needed(annotations_dir)
    if (
        needed
        and vouched == present
        and parallel.workers() > 1
        and sum((annotations_dir / f"{layer}.jsonl").stat().st_size for layer in present)
        >= parallel.MIN_BYTES
    ):
        try:
            return _publish_in_two(
                annotations_dir, out, ontology, present, seeds_dir, seed, ratios, repo_id
            )
        except _Fallback:
            pass  # one process, from the start (nothing was written)
    if needed and vouched == present:
        # Nothing to check before the adjudication: count the records as it reads them.
        adjudicated = _ensure_gold(
            annotations_dir, needed, vouched, lambda layer, raw: _count_record(scan, layer, raw)
        )
    else:
        _scan_records(annotations_dir, checker, scan, vouched)
        adjudicated = _ensure_gold(annotations_dir, needed, vouched)
    conflicts, conflicts_by_layer, conflict_keys = _read_conflicts(annotations_dir / CONFLICTS_FILE)
    has_records = any((annotations_dir / f"{layer}.jsonl").is_file() for layer in LAYERS)
    deferred = _scan_gold(
        annotations_dir, checker, conflict_keys, scan, checked_records=has_records
    )
    unread = [annotations_dir / GOLD / f"{layer}.jsonl" for layer in deferred]
    if not sum(scan.gold.values()) and not any(p.stat().st_size for p in unread):
        raise PublishError(_nothing_to_publish(annotations_dir, scan, conflicts))

    split_of = assign_splits(scan.documents, seed, ratios)
    rows = _Rows(ontology)
    infos: dict[str, DatasetInfo] = {}
    with atomic_dir(out) as tmp:
        with ExitStack() as stack:
            writers = {c: _ConfigWriter(tmp, c, features_for(ontology, c), stack) for c in CONFIGS}

            def gold_of(layer: Layer) -> Iterator[dict[str, Any]]:
                gold_path = annotations_dir / GOLD / f"{layer}.jsonl"
                if not gold_path.is_file():
                    return
                count = layer in deferred
                for _, raw in _iter_raw(gold_path):
                    if _task_key(layer, raw["segment_id"], raw.get("target")) in conflict_keys:
                        continue
                    if count:
                        _count_gold(scan, layer, raw)
                    yield raw

            for layer, raw, row in _gold_rows(rows, gold_of):
                writers[str(layer)].add(split_of[raw["document_id"]], row)
            if not sum(scan.gold.values()):  # every unread gold task was a conflict
                raise PublishError(_nothing_to_publish(annotations_dir, scan, conflicts))
            for layer in LAYERS:
                path = annotations_dir / f"{layer}.jsonl"
                if path.is_file() and layer in vouched:
                    # the import wrote each line as `dumps_line` of the record: the row's
                    # `record` is the line itself
                    for line, raw in _iter_lines(path):
                        split = split_of[raw["document_id"]]
                        writers["annotations"].add(split, rows.annotation(raw, line))
                elif path.is_file():
                    for _, raw in _iter_raw(path):
                        split = split_of[raw["document_id"]]
                        writers["annotations"].add(split, rows.annotation(raw))
            for writer in writers.values():
                writer.close()
            for config, writer in writers.items():
                info = writer.info()
                if info is not None:
                    infos[config] = info
        _write_card(tmp, annotations_dir, ontology, infos, scan, split_of, seeds_dir, seed, ratios,
                    rows, (conflicts, conflicts_by_layer), repo_id or out.name)  # fmt: skip
    return _summary(out, infos, split_of, rows, conflicts, adjudicated)


def _write_card(
    tmp: Path,
    annotations_dir: Path,
    ontology: Ontology,
    infos: dict[str, DatasetInfo],
    scan: _Scan,
    split_of: dict[str, str],
    seeds_dir: Path | None,
    seed: int,
    ratios: Sequence[float],
    rows: _Rows,
    conflicts: tuple[int, Counter[str]],
    repo: str,
) -> None:
    card = render_card(
        ontology=ontology,
        infos=infos,
        scan=scan,
        split_of=split_of,
        seed=seed,
        ratios=ratios,
        sources=_seed_metadata(seeds_dir, scan.documents),
        agreement=_agreement(annotations_dir, scan),
        issues=rows.issues,
        issue_counts=rows.counts,
        conflicts=conflicts[0],
        conflicts_by_layer=conflicts[1],
        repo=repo,
        example=rows.example,
    )
    (tmp / "README.md").write_text(card, encoding="utf-8")


def _summary(
    out: Path,
    infos: dict[str, DatasetInfo],
    split_of: dict[str, str],
    rows: _Rows,
    conflicts: int,
    adjudicated: bool,
    processes: int = 1,
) -> PublishSummary:
    documents = Counter(split_of.values())
    return PublishSummary(
        out=out,
        rows={
            c: {s: info.splits[s].num_examples for s in info.splits} for c, info in infos.items()
        },
        documents={s: documents[s] for s in SPLITS if documents[s]},
        misaligned_spans=rows.counts["misaligned"],
        overlapping_entities=rows.counts["overlapping"],
        conflicts=conflicts,
        adjudicated=adjudicated,
        processes=processes,
    )


# ---- publish in two processes -------------------------------------------------------------
#
# When gold must be made from record files that `annotations import` wrote and checked, each
# record file is cut at a task boundary. A forked child adjudicates the tasks after the cut (most
# of them) and makes their per-annotator rows; this process adjudicates the tasks before it and
# then makes every gold row: its own tasks', then the child's, read from the child's gold files
# while they grow (`_GoldFeed`). So only this process needs the tokenizer, and it loads it while
# the child is already at work. Rows go to Arrow IPC streams in a temp folder, batch by batch;
# this process then writes gold, the Parquet files (the same batches, so the same bytes) and the
# card from them.


# This process's share of the tasks (measured best): it also makes all the gold rows and loads
# the tokenizer.
PUBLISH_SHARE = 0.2


class _Fallback(Exception):
    """The two-process publish cannot be used here: publish with one."""


@dataclass
class _PartResult:
    adjudicated: dict[Layer, AdjudicationPart]
    scan: _Scan
    rows: tuple[Any, ...]  # `_Rows.state()`
    streams: dict[tuple[str, str], Path]  # (config, layer for `annotations`) → IPC stream


class _Streams(_Batches[tuple[str, str]]):
    """One part's rows, per (config, group), in Arrow IPC stream files, BATCH_ROWS at a time."""

    def __init__(self, root: Path, ontology: Ontology) -> None:
        super().__init__()
        self.root = root
        self.schemas = {c: features_for(ontology, c).arrow_schema for c in CONFIGS}
        self.writers: dict[tuple[str, str], tuple[Any, Any]] = {}
        self.paths: dict[tuple[str, str], Path] = {}

    def _schema(self, key: tuple[str, str]) -> pa.Schema:
        return self.schemas[key[0]]

    def _write(self, key: tuple[str, str], table: pa.Table) -> None:
        if key not in self.writers:
            path = self.root / f"{key[0]}-{key[1] or 'gold'}.arrows"
            sink = pa.OSFile(str(path), "wb")
            self.writers[key] = (sink, pa.ipc.new_stream(sink, table.schema))
            self.paths[key] = path
        self.writers[key][1].write_table(table)

    def close(self) -> dict[tuple[str, str], Path]:
        self._flush_all()
        for sink, writer in self.writers.values():
            writer.close()
            sink.close()
        return self.paths


class _GoldFeed:
    """How far the child has written its gold files, told through a pipe: b"." each time
    another 256 tasks are in, a layer's index once its file is complete. The child only writes
    to the pipe (a few bytes), so it never waits for this process. Each process closes the end
    it does not use; each end is closed once (a closed descriptor's number is soon another
    file's)."""

    def __init__(self) -> None:
        self.read_fd, self.write_fd = os.pipe()
        self.complete: set[Layer] = set()

    def close_read(self) -> None:
        if self.read_fd >= 0:
            os.close(self.read_fd)
            self.read_fd = -1

    def close_write(self) -> None:
        if self.write_fd >= 0:
            os.close(self.write_fd)
            self.write_fd = -1

    def close(self) -> None:
        self.close_read()
        self.close_write()

    # -- in the child

    def progress(self) -> None:
        os.write(self.write_fd, b".")

    def finished(self, layer: Layer) -> None:
        os.write(self.write_fd, str(LAYERS.index(layer)).encode())

    # -- in this process

    def _wait(self) -> None:
        got = os.read(self.read_fd, 256)
        if not got:  # every write end closed: the child is gone
            raise parallel.ChildFailed("the child process ended before its gold was written")
        self.complete.update(LAYERS[int(c)] for c in got.decode() if c != ".")

    def follow(self, layer: Layer, path: Path) -> Iterator[dict[str, Any]]:
        """The gold records of the child's file for `layer`, as soon as they are written."""
        with open(path, "rb") as fh:
            while True:
                at = fh.tell()
                line = fh.readline()
                if line.endswith(b"\n"):
                    yield orjson.loads(line)
                elif layer in self.complete:
                    if line:
                        raise ValueError(f"{path}: the last line is cut short")
                    return
                else:  # the end of what is written so far
                    fh.seek(at)
                    self._wait()


def _adjudicate_share(
    ontology: Ontology, records: dict[Layer, Path], work: Path, feed: _GoldFeed
) -> _PartResult:
    """The child's part: adjudicate its tasks of each checked record file (its gold files told
    to `feed` as they grow), count its records and make their per-annotator rows."""
    feed.close_read()
    scan = _Scan()
    streams = _Streams(work, ontology)

    def note(layer: Layer, raw: dict[str, Any]) -> None:
        _count_record(scan, layer, raw)
        streams.add(("annotations", str(layer)), _Rows.annotation(raw))

    adjudicated = {}
    for layer, path in records.items():
        gold, conflicts = work / f"gold-{layer}.jsonl", work / f"conflicts-{layer}.jsonl"
        adjudicated[layer] = adjudicate_part(layer, path, gold, conflicts, note, feed.progress)
        feed.finished(layer)
    return _PartResult(adjudicated, scan, _Rows(ontology).state(), streams.close())


def _publish_part(
    ontology: Ontology,
    records: dict[Layer, Path],
    work: Path,
    later: dict[Layer, Callable[[], Iterator[dict[str, Any]]]],
) -> _PartResult:
    """Adjudicate one part (whole tasks of each checked record file) and make its rows, then the
    gold rows of the tasks after it (`later`: their gold records, by layer); what the sequential
    `_publish` does with the same records, minus the writing of the final files."""
    work.mkdir(parents=True, exist_ok=True)
    scan = _Scan()
    rows = _Rows(ontology)
    streams = _Streams(work, ontology)

    def note(layer: Layer, raw: dict[str, Any]) -> None:
        # Each record as the adjudication reads it: counted, and its per-annotator row made
        # (a checked file's line is `dumps_line` of its dict: `annotation` makes the same text).
        _count_record(scan, layer, raw)
        streams.add(("annotations", str(layer)), rows.annotation(raw))

    adjudicated = {
        layer: adjudicate_part(
            layer, path, work / f"gold-{layer}.jsonl", work / f"conflicts-{layer}.jsonl", note
        )
        for layer, path in records.items()
    }

    def gold_of(layer: Layer) -> Iterator[dict[str, Any]]:
        # fresh gold has no line for a conflict: nothing to leave out
        if layer in adjudicated:
            for _, raw in _iter_raw(work / f"gold-{layer}.jsonl"):
                _count_gold(scan, layer, raw)
                yield raw

    def later_gold_of(layer: Layer) -> Iterator[dict[str, Any]]:
        if layer in later:
            for raw in later[layer]():
                _count_gold(scan, layer, raw)
                yield raw

    # each config's rows in task order: this part's, then the later tasks' (the same batches)
    for layer, _, row in chain(
        _gold_rows(rows, gold_of), _gold_rows(rows, later_gold_of, by_sentence=False)
    ):
        streams.add((str(layer), ""), row)
    return _PartResult(adjudicated, scan, rows.state(), streams.close())


def _task_boundary(path: Path, share: float) -> int:
    """A byte offset about `share` into a record file (sorted by task) where a task starts; the
    file's size when no other task starts after that."""
    size = path.stat().st_size
    with open(path, "rb") as fh:
        fh.seek(int(size * share))
        fh.readline()  # to the start of the next line
        at = fh.tell()
        key = None
        while line := fh.readline():
            raw = orjson.loads(line)
            k = (raw.get("segment_id"), raw.get("target"))
            if key is not None and k != key:
                return at
            key = k
            at += len(line)
    return size


def _copy_range(src: Path, dst: Path, start: int, end: int) -> None:
    with open(src, "rb") as fin, open(dst, "wb") as fout:
        fin.seek(start)
        left = end - start
        while left > 0 and (block := fin.read(min(left, 1 << 20))):
            fout.write(block)
            left -= len(block)


def _merge_scans(a: _Scan, b: _Scan) -> _Scan:
    a.documents |= b.documents
    a.gold += b.gold
    for layer, labels in b.labels.items():
        a.labels[layer] += labels
    a.roles += b.roles
    a.stance += b.stance
    a.sentences |= b.sentences
    a.records += b.records
    for layer, names in b.annotators.items():
        a.annotators[layer] |= names
    for layer, tasks in b.per_task.items():
        a.per_task[layer] += tasks
    a.model_versions |= b.model_versions
    a.ground_truth += b.ground_truth
    return a


def _append_split(writer: _ConfigWriter, paths: list[Path], split: str, docs: pa.Array) -> None:
    """Write a split's file of one config: the parts' rows whose document is in `docs`, in
    order."""
    for path in paths:
        with pa.OSFile(str(path)) as src:
            for batch in pa.ipc.open_stream(src):
                table = pa.Table.from_batches([batch])
                mine = table.filter(pc.is_in(table["document_id"], value_set=docs))  # type: ignore[attr-defined]
                if mine.num_rows:
                    writer.add_table(split, mine)
    writer.close_split(split)


def _publish_in_two(
    annotations_dir: Path,
    out: Path,
    ontology: Ontology,
    present: set[Layer],
    seeds_dir: Path | None,
    seed: int,
    ratios: Sequence[float],
    repo_id: str | None,
) -> PublishSummary:
    """`_publish` of fresh, checked record files, half of it in a forked child (see above).
    `_Fallback` when that cannot be done (nothing written then)."""
    fingerprint = input_fingerprint(annotations_dir)
    with tempfile.TemporaryDirectory(prefix="newsanno-publish-") as work_dir:
        work = Path(work_dir)
        halves: list[dict[Layer, Path]] = [{}, {}]
        for layer in LAYERS:
            if layer not in present:
                continue
            path = annotations_dir / f"{layer}.jsonl"
            cut = _task_boundary(path, PUBLISH_SHARE)
            for i, (start, end) in enumerate(((0, cut), (cut, path.stat().st_size))):
                (work / str(i)).mkdir(exist_ok=True)
                halves[i][layer] = work / str(i) / f"records-{layer}.jsonl"
                _copy_range(path, halves[i][layer], start, end)
        feed = _GoldFeed()
        theirs = {layer: work / "1" / f"gold-{layer}.jsonl" for layer in halves[1]}
        for path in theirs.values():
            path.touch()  # there to be followed from the start
        later: dict[Layer, Callable[[], Iterator[dict[str, Any]]]] = {
            layer: partial(feed.follow, layer, path) for layer, path in theirs.items()
        }
        try:
            with parallel.Forked(
                lambda: _adjudicate_share(ontology, halves[1], work / "1", feed)
            ) as child:
                feed.close_write()  # the child's is then the only one: its end is seen
                first = _publish_part(ontology, halves[0], work / "0", later)
                second = child.result()
        except Exception as exc:  # a problem in the input: the one-process path reports it
            raise _Fallback(str(exc)) from None
        finally:
            feed.close()
        outcomes = finish_parts(
            annotations_dir,
            "majority",
            fingerprint,
            {
                layer: [
                    (
                        work / str(i) / f"gold-{layer}.jsonl",
                        work / str(i) / f"conflicts-{layer}.jsonl",
                        part.adjudicated[layer],
                    )
                    for i, part in enumerate((first, second))
                ]
                for layer in LAYERS
                if layer in present
            },
        )
        scan = _merge_scans(first.scan, second.scan)
        rows = _Rows(ontology)
        rows.absorb(first.rows)
        rows.absorb(second.rows)
        conflicts_by_layer = Counter({str(o.layer): o.conflicts for o in outcomes if o.conflicts})
        conflicts = sum(conflicts_by_layer.values())
        if not sum(scan.gold.values()):
            raise PublishError(_nothing_to_publish(annotations_dir, scan, conflicts))
        split_of = assign_splits(scan.documents, seed, ratios)
        docs = {
            split: pa.array(sorted(doc for doc, s in split_of.items() if s == split), pa.string())
            for split in SPLITS
        }

        def paths(config: str) -> list[Path]:
            groups = (
                [("annotations", str(layer)) for layer in LAYERS]
                if config == "annotations"
                else [(config, "")]
            )
            return [p.streams[g] for g in groups for p in (first, second) if g in p.streams]

        with atomic_dir(out) as tmp, ExitStack() as stack:
            writers = {c: _ConfigWriter(tmp, c, features_for(ontology, c), stack) for c in CONFIGS}
            # Arrow and Parquet work without the GIL: the files (one per config and split) are
            # written side by side, the largest first
            files = sorted(
                ((c, split) for c in CONFIGS for split in SPLITS),
                key=lambda f: (-sum(p.stat().st_size for p in paths(f[0])), SPLITS.index(f[1])),
            )
            with ThreadPoolExecutor(max_workers=parallel.MAX_WORKERS) as pool:
                list(
                    pool.map(
                        lambda f: _append_split(writers[f[0]], paths(f[0]), f[1], docs[f[1]]),
                        files,
                    )
                )
            for writer in writers.values():
                writer.close()
            infos = {c: info for c, w in writers.items() if (info := w.info()) is not None}
            conflicted = (conflicts, conflicts_by_layer)
            _write_card(tmp, annotations_dir, ontology, infos, scan, split_of, seeds_dir, seed,
                        ratios, rows, conflicted, repo_id or out.name)  # fmt: skip
    return _summary(out, infos, split_of, rows, conflicts, True, processes=2)


def _nothing_to_publish(annotations_dir: Path, scan: _Scan, conflicts: int) -> str:
    if conflicts:
        return (
            f"nothing to publish: every task in {annotations_dir} is an unresolved conflict "
            f"({conflicts}). Resolve them (newsanno review create) and adjudicate again."
        )
    if scan.records:
        return (
            f"nothing to publish: no gold records in {annotations_dir / 'gold'}. "
            "Run 'newsanno annotations adjudicate' first."
        )
    return (
        f"nothing to publish: {annotations_dir} has no annotation records. "
        "Import them first (newsanno annotations import)."
    )


# ---- the Hub --------------------------------------------------------------------------------


def push_to_hub(folder: Path, repo_id: str, private: bool = False, api: Any = None) -> str:
    """Upload a published folder as it is to the Hub dataset repo `repo_id`; returns its URL.

    `api` is a `huggingface_hub.HfApi` (the default) or anything with its `create_repo`,
    `update_repo_settings` and `upload_folder`. The token comes from HF_TOKEN or `hf auth login`,
    as huggingface_hub finds it. Files under data/ that the folder no longer has are deleted
    from the repo in the same commit; `private=True` makes an existing repo private too.
    """
    import httpx
    from huggingface_hub.errors import (
        HfHubHTTPError,
        LocalTokenNotFoundError,
        OfflineModeIsEnabled,
    )

    folder = Path(folder)
    if not (folder / "README.md").is_file():
        raise PublishError(
            f"{folder}: no dataset card (README.md). Run 'newsanno dataset publish' first."
        )
    if api is None:
        from huggingface_hub import HfApi

        api = HfApi()
    again = f"{folder}/ is written; push it again with --push-to-hub {repo_id}"
    try:
        url = api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
        if private:  # create_repo ignores `private` for a repo that already exists
            api.update_repo_settings(repo_id, private=True, repo_type="dataset")
        api.upload_folder(
            repo_id=repo_id,
            repo_type="dataset",
            folder_path=str(folder),
            commit_message="Publish the dataset with newsanno",
            delete_patterns=["data/**"],
        )
    except LocalTokenNotFoundError:
        raise PublishError(
            f"no Hugging Face token: set HF_TOKEN or run 'hf auth login'. {again}."
        ) from None
    except OfflineModeIsEnabled:
        raise PublishError(
            f"cannot push to the Hub while HF_HUB_OFFLINE is set: unset it. {again}."
        ) from None
    except HfHubHTTPError as exc:
        status = exc.response.status_code if exc.response is not None else "?"
        raise PublishError(
            f"the Hub refused the upload to {repo_id} (HTTP {status}): check the repo id and that "
            f"your token (HF_TOKEN or 'hf auth login') may write to it. {again}."
        ) from None
    except (httpx.TransportError, OSError) as exc:
        raise PublishError(
            f"cannot reach the Hub ({type(exc).__name__}): check the network. {again}."
        ) from None
    return str(url)


# ---- the card --------------------------------------------------------------------------------

_LICENSE_ID = re.compile(r"^[a-z0-9][a-z0-9.\-]*$")
_SIZES = ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M"))


def _cell(value: Any) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def _md_table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _plural(n: int, word: str, words: str | None = None) -> str:
    return f"{n} {word if n == 1 else (words or word + 's')}"


def _figure(value: Any) -> str:
    return "n/a" if value is None else f"{value:.3f}" if isinstance(value, float) else str(value)


def _card_data(
    ontology: Ontology,
    infos: dict[str, DatasetInfo],
    sources: dict[str, dict[str, Any]],
) -> DatasetCardData:
    licences = {str(m.get("license", "")) for m in sources.values()}
    licence = next(iter(licences)) if len(licences) == 1 else ""
    extra: dict[str, Any] = {}
    if not _LICENSE_ID.match(licence):
        licence = "other"
        extra = {"license_name": "per-source"}  # the card's Licensing section quotes each
    languages = sorted({str(m.get("language") or "en") for m in sources.values()}) or ["en"]
    gold = sum(i.splits.total_num_examples for c, i in infos.items() if c != "annotations")
    size = next((label for limit, label in _SIZES if gold < limit), "n>1M")
    default = DEFAULT_CONFIG if DEFAULT_CONFIG in infos else next(iter(infos))
    configs = []
    for config, info in infos.items():
        entry: dict[str, Any] = {"config_name": config}
        if config == default:
            entry["default"] = True
        entry["data_files"] = [
            {"split": split, "path": f"data/{config}/{split}-*.parquet"} for split in info.splits
        ]
        configs.append(entry)
    card_data = DatasetCardData(
        pretty_name=f"{ontology.name}: entities, events and stance in news",
        license=licence,
        **extra,
        language=languages,
        multilinguality="monolingual" if len(languages) == 1 else "multilingual",
        annotations_creators=["expert-generated"],
        language_creators=["found"],
        source_datasets=["original"],
        size_categories=[size],
        task_categories=["token-classification", "text-classification"],
        task_ids=["named-entity-recognition", "multi-class-classification"],
        tags=["event-extraction", "stance-detection", "news", "newsanno"],
        configs=configs,
    )
    DatasetInfosDict(infos).to_dataset_card_data(card_data)
    return card_data


def render_card(
    *,
    ontology: Ontology,
    infos: dict[str, DatasetInfo],
    scan: _Scan,
    split_of: dict[str, str],
    seed: int,
    ratios: Sequence[float],
    sources: dict[str, dict[str, Any]],
    agreement: dict[str, Any] | None,
    issues: Sequence[SpanIssue],
    issue_counts: Counter[str],
    conflicts: int,
    conflicts_by_layer: Counter[str],
    repo: str,
    example: tuple[str, list[tuple[str, str]]] | None = None,
) -> str:
    """The dataset card: YAML front matter from the Features written, then the prose."""
    card_data = _card_data(ontology, infos, sources)
    n_docs = len(split_of)
    rows = {c: i.splits.total_num_examples for c, i in infos.items()}
    title = f"# {ontology.name}: entities, events and stance in news"
    summary = (
        f"Sentences from {_plural(n_docs, 'news article')}, annotated with named entities, "
        "events with their arguments, and the stance each sentence takes toward a set of "
        "targets, with newsanno and Label Studio: "
        f"{_plural(len(scan.sentences), 'sentence')} ({rows.get('entities', 0)} in `entities`, "
        f"{rows.get('events', 0)} in `events`), "
        f"{_plural(rows.get('stance', 0), '(sentence, target) judgement')} in `stance`, and "
        f"{_plural(rows.get('annotations', 0), 'per-annotator record')} in `annotations`. "
        f"Every label comes from the ontology {ontology.name} {ontology.version}."
    )

    parts = [title, summary]
    parts.append(_loading_section(infos, repo))
    parts.append(_example_section(example))
    parts.append(_configs_section(ontology, infos))
    parts.append(_splits_section(infos, split_of, seed, ratios))
    parts.append(_sources_section(sources))
    parts.append(_ontology_section(ontology))
    parts.append(_making_section(scan))
    parts.append(_policy_section(scan, conflicts, conflicts_by_layer))
    parts.append(_counts_section(ontology, scan))
    parts.append(_agreement_section(agreement))
    parts.append(_limits_section(scan, n_docs, issues, issue_counts, conflicts))
    parts.append(_licensing_section(sources))
    body = "\n\n".join(p.strip() for p in parts if p.strip()) + "\n"
    # What `str(DatasetCard(text))` gives back for this text (a test checks it), without its
    # parsing the YAML and writing it again.
    return f"---\n{card_data.to_yaml()}\n---\n\n{body}"


def _loading_section(infos: dict[str, DatasetInfo], repo: str) -> str:
    lines = ["## How to load it", "", "```python", "from datasets import load_dataset", ""]
    for config in infos:
        lines.append(f'{config} = load_dataset("{repo}", "{config}")')
    lines += [
        "```",
        "",
        (
            f'`"{repo}"` is the Hub repository; a copy of this folder loads the same way by its '
            "path, offline. "
            if "/" in repo
            else f'`"{repo}"` is the path of this folder (it loads offline); on the Hub, use the '
            "repository id instead. "
        )
        + "ClassLabel columns hold integers; "
        '`ds["train"].features["ner_tags"].feature.int2str(tag)` gives the name, and for a label '
        'inside a list of structs use `features["entities"].feature["label"]`.',
    ]
    return "\n".join(lines)


def _example_section(example: tuple[str, list[tuple[str, str]]] | None) -> str:
    if example is None:
        return ""
    segment_id, tagged = example
    shown = " ".join(tok if tag == "O" else f"{tok}/{tag}" for tok, tag in tagged)
    return (
        f"## An example\n\nThe tokens of `{segment_id}` in the `entities` config, with their "
        f"`ner_tags` where they are not `O`:\n\n```text\n{shown}\n```"
    )


def _configs_section(ontology: Ontology, infos: dict[str, DatasetInfo]) -> str:
    described = {
        "entities": (
            "One row per sentence. `tokens` come from spaCy's rule-based English tokenizer (the "
            "one that split the sentences); `ner_tags` are BIO tags, one per token "
            f"(`{ontology.bio_tags[0]}`, `{ontology.bio_tags[1]}`, `{ontology.bio_tags[2]}`, …, "
            "the conll2003 layout that `transformers` token classification reads). `entities` "
            "lists the character spans `{id, start, end, text, label}`: `end` is exclusive and "
            "offsets count code points of `text`, so `text[start:end] == entity.text`."
        ),
        "events": (
            "One row per sentence, with its `tokens`. `events` lists `{id, type, trigger: {start, "
            "end, text, token_start, token_end}, arguments: [{role, start, end, text, "
            "entity_type}]}`. Every end is exclusive, `token_end` included: the trigger is "
            "`tokens[token_start:token_end]`. `type`, `role` and `entity_type` are ClassLabels."
        ),
        "stance": (
            "One row per (sentence, target) where the sentence names the target or one of its "
            "aliases: `target` is the target's name, `label` the stance the sentence expresses "
            "toward it."
        ),
        "annotations": (
            "The raw layer: one row per (task, annotator), including tasks left out of the gold "
            "configs. `annotator` is a stable pseudonym (`annotator-3`), never an e-mail; "
            "`created_at`, `updated_at` and `lead_time` (seconds) come from Label Studio; "
            "`model_version` names the pre-annotation the annotator started from (empty when "
            "none); `record` is the record as it was imported, a JSON string because the three "
            "layers have different shapes (`json.loads(row['record'])`)."
        ),
    }
    lines = ["## Configs", ""]
    for config in CONFIGS:
        if config not in infos:
            lines.append(f"- `{config}`: no rows in this release, so the config is not included.")
            continue
        default = " (default)" if config == DEFAULT_CONFIG else ""
        columns = ", ".join(f"`{c}`" for c in infos[config].features or {})
        lines.append(f"- `{config}`{default}: {columns}. {described[config]}")
    return "\n".join(lines)


def _splits_section(
    infos: dict[str, DatasetInfo], split_of: dict[str, str], seed: int, ratios: Sequence[float]
) -> str:
    docs = Counter(split_of.values())
    splits = [s for s in SPLITS if docs[s]]
    lines = ["## Splits", ""]
    if len(split_of) < MIN_DOCUMENTS_TO_SPLIT:
        lines.append(
            f"This release has {_plural(len(split_of), 'document')}, fewer than "
            f"{MIN_DOCUMENTS_TO_SPLIT}, so everything is in `train`: there is no "
            "validation or test split. Sentences of one article are not independent, so if you "
            "hold some out, hold out whole documents (`document_id`)."
        )
    else:
        shown = "/".join(f"{r:g}" for r in ratios)
        lines.append(
            f"Split by document, so no article is in two splits: the document ids are shuffled "
            f"with seed {seed} and cut {shown} (train/validation/test). Every config uses the "
            "same assignment."
        )
    lines += [
        "",
        _md_table(
            ["config", *splits],
            [
                [c, *(info.splits[s].num_examples if s in info.splits else 0 for s in splits)]
                for c, info in infos.items()
            ]
            + [["documents", *(docs[s] for s in splits)]],
        ),
    ]
    return "\n".join(lines)


def _sources_section(sources: dict[str, dict[str, Any]]) -> str:
    rows = []
    for doc, meta in sources.items():
        rows.append(
            [
                f"`{doc}`",
                meta.get("title") or "",
                meta.get("source") or "",
                meta.get("published") or "",
                meta.get("url") or "not recorded",
            ]
        )
    lines = [
        "## Sources",
        "",
        _md_table(["document_id", "title", "source", "published", "url"], rows),
    ]
    notes = [(doc, m["notes"]) for doc, m in sources.items() if m.get("notes")]
    if notes:
        lines.append("")
        lines += [f"- `{doc}`: {note}" for doc, note in notes]
    if not any(sources.values()):
        lines += [
            "",
            "No seed metadata (`seeds/<document_id>.json`) was found for these documents.",
        ]
    return "\n".join(lines)


def _ontology_section(ontology: Ontology) -> str:
    lines = [
        "## The ontology",
        "",
        f"{ontology.name} {ontology.version}: one file is the source of every label set here "
        "(ClassLabel names, the Label Studio configs, the JSON Schemas records are checked "
        "against).",
        "",
        "### Entity types",
        "",
        _md_table(
            ["label", "description"], [[e.name, e.description] for e in ontology.entity_types]
        ),
        "",
        "### Event types and their roles",
        "",
        _md_table(
            ["type", "roles", "description"],
            [[e.name, ", ".join(e.roles), e.description] for e in ontology.event_types],
        ),
        "",
        "### Stance",
        "",
        ontology.stance_description,
        "",
        _md_table(
            ["label", "description"], [[s.name, s.description] for s in ontology.stance_labels]
        ),
        "",
        _md_table(
            ["target", "aliases"],
            [[t.name, ", ".join(t.aliases)] for t in ontology.stance_targets],
        ),
    ]
    return "\n".join(lines)


def _making_section(scan: _Scan) -> str:
    versions = ", ".join(f"`{v}`" for v in sorted(scan.model_versions))
    prelabel = (
        f" Entity tasks came pre-annotated by a gazetteer with date rules ({versions}); the "
        "`annotations` config says, per record, whether the annotator started from it."
        if versions
        else " Entity tasks came pre-annotated by a gazetteer with date rules."
    )
    return (
        "## How the tasks were made\n\n"
        "Each article was split into sentences by spaCy's rule-based English sentencizer, with "
        "exact character offsets into the article file. Page furniture (the page-title line, "
        'video widgets, repeated lines) was dropped and a dateline such as "(CNN)" cut off the '
        "first sentence; photo captions were kept. Each sentence became one entities task and "
        "one events task; each (sentence, target) where the sentence names a stance target or "
        "one of its aliases became a stance task." + prelabel + " `segment_id` is "
        "`<document_id>:<start>-<end>`, the sentence's character offsets in the article."
    )


def _policy_section(scan: _Scan, conflicts: int, conflicts_by_layer: Counter[str]) -> str:
    lines = ["## Annotation and adjudication", ""]
    if scan.records:
        annotators = set().union(*scan.annotators.values())
        rows = []
        for layer in LAYERS:
            tasks = scan.per_task[layer]
            rows.append(
                [
                    layer,
                    scan.records[layer],
                    len(scan.annotators[layer]),
                    len(tasks),
                    sum(1 for n in tasks.values() if n >= 2),
                ]
            )
        lines += [
            f"Annotators labelled the tasks in Label Studio following the ontology's descriptions; "
            f"{_plural(len(annotators), 'annotator')} took part, known here by pseudonym.",
            "",
            _md_table(
                ["layer", "records", "annotators", "tasks", "tasks with ≥2 annotators"], rows
            ),
            "",
        ]
    else:
        lines += ["The per-annotator records were not available to this release.", ""]
    lines.append(
        "Gold was made with newsanno's `majority` policy: an annotation marked as ground truth "
        "in Label Studio (a reviewer's) wins; otherwise a span, event, argument or stance label "
        "is gold when more than half of the task's annotators gave it; a task with a single "
        "annotator is taken as it is; a stance tie is a conflict, not a coin toss."
    )
    if scan.ground_truth:
        lines.append(
            f"{_plural(scan.ground_truth, 'record was', 'records were')} marked as ground truth."
        )
    by_layer = ", ".join(f"{layer} {n}" for layer, n in sorted(conflicts_by_layer.items()))
    lines += [
        "",
        f"**Unresolved conflicts left out of the gold configs: {conflicts}**"
        + (f" ({by_layer})." if by_layer else "."),
    ]
    if conflicts:
        lines.append(
            "Their annotators' versions are in the `annotations` config; they come back into "
            "gold once a reviewer resolves them."
        )
    return "\n".join(lines)


def _counts_section(ontology: Ontology, scan: _Scan) -> str:
    ents, evs = scan.labels[Layer.ENTITIES], scan.labels[Layer.EVENTS]
    lines = [
        "## Label counts (gold)",
        "",
        "### Entities",
        "",
        _md_table(["label", "spans"], [[n, ents[n]] for n in ontology.entity_labels]),
        "",
        "### Events",
        "",
        _md_table(["type", "events"], [[n, evs[n]] for n in ontology.event_labels]),
        "",
        _md_table(["role", "arguments"], [[n, scan.roles[n]] for n in ontology.roles]),
        "",
        "### Stance",
        "",
        _md_table(
            ["target", *ontology.stance_label_names],
            [
                [t, *(scan.stance[(t, label)] for label in ontology.stance_label_names)]
                for t in ontology.target_names
            ],
        ),
    ]
    return "\n".join(lines)


def _agreement_section(agreement: dict[str, Any] | None) -> str:
    lines = ["## Agreement", ""]
    if agreement is None:
        lines.append("No agreement figures: the per-annotator records were not available.")
        return "\n".join(lines)
    if not any((agreement.get(str(layer)) or {}).get("items") for layer in LAYERS):
        lines.append(
            "No agreement figures: no task was labelled independently by two or more "
            "annotators (a record marked as ground truth, a reviewer's verdict, does not count). "
            "Treat the labels as one careful annotator's work."
        )
        return "\n".join(lines)
    metrics = {
        "stance": [
            ("krippendorff_alpha", "Krippendorff's alpha (nominal)"),
            ("cohen_kappa", "Cohen's kappa (mean over annotator pairs)"),
            ("percent_agreement", "percent agreement"),
        ],
        "entities": [
            ("span_f1", "span F1, exact (start, end, label)"),
            ("relaxed_f1", "span F1, overlapping spans with the same label"),
        ],
        "events": [
            ("trigger_f1", "trigger F1 (span and type)"),
            ("argument_f1", "argument F1 (role and span, under shared triggers)"),
        ],
    }
    rows = []
    for layer, names in metrics.items():
        figures = agreement.get(layer) or {}
        reasons = figures.get("reason") or {}
        for key, label in names:
            value = _figure(figures.get(key))
            if figures.get(key) is None and reasons.get(key):
                value = f"n/a ({reasons[key]})"
            rows.append([layer, label, value, figures.get("items", 0)])
    lines += [
        "Measured with `newsanno annotations agreement` over the tasks that two or more "
        "annotators labelled (`items`), before adjudication; F1 is micro-averaged over every "
        "pair of annotators on a task. n/a: the figure is undefined here, for the reason given.",
        "",
        _md_table(["layer", "measure", "value", "items"], rows),
    ]
    return "\n".join(lines)


def _limits_section(
    scan: _Scan,
    n_docs: int,
    issues: Sequence[SpanIssue],
    issue_counts: Counter[str],
    conflicts: int,
) -> str:
    misaligned, overlapping = issue_counts["misaligned"], issue_counts["overlapping"]
    lines = ["## Known limits", ""]
    if n_docs < MIN_DOCUMENTS_TO_SPLIT:
        lines.append(
            f"- Small: {_plural(n_docs, 'article')}, {_plural(len(scan.sentences), 'sentence')}. "
            "Good for trying a pipeline, testing tools and reading what careful annotation of "
            "this ontology looks like; too small to train or to evaluate a model on by itself."
        )
    if n_docs == 1:
        lines.append("- One article: one outlet, one story, one writing style.")
    lines += [
        f"- **Spans off token boundaries: {misaligned}.** Such a span's `ner_tags` (or its "
        "trigger's `token_start`/`token_end`) cover every token it overlaps, so the tokens say "
        "a little more than the span; its character offsets are exact.",
        f"- **Entities overlapping another entity: {overlapping}.** BIO cannot nest, so the "
        "outer (longer, earlier) span is tagged and the inner one is only in `entities`.",
        f"- Unresolved conflicts left out of the gold configs: {conflicts}.",
        "- Event arguments carry character offsets only (no token offsets).",
        "- Stance is the stance the sentence expresses toward the target, whoever is speaking "
        "(a quoted minister's view counts), judged one sentence at a time with its neighbours "
        "as context.",
    ]
    listed = [i for i in issues if i.kind == "misaligned"]
    if listed:
        more = misaligned - len(listed)
        lines += [
            "",
            "Spans off token boundaries" + (f" (the first {len(listed)})" if more else "") + ":",
            "",
            _md_table(
                ["layer", "segment_id", "start", "end", "label", "tokens it covers"],
                [[i.layer, i.segment_id, i.start, i.end, i.label, i.text] for i in listed],
            ),
        ]
    return "\n".join(lines)


def _licensing_section(sources: dict[str, dict[str, Any]]) -> str:
    statements = sorted({str(m["license"]) for m in sources.values() if m.get("license")})
    lines = ["## Licensing", ""]
    if statements:
        lines += [f"- {s}" for s in statements]
    else:
        lines.append("The sources' licences were not recorded; check them before reusing the text.")
    return "\n".join(lines)
