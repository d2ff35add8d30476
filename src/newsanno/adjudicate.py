"""Adjudication: from several annotators' records to one gold record per task.

`adjudicate(DIR)` reads `DIR/<layer>.jsonl` and writes `DIR/gold/<layer>.jsonl` (one gold record
per decided task) and `DIR/conflicts.jsonl` (the tasks the policy cannot decide, with every
annotator's version). Policy `majority`, per task (a task is (segment_id, target)):

1. A record marked `ground_truth` (starred in Label Studio, or made in a review project) wins as it
   is; if there are several, the latest (`updated_at`, then annotation id) wins.
2. Otherwise, with n annotators on the task (each annotator's latest record), an item is gold when
   more than n/2 annotators gave it. Items: a stance label; an entity span (start, end, label); an
   event, identified by its trigger (start, end, type); an argument (role, start, end,
   entity_type) of a gold event. One annotator's work is therefore gold as it is.
3. A task is a conflict — not gold, written to conflicts.jsonl — when the vote cannot decide:
   - stance: no label has a majority (a tie, or a split like 1-1-1);
   - an entity span, event trigger or argument given by exactly half of the annotators (a tie:
     with two annotators, any span only one of them marked);
   - a region of overlapping spans (or triggers, or arguments of one gold event) that more than
     half of the annotators marked, where no single variant won a majority (three annotators
     mark the same words with three labels: they agree something is there, not what).
   An item given by fewer than half of the annotators, in a region the majority did not mark or
   where another variant won, is simply not gold: the majority decided against it.

A conflict task has no gold record until it is resolved: `newsanno review create` sends it to a
review project, the import marks the reviewer's annotation `ground_truth`, and rule 1 applies.

The gold record: `annotator="gold"`, `annotation_id="gold:<segment_id>"` (plus `":<target>"` for
stance), `ground_truth=True`, `created_at`/`updated_at` = the latest `updated_at` of the task's
records, no lead time or model version, the `source` of the task's first record by annotation id.
A merged span or event keeps the id it has in the first record (by annotation id) that has it.
"""

from __future__ import annotations

import shutil
import tempfile
from collections import Counter
from collections.abc import Callable, Collection, Hashable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from operator import itemgetter
from pathlib import Path
from typing import IO, Any, Protocol, TypeVar

import orjson

from .agreement import (
    REPORT_ORDER,
    AgreementReport,
    LayerAgreement,
    LayerTally,
    UnsortedRecords,
    agreement_report,
    annotation_id_key,
    by_task,
    iter_task_groups,
    latest_by_annotator,
    layer_paths,
    read_records_checked,
    task_groups,
    task_sort_key,
)
from .errors import InvalidAnnotations, NewsannoError
from .layers import LAYERS, Layer
from .records import (
    Argument,
    Entity,
    Event,
    Record,
    dumps_line,
    file_sha256,
    iter_jsonl,
    paused_gc,
    write_records,
)
from .workspace import atomic_dir, write_atomic

POLICIES = ("majority",)
GOLD = "gold"
CONFLICTS_FILE = "conflicts.jsonl"
INPUTS_FILE = ".inputs.json"  # in gold/: fingerprints of the record files gold was made from
AGREEMENT_FILE = "agreement.json"  # in gold/: the agreement of the records gold was made from

K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True)
class Conflict:
    """A task the policy cannot decide, with every annotator's version."""

    layer: Layer
    segment_id: str
    target: str | None
    document_id: str
    text: str
    reasons: tuple[str, ...]
    versions: tuple[Record, ...]

    @property
    def task_key(self) -> tuple[str, str]:
        return (self.segment_id, self.target or "")

    def to_dict(self) -> dict[str, Any]:
        return {
            "layer": str(self.layer),
            "segment_id": self.segment_id,
            "target": self.target,
            "document_id": self.document_id,
            "text": self.text,
            "reasons": list(self.reasons),
            "annotations": [r.to_dict() for r in self.versions],
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Conflict:
        return cls(
            layer=Layer(raw["layer"]),
            segment_id=raw["segment_id"],
            target=raw.get("target"),
            document_id=raw["document_id"],
            text=raw["text"],
            reasons=tuple(raw.get("reasons", ())),
            versions=tuple(Record.from_dict(r) for r in raw["annotations"]),
        )


@dataclass(frozen=True)
class RawConflict:
    """A conflict found straight from checked records' dicts (see `_entities_task`): its line
    of `conflicts.jsonl` as a dict, the same as `Conflict.to_dict()` of the same records."""

    raw: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return self.raw


@dataclass(frozen=True)
class LayerOutcome:
    layer: Layer
    tasks: int = 0
    ground_truth: int = 0
    single: int = 0
    majority: int = 0
    conflicts: int = 0

    @property
    def gold(self) -> int:
        return self.ground_truth + self.single + self.majority


@dataclass(frozen=True)
class AdjudicationSummary:
    annotations_dir: Path
    policy: str
    layers: tuple[LayerOutcome, ...]

    @property
    def gold_dir(self) -> Path:
        return self.annotations_dir / GOLD

    @property
    def conflicts_path(self) -> Path:
        return self.annotations_dir / CONFLICTS_FILE

    @property
    def total_conflicts(self) -> int:
        return sum(o.conflicts for o in self.layers)

    def rows(self) -> list[tuple[str, int, int, int, int, int, int]]:
        """(layer, tasks, gold, ground truth, single annotator, majority, conflicts)"""
        return [
            (str(o.layer), o.tasks, o.gold, o.ground_truth, o.single, o.majority, o.conflicts)
            for o in self.layers
        ]


# ---------------------------------------------------------------------------------------------
# Public entry points


def adjudicate(
    annotations_dir: Path,
    policy: str = "majority",
    *,
    on_record: Callable[[Layer, dict[str, Any]], None] | None = None,
    vouched: Collection[Layer] = (),
) -> AdjudicationSummary:
    """Write `gold/<layer>.jsonl` and `conflicts.jsonl` in `annotations_dir` (atomically).

    Reads the record files one task at a time (they are written sorted by task), so memory does
    not grow with them. The agreement figures of the same records are measured in the same pass
    and kept as `gold/agreement.json`, with the fingerprints of the gold files in
    `gold/.inputs.json` (see `recorded_agreement`, `gold_fingerprint_matches`).
    `on_record(layer, record dict)` is called once for each record read, in file order, for a
    caller that counts them in the same pass (publish's card). `vouched`: layers whose record
    file has passed every check (`annotations import` says so, and publish has made sure it is
    unchanged); their simplest tasks are decided straight from the records' dicts.
    """
    if policy not in POLICIES:
        raise NewsannoError(
            f"Unknown adjudication policy {policy!r}. Use one of: {', '.join(POLICIES)}."
        )
    annotations_dir = Path(annotations_dir)
    paths = layer_paths(annotations_dir)
    fingerprint = _fingerprint(annotations_dir)
    results: dict[Layer, tuple[LayerOutcome, LayerAgreement]] = {}
    # the conflicts' lines wait in an unnamed temp file, not in memory
    with paused_gc(), atomic_dir(annotations_dir / GOLD) as tmp, tempfile.TemporaryFile() as held:
        for layer in LAYERS:
            results[layer] = _adjudicate_file(
                layer, paths[layer], tmp / f"{layer}.jsonl", held, on_record, layer in vouched
            )
        agreement = {layer: results[layer][1] for layer in LAYERS}
        held.seek(0)
        blocks = iter(lambda: held.read(1 << 20), b"")
        _finish(annotations_dir, tmp, policy, fingerprint, agreement, blocks)
    outcomes = tuple(results[layer][0] for layer in LAYERS)
    return AdjudicationSummary(annotations_dir, policy, outcomes)


def input_fingerprint(annotations_dir: Path) -> dict[str, str | None]:
    """The fingerprint of the record files gold is made from (kept in `gold/.inputs.json`)."""
    return _fingerprint(Path(annotations_dir))


def _finish(
    annotations_dir: Path,
    tmp: Path,
    policy: str,
    fingerprint: dict[str, str | None],
    agreement: dict[Layer, LayerAgreement],
    conflict_lines: Iterable[bytes],
) -> None:
    """With every layer's gold written in `tmp` (the new gold folder): the agreement, the
    conflicts file and the inputs' fingerprint, which make the gold fresh."""
    gold_hashes = {str(layer): file_sha256(tmp / f"{layer}.jsonl") for layer in LAYERS}
    report = AgreementReport({layer: agreement[layer] for layer in REPORT_ORDER})
    (tmp / AGREEMENT_FILE).write_bytes(dumps_line(report.to_dict()))
    # conflicts, then gold (with the fingerprint that makes it fresh) when the caller's block ends
    write_atomic(annotations_dir / CONFLICTS_FILE, conflict_lines)
    (tmp / INPUTS_FILE).write_bytes(
        dumps_line({"policy": policy, "inputs": fingerprint, "gold": gold_hashes})
    )


@dataclass
class Part:
    """The adjudication of a run of whole tasks of one layer (a record file, or a share of one
    done by another process): its gold lines and its conflicts go to files; the counts and the
    agreement tally add up (`merge`)."""

    layer: Layer
    counts: Counter[str] = field(default_factory=Counter)
    tally: LayerTally = field(init=False)

    def __post_init__(self) -> None:
        self.tally = LayerTally(self.layer)

    def merge(self, later: Part) -> None:
        """Add the part of the tasks that follow this one's."""
        self.counts += later.counts
        self.tally.merge(later.tally)

    def result(self) -> tuple[LayerOutcome, LayerAgreement]:
        return _outcome(self.layer, self.counts), self.tally.result()


class _Sink(Protocol):
    def write(self, data: bytes, /) -> Any: ...


class _Conflicts(Protocol):
    def append(self, conflict: Conflict | RawConflict, /) -> None: ...


class _ConflictFile:
    """Conflicts written as their lines of `conflicts.jsonl` as they are found: memory does not
    grow with them."""

    def __init__(self, fh: IO[bytes]) -> None:
        self.fh = fh

    def append(self, conflict: Conflict | RawConflict) -> None:
        self.fh.write(dumps_line(conflict.to_dict()))


class _Announced:
    """A gold file that another process reads while it grows: flushed every `every` tasks
    (whole lines), each time followed by `progress()`."""

    def __init__(self, fh: IO[bytes], progress: Callable[[], None], every: int) -> None:
        self.fh, self.progress, self.every, self.n = fh, progress, every, 0

    def write(self, data: bytes) -> None:
        self.fh.write(data)
        self.n += 1
        if self.n % self.every == 0:
            self.fh.flush()
            self.progress()


def adjudicate_part(
    layer: Layer,
    path: Path,
    out: Path,
    conflicts_out: Path,
    on_record: Callable[[Layer, dict[str, Any]], None] | None = None,
    progress: Callable[[], None] | None = None,
) -> Part:
    """`_adjudicate_file` of a record file that `annotations import` wrote and checked (so in
    task order: `UnsortedRecords` otherwise), or of a run of its whole tasks: gold lines to `out`,
    conflict lines to `conflicts_out`. `progress`: called each time the gold lines of another
    256 tasks are in `out` (a reader follows it)."""
    part = Part(layer)
    note = None if on_record is None else (lambda _lineno, raw: on_record(layer, raw))
    with open(out, "wb") as fh, open(conflicts_out, "wb") as conflicts:
        sink: _Sink = fh if progress is None else _Announced(fh, progress, 256)
        _decide_all(path, sink, note, True, part, _ConflictFile(conflicts))
    return part


def finish_parts(
    annotations_dir: Path,
    policy: str,
    fingerprint: dict[str, str | None],
    parts: dict[Layer, list[tuple[Path, Path, Part]]],
) -> tuple[LayerOutcome, ...]:
    """Write gold from the parts (`adjudicate_part`: gold file, conflicts file, the rest) of
    every layer, in task order: each layer's gold file is its parts' lines one after the other,
    and so is the conflicts file; counts and agreement are added up. The same files `adjudicate`
    writes from the whole record files. The outcome of each layer."""
    wholes = {layer: Part(layer) for layer in LAYERS}
    with paused_gc(), atomic_dir(annotations_dir / GOLD) as tmp:
        for layer, whole in wholes.items():
            with open(tmp / f"{layer}.jsonl", "wb") as fh:
                for gold, _, part in parts.get(layer, ()):
                    with open(gold, "rb") as src:
                        shutil.copyfileobj(src, fh, 1 << 20)
                    whole.merge(part)
        agreement = {layer: whole.tally.result() for layer, whole in wholes.items()}
        conflict_files = [c for layer in LAYERS for _, c, _ in parts.get(layer, ())]
        _finish(annotations_dir, tmp, policy, fingerprint, agreement, _blocks(conflict_files))
    return tuple(_outcome(layer, whole.counts) for layer, whole in wholes.items())


def _blocks(paths: Iterable[Path]) -> Iterator[bytes]:
    """The bytes of the files, one after the other, a block at a time."""
    for path in paths:
        with open(path, "rb") as fh:
            while block := fh.read(1 << 20):
                yield block


def _adjudicate_file(
    layer: Layer,
    path: Path,
    out: Path,
    conflicts: IO[bytes],
    on_record: Callable[[Layer, dict[str, Any]], None] | None = None,
    vouched: bool = False,
) -> tuple[LayerOutcome, LayerAgreement]:
    """Gold of one layer file written to `out`, task by task, and its conflicts' lines to
    `conflicts`; its outcome and agreement. `vouched`: every record of the file has passed its
    checks (see `adjudicate`)."""
    reported = 0  # the last line given to `on_record`: each record is given once

    def note(lineno: int, raw: dict[str, Any]) -> None:
        nonlocal reported
        if on_record is not None and lineno > reported:
            reported = lineno
            on_record(layer, raw)

    start = conflicts.tell()
    try:
        part = Part(layer)
        with open(out, "wb") as fh:
            _decide_all(
                path, fh, note if on_record else None, vouched, part, _ConflictFile(conflicts)
            )
        return part.result()
    except UnsortedRecords:  # not in task order (written by hand): the whole file at once
        conflicts.seek(start)
        conflicts.truncate()  # what the task-by-task pass had found
        records = list(read_records_checked(path, layer, note if on_record else None))
        outcome, gold_records, found = adjudicate_layer(layer, records)
        write_records(out, gold_records)
        for conflict in found:
            conflicts.write(dumps_line(conflict.to_dict()))
        return outcome, agreement_report({layer: records}).layers[layer]


def _decide_all(
    path: Path,
    fh: _Sink,
    note: Callable[[int, dict[str, Any]], None] | None,
    vouched: bool,
    part: Part,
    conflicts: _Conflicts,
) -> None:
    """Every task of a record file (in task order): its gold line written to `fh`, or it is
    added to `conflicts`."""
    layer, tally, counts = part.layer, part.tally, part.counts
    if vouched and layer is Layer.ENTITIES:
        for raws in _raw_task_groups(path, note):
            line = _entities_task(raws, part, conflicts)
            if line is None:  # ground truth, or an annotator twice: decided as any other task
                records = [Record.from_dict(raw) for raw in raws]
                line = _decide(layer, records, tally, counts, conflicts)
            fh.write(line)
    else:
        for records in iter_task_groups(path, layer, note):
            fh.write(_decide(layer, records, tally, counts, conflicts))


def _decide(
    layer: Layer,
    records: list[Record],
    tally: LayerTally,
    counts: Counter[str],
    conflicts: _Conflicts,
) -> bytes:
    """One task: its agreement tallied; its gold line (b"" for a conflict, appended)."""
    plain = latest_by_annotator(r for r in records if not r.ground_truth)
    tally.add(plain)
    truths = [r for r in records if r.ground_truth]
    gold = _adjudicate_task(layer, plain, truths, counts, conflicts)
    return b"" if gold is None else dumps_line(gold.to_dict())


def _raw_task_groups(
    path: Path, on_record: Callable[[int, dict[str, Any]], None] | None
) -> Iterator[list[dict[str, Any]]]:
    """`iter_task_groups` for a file whose every record has passed its checks: the records'
    dicts, one task at a time (`UnsortedRecords` when a task's records are not together)."""
    if not path.is_file():
        return

    def raws() -> Iterator[dict[str, Any]]:
        for lineno, raw in iter_jsonl(path):
            if on_record is not None:
                on_record(lineno, raw)
            yield raw

    yield from task_groups(raws(), _raw_task_key, str(path))


def _raw_task_key(raw: dict[str, Any]) -> tuple[str, str]:
    return raw["segment_id"], raw.get("target") or ""


# an entity dict's (start, end, label), at C speed
_entity_order: Callable[[dict[str, Any]], tuple[int, int, str]] = itemgetter(
    "start", "end", "label"
)


def _entities_task(raws: list[dict[str, Any]], part: Part, conflicts: _Conflicts) -> bytes | None:
    """An entities task decided straight from the records' dicts (checked records, in the
    canonical shape `annotations import` writes: each is `Record.to_dict()` of itself), when no
    record is ground truth and each annotator has one record with each span once — the common
    case. What `_decide` makes of the same records: the same tally, the same vote (`_vote`), the
    same gold line or conflict. Its gold line (b"" for a conflict, added to `conflicts`); None
    for any other task."""
    annotators = [raw["annotator"] for raw in raws]
    if len(set(annotators)) != len(raws) or any(raw.get("ground_truth", False) for raw in raws):
        return None
    spans: dict[str, set[tuple[int, int, str]]] = {}
    for annotator, raw in zip(annotators, raws, strict=True):
        keys = list(map(_entity_order, raw.get("entities", ())))
        spans[annotator] = mine = set(keys)
        if len(mine) != len(keys):
            return None
    part.tally.add_spans(spans)
    by_annotator = sorted(raws, key=lambda raw: raw["annotator"])
    inputs = sorted(by_annotator, key=lambda raw: annotation_id_key(raw.get("annotation_id", "")))
    first = inputs[0]
    text = first["text"]
    decided, reasons = vote(
        [spans[raw["annotator"]] for raw in inputs],
        span=lambda k: (k[0], k[1]),
        describe=lambda k: f"entity {k[2]} {text[k[0] : k[1]]!r} [{k[0]}:{k[1]}]",
    )
    if reasons:
        part.counts["conflicts"] += 1
        conflict = {
            "layer": str(Layer.ENTITIES),
            "segment_id": first["segment_id"],
            "target": None,
            "document_id": first["document_id"],
            "text": text,
            "reasons": reasons,
            "annotations": inputs,
        }
        conflicts.append(RawConflict(conflict))
        return b""
    part.counts["single" if len(inputs) == 1 else "majority"] += 1
    # a gold span keeps the entity of the first record (by annotation id) that has it
    by_key: dict[tuple[int, int, str], dict[str, Any]] = {}
    for raw in inputs:
        for e in raw.get("entities", ()):
            by_key.setdefault(_entity_order(e), e)
    latest = max((raw["updated_at"] for raw in inputs if raw.get("updated_at")), default=None)
    src = first.get("source") or {}
    gold = {
        "layer": str(Layer.ENTITIES),
        "segment_id": first["segment_id"],
        "document_id": first["document_id"],
        "text": text,
        "annotator": GOLD,
        "annotation_id": f"gold:{first['segment_id']}",
        "created_at": latest,
        "updated_at": latest,
        "lead_time": None,
        "ground_truth": True,
        "model_version": None,
        "source": {
            "url": src.get("url"),
            "project_id": src.get("project_id"),
            "task_id": src.get("task_id"),
        },
        "entities": [
            {
                "id": e["id"],
                "start": e["start"],
                "end": e["end"],
                "text": e["text"],
                "label": e["label"],
            }
            for e in (by_key[k] for k in sorted(decided))
        ],
    }
    return dumps_line(gold)


def recorded_agreement(annotations_dir: Path) -> dict[str, Any] | None:
    """The agreement figures the last `adjudicate` measured (`AgreementReport.to_dict()`), when
    gold is fresh; else None (measure them with `agreement.load_and_measure`)."""
    path = Path(annotations_dir) / GOLD / AGREEMENT_FILE
    if not path.is_file() or gold_is_stale(annotations_dir):
        return None
    try:
        report = orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError:
        return None
    return report if isinstance(report, dict) else None


def gold_fingerprint_matches(annotations_dir: Path, layer: Layer, digest: str) -> bool:
    """True when `digest` (sha256 of a gold file) is the one `adjudicate` wrote for the layer:
    the file is as the adjudication made it, from records that had passed their checks."""
    inputs = Path(annotations_dir) / GOLD / INPUTS_FILE
    try:
        recorded = orjson.loads(inputs.read_bytes()).get("gold") or {}
    except (OSError, orjson.JSONDecodeError, AttributeError):
        return False
    return isinstance(recorded, dict) and recorded.get(str(layer)) == digest


def gold_is_stale(annotations_dir: Path) -> bool:
    """True when gold is missing, or the record files changed since gold was made from them."""
    gold = Path(annotations_dir) / GOLD
    inputs = gold / INPUTS_FILE
    if not inputs.is_file() or not all((gold / f"{layer}.jsonl").is_file() for layer in LAYERS):
        return True
    try:
        recorded = orjson.loads(inputs.read_bytes()).get("inputs")
    except (orjson.JSONDecodeError, AttributeError):
        return True
    return bool(recorded != _fingerprint(Path(annotations_dir)))


def read_conflicts(annotations_dir: Path) -> list[Conflict]:
    """The conflicts the last `adjudicate` wrote."""
    path = Path(annotations_dir) / CONFLICTS_FILE
    if not path.is_file():
        raise InvalidAnnotations(
            f"{path}: no such file. Run 'newsanno annotations adjudicate' first."
        )
    out = []
    for lineno, raw in iter_jsonl(path):
        try:
            out.append(Conflict.from_dict(raw))
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidAnnotations(
                f"{path}:{lineno}: not a conflict ({exc!r}). Run 'newsanno annotations "
                "adjudicate' again."
            ) from None
    return out


def _fingerprint(annotations_dir: Path) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for layer in LAYERS:
        path = annotations_dir / f"{layer}.jsonl"
        out[str(layer)] = file_sha256(path) if path.is_file() else None
    return out


# ---------------------------------------------------------------------------------------------
# The majority policy


def adjudicate_layer(
    layer: Layer, records: Iterable[Record]
) -> tuple[LayerOutcome, list[Record], list[Conflict]]:
    """Gold records and conflicts of one layer, in task order."""
    gold: list[Record] = []
    conflicts: list[Conflict] = []
    counts = Counter[str]()
    records = list(records)
    # Ground truth is looked at before one record per annotator is kept: a reviewer who also
    # annotated the task has both a plain record and a ground-truth one.
    truths = by_task_all(r for r in records if r.ground_truth)
    groups = by_task(r for r in records if not r.ground_truth)
    keys = sorted({*groups, *truths}, key=task_sort_key)
    for key in keys:
        decided = _adjudicate_task(
            layer, groups.get(key, {}), truths.get(key, []), counts, conflicts
        )
        if decided is not None:
            gold.append(decided)
    return _outcome(layer, counts, tasks=len(keys)), gold, conflicts


def _outcome(layer: Layer, counts: Counter[str], tasks: int | None = None) -> LayerOutcome:
    return LayerOutcome(
        layer,
        tasks=sum(counts.values()) if tasks is None else tasks,
        ground_truth=counts["ground_truth"],
        single=counts["single"],
        majority=counts["majority"],
        conflicts=counts["conflicts"],
    )


def _adjudicate_task(
    layer: Layer,
    plain: dict[str, Record],
    truths: list[Record],
    counts: Counter[str],
    conflicts: list[Conflict] | _Conflicts,
) -> Record | None:
    """One task's gold record, or None when it is a conflict (appended to `conflicts`).

    `plain`: each annotator's latest record that is not ground truth; `truths`: the task's
    ground-truth records."""
    inputs = sorted([*plain.values(), *truths], key=lambda r: annotation_id_key(r.annotation_id))
    if truths:
        latest = max(truths, key=lambda r: (r.updated_at or "", annotation_id_key(r.annotation_id)))
        counts["ground_truth"] += 1
        return _gold_record(latest, inputs)
    decided, reasons = _vote(layer, inputs)
    if reasons:
        first = inputs[0]
        conflicts.append(
            Conflict(
                layer,
                first.segment_id,
                first.target,
                first.document_id,
                first.text,
                tuple(reasons),
                tuple(inputs),
            )  # fmt: skip
        )
        counts["conflicts"] += 1
        return None
    counts["single" if len(inputs) == 1 else "majority"] += 1
    return _gold_record(decided, inputs)


def by_task_all(records: Iterable[Record]) -> dict[tuple[str, str], list[Record]]:
    out: dict[tuple[str, str], list[Record]] = {}
    for r in records:
        out.setdefault(r.task_key, []).append(r)
    return out


def _gold_record(content: Record, inputs: Sequence[Record]) -> Record:
    first = inputs[0]
    latest = max((r.updated_at for r in inputs if r.updated_at), default=None)
    annotation_id = f"gold:{first.segment_id}"
    if first.layer is Layer.STANCE:
        annotation_id += f":{first.target}"
    # (`dataclasses.replace` with every field but the content's: built directly, it is the same)
    c = content
    return Record(
        c.layer,
        c.segment_id,
        c.document_id,
        c.text,
        GOLD,
        annotation_id,
        latest,
        latest,
        None,
        True,
        None,
        first.source,
        c.entities,
        c.events,
        c.target,
        c.label,
    )


def _vote(layer: Layer, inputs: Sequence[Record]) -> tuple[Record, list[str]]:
    """The majority version of the task (`inputs` ordered by annotation id), or the reasons the
    vote cannot decide."""
    first = inputs[0]
    n = len(inputs)
    if layer is Layer.STANCE:
        votes = Counter(r.label for r in inputs if r.label is not None)
        winners = [label for label, c in votes.items() if 2 * c > n]
        if winners:
            return (first if first.label == winners[0] else replace(first, label=winners[0])), []
        split = ", ".join(f"{label} ×{c}" for label, c in sorted(votes.items()))
        return first, [f"no stance label has a majority of {n} annotators ({split or 'no label'})"]

    if layer is Layer.ENTITIES:
        by_key: dict[tuple[int, int, str], Entity] = {}
        for r in inputs:
            for e in r.entities:
                by_key.setdefault((e.start, e.end, e.label), e)
        spans, reasons = vote(
            [{(e.start, e.end, e.label) for e in r.entities} for r in inputs],
            span=lambda k: (k[0], k[1]),
            describe=lambda k: f"entity {k[2]} {first.text[k[0] : k[1]]!r} [{k[0]}:{k[1]}]",
        )
        entities = tuple(by_key[k] for k in sorted(spans))
        if entities == first.entities:  # (the same Entity objects: nothing to replace)
            return first, reasons
        return replace(first, entities=entities), reasons

    # events: an event is its trigger; arguments are voted per gold trigger, over all n annotators
    events_by_key: dict[tuple[int, int, str], Event] = {}
    args_by_key: dict[tuple[tuple[int, int, str], tuple[str, int, int, str]], Argument] = {}
    per_annotator: list[dict[tuple[int, int, str], set[tuple[str, int, int, str]]]] = []
    for r in inputs:
        mine: dict[tuple[int, int, str], set[tuple[str, int, int, str]]] = {}
        for ev in r.events:
            tk = (ev.trigger.start, ev.trigger.end, ev.type)
            events_by_key.setdefault(tk, ev)
            for a in ev.arguments:
                ak = (a.role, a.start, a.end, a.entity_type)
                args_by_key.setdefault((tk, ak), a)
                mine.setdefault(tk, set()).add(ak)
            mine.setdefault(tk, set())
        per_annotator.append(mine)
    triggers, reasons = vote(
        [set(m) for m in per_annotator],
        span=lambda k: (k[0], k[1]),
        describe=lambda k: f"event {k[2]} {first.text[k[0] : k[1]]!r} [{k[0]}:{k[1]}]",
    )
    events = []
    for tk in sorted(triggers):
        trigger = f"{tk[2]} {first.text[tk[0] : tk[1]]!r}"

        def describe(k: tuple[str, int, int, str], trigger: str = trigger) -> str:
            return f"argument {k[0]} {first.text[k[1] : k[2]]!r} [{k[1]}:{k[2]}] of {trigger}"

        arguments, arg_reasons = vote(
            [m.get(tk, set()) for m in per_annotator],
            span=lambda k: (k[1], k[2]),
            describe=describe,
        )
        reasons += arg_reasons
        ev = events_by_key[tk]
        ordered = sorted(arguments, key=lambda k: (k[1], k[2], k[0], k[3]))
        kept = tuple(args_by_key[(tk, k)] for k in ordered)
        events.append(ev if kept == ev.arguments else replace(ev, arguments=kept))
    if tuple(events) == first.events:  # (the same Event objects: nothing to replace)
        return first, reasons
    return replace(first, events=tuple(events)), reasons


def vote(
    given: Sequence[set[K]],
    span: Callable[[K], tuple[int, int]],
    describe: Callable[[K], str],
) -> tuple[set[K], list[str]]:
    """Majority vote over items, one set per annotator: (gold items, reasons it cannot decide).

    An item is gold when more than half of the annotators gave it; a tie (exactly half) cannot be
    decided; nor can a region of overlapping items that more than half of the annotators marked
    without any single item winning a majority.
    """
    n = len(given)
    if n and all(items == given[0] for items in given):
        # Everyone gave the same items: each has n of n votes, so all are gold, none is tied,
        # and every region holds a gold item (what the general case below finds, faster).
        return set(given[0]), []
    counts = Counter(k for items in given for k in items)
    gold = {k for k, c in counts.items() if 2 * c > n}
    tied = {k for k, c in counts.items() if 2 * c == n}
    reasons = [
        f"{describe(k)} was marked by {counts[k]} of {n} annotators (a tie)"
        for k in sorted(tied, key=lambda k: (span(k), repr(k)))
    ]
    for region in _regions(counts, span):
        if any(k in gold or k in tied for k in region):
            continue
        marked_by = sum(1 for items in given if any(k in items for k in region))
        if 2 * marked_by > n:
            variants = ", ".join(f"{describe(k)} ×{counts[k]}" for k in region)
            reasons.append(
                f"{marked_by} of {n} annotators marked overlapping text but none of the variants "
                f"has a majority: {variants}"
            )
    return gold, reasons


def _regions(items: Iterable[K], span: Callable[[K], tuple[int, int]]) -> list[list[K]]:
    """Items grouped into runs of overlapping spans, in text order."""
    ordered = sorted(items, key=lambda k: (span(k), repr(k)))
    regions: list[list[K]] = []
    end = None
    for k in ordered:
        s, e = span(k)
        if regions and end is not None and s < end:
            regions[-1].append(k)
            end = max(end, e)
        else:
            regions.append([k])
            end = e
    return regions
