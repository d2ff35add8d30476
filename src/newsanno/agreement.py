"""How far annotators agree, per layer, over the tasks that two or more of them annotated.

- stance: Krippendorff's alpha (nominal, the `krippendorff` package), Cohen's kappa averaged over
  every pair of annotators (scikit-learn), and percent agreement (the share of annotator pairs on a
  task that chose the same label, pooled over tasks; a fraction from 0 to 1).
- entities: span F1 between every pair of annotators on a task, micro-averaged (true positives,
  false positives and false negatives summed over all pairs and tasks). Exact: same start, end and
  label. Relaxed: spans that overlap and carry the same label, matched one to one.
- events: trigger F1 (same span and type) and argument F1: (role, start, end) of the arguments
  under triggers both annotators of a pair share; arguments of unshared triggers do not count.

`items` is the number of tasks with two or more annotators. A task is (segment_id, target).
Records marked `ground_truth` are left out: a reviewer's verdict, made while looking at the
annotators' versions, is not an independent judgment. When an annotator has several records for
one task, the latest (`updated_at`, then annotation id) counts.

A figure that cannot be computed is None with a reason, never NaN.
"""

from __future__ import annotations

import math
import warnings
from collections import Counter, defaultdict
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path
from typing import Any, TypeVar

import krippendorff
import numpy as np
from sklearn.metrics import cohen_kappa_score

from .errors import InvalidAnnotations
from .layers import LAYERS, Layer
from .records import Record, iter_jsonl, segment_sort_key

FIGURES: dict[Layer, tuple[str, ...]] = {
    Layer.STANCE: ("krippendorff_alpha", "cohen_kappa", "percent_agreement"),
    Layer.ENTITIES: ("span_f1", "relaxed_f1"),
    Layer.EVENTS: ("trigger_f1", "argument_f1"),
}
# Per-pair figures (Krippendorff's alpha is a many-coder figure, so not per pair).
PAIR_FIGURES: dict[Layer, tuple[str, ...]] = {
    Layer.STANCE: ("percent_agreement", "cohen_kappa"),
    Layer.ENTITIES: ("span_f1", "relaxed_f1"),
    Layer.EVENTS: ("trigger_f1", "argument_f1"),
}
REPORT_ORDER: tuple[Layer, ...] = (Layer.STANCE, Layer.ENTITIES, Layer.EVENTS)

TaskKey = tuple[str, str]
T = TypeVar("T")
NO_ITEMS = "no task has two or more annotators"


@dataclass(frozen=True)
class Figure:
    """One agreement figure: a value, or None and why."""

    value: float | None
    reason: str | None = None

    @classmethod
    def undefined(cls, reason: str) -> Figure:
        return cls(None, reason)

    def text(self, digits: int = 3) -> str:
        return "n/a" if self.value is None else f"{self.value:.{digits}f}"


@dataclass(frozen=True)
class PairAgreement:
    a: str
    b: str
    items: int
    figures: dict[str, Figure]


@dataclass(frozen=True)
class LayerAgreement:
    layer: Layer
    tasks: int
    annotators: int
    items: int
    figures: dict[str, Figure]
    pairs: tuple[PairAgreement, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            name: _rounded(self.figures[name].value) for name in FIGURES[self.layer]
        }
        out["items"] = self.items
        reasons = {
            name: fig.reason
            for name in FIGURES[self.layer]
            if (fig := self.figures[name]).value is None and fig.reason
        }
        if reasons:
            out["reason"] = reasons
        return out


def _rounded(value: float | None) -> float | None:
    """Four decimals in JSON: 0.4, not 0.3999999999999999."""
    return None if value is None else round(value, 4) + 0.0


@dataclass(frozen=True)
class AgreementReport:
    layers: dict[Layer, LayerAgreement] = field(default_factory=dict)

    def __getitem__(self, layer: Layer | str) -> LayerAgreement:
        return self.layers[Layer(layer)]

    def to_dict(self) -> dict[str, Any]:
        """The `--json` shape: {"stance": {...}, "entities": {...}, "events": {...}}; a null figure
        is explained under the layer's "reason" object."""
        return {str(layer): self.layers[layer].to_dict() for layer in REPORT_ORDER}


# ---------------------------------------------------------------------------------------------
# Reading


def read_layer_records(annotations_dir: Path) -> dict[Layer, list[Record]]:
    """The canonical records of every layer in `annotations_dir` (a missing file: no records).

    A line that is not a record is named by file and line; no layer file at all is an error.
    """
    paths = layer_paths(annotations_dir)
    out: dict[Layer, list[Record]] = {}
    for layer, path in paths.items():
        out[layer] = list(_read_records(path, layer)) if path.is_file() else []
    return out


# Called with (line number, record dict) of each record as it is read, for a caller that
# learns something from the records in the same pass.
OnRecord = Callable[[int, dict[str, Any]], None]


def read_records_checked(
    path: Path, layer: Layer, on_record: OnRecord | None = None
) -> Iterator[Record]:
    """The records of one layer file; a line that is not a record is named by file and line."""
    return _read_records(path, layer, on_record)


def _read_records(path: Path, layer: Layer, on_record: OnRecord | None = None) -> Iterator[Record]:
    for lineno, raw in iter_jsonl(path):
        where = f"{path}:{lineno}"
        if not isinstance(raw, dict):
            raise InvalidAnnotations(f"{where}: a record must be a JSON object.")
        try:
            record = Record.from_dict(raw)
        except KeyError as exc:
            raise InvalidAnnotations(
                f"{where}: missing field {exc}. Check it with 'newsanno annotations validate "
                f"{path}'."
            ) from None
        except (TypeError, ValueError) as exc:
            raise InvalidAnnotations(
                f"{where}: not a canonical record ({exc}). Check it with 'newsanno annotations "
                f"validate {path}'."
            ) from None
        if record.layer is not layer:
            raise InvalidAnnotations(
                f"{where}: a {record.layer} record in the {layer} file. Re-run 'newsanno "
                "annotations import'."
            )
        if on_record is not None:
            on_record(lineno, raw)
        yield record


def annotation_id_key(annotation_id: int | str) -> tuple[int, int, str]:
    """Order annotation ids: numbers numerically, then strings."""
    if isinstance(annotation_id, int):
        return (0, annotation_id, "")
    return (1, 0, str(annotation_id))


def _recency(r: Record) -> tuple[str, tuple[int, int, str]]:
    return (r.updated_at or "", annotation_id_key(r.annotation_id))


def task_sort_key(key: TaskKey) -> tuple[Any, ...]:
    return (*segment_sort_key(key[0]), key[1])


def by_task(records: Iterable[Record]) -> dict[TaskKey, dict[str, Record]]:
    """Records grouped by task, then annotator (their latest record), in a stable order."""
    groups: dict[TaskKey, dict[str, Record]] = defaultdict(dict)
    for r in records:
        seen = groups[r.task_key].get(r.annotator)
        if seen is None or _recency(r) > _recency(seen):
            groups[r.task_key][r.annotator] = r
    return {key: dict(sorted(groups[key].items())) for key in sorted(groups, key=task_sort_key)}


# ---------------------------------------------------------------------------------------------
# Measuring


def load_and_measure(annotations_dir: Path) -> AgreementReport:
    """Agreement figures for the record files in `annotations_dir`, read one task at a time."""
    paths = layer_paths(annotations_dir)
    layers = {}
    for layer in REPORT_ORDER:
        path = paths[layer]
        try:
            tally = LayerTally(layer)
            for records in iter_task_groups(path, layer):
                tally.add(latest_by_annotator(r for r in records if not r.ground_truth))
            layers[layer] = tally.result()
        except UnsortedRecords:
            records_of_layer = list(_read_records(path, layer))
            layers[layer] = agreement_report({layer: records_of_layer}).layers[layer]
    return AgreementReport(layers)


def layer_paths(annotations_dir: Path) -> dict[Layer, Path]:
    """The record file of each layer; an error when there is none at all."""
    annotations_dir = Path(annotations_dir)
    paths = {layer: annotations_dir / f"{layer}.jsonl" for layer in LAYERS}
    if not any(p.is_file() for p in paths.values()):
        raise InvalidAnnotations(
            f"{annotations_dir}/: no record files (entities.jsonl, events.jsonl, stance.jsonl). "
            "Run 'newsanno annotations import' first."
        )
    return paths


class UnsortedRecords(Exception):
    """A record file whose tasks are not contiguous in task order (not written by newsanno):
    read it whole instead."""


def iter_task_groups(
    path: Path, layer: Layer, on_record: OnRecord | None = None
) -> Iterator[list[Record]]:
    """The records of a layer file, one task at a time, in task order.

    Record files are written sorted by task (`record_sort_key`), so a task's records are
    contiguous; when they are not, `UnsortedRecords` is raised (after the groups already
    yielded) and the caller reads the file whole. A missing file has no records.
    `on_record` sees each record's dict as it is read.
    """
    if path.is_file():
        yield from task_groups(_read_records(path, layer, on_record), _task_key, str(path))


def _task_key(record: Record) -> TaskKey:
    return record.task_key


def task_groups(items: Iterable[T], key_of: Callable[[T], TaskKey], name: str) -> Iterator[list[T]]:
    """The items (a record file's records, in file order) one task at a time; `UnsortedRecords`
    (naming `name`) when a task's items are not together, in task order."""
    group: list[T] = []
    key: TaskKey | None = None
    order: tuple[Any, ...] = ()
    for item in items:
        k = key_of(item)
        if k != key:
            if group:
                yield group
            o = task_sort_key(k)
            if key is not None and not o > order:
                raise UnsortedRecords(name)
            group, key, order = [], k, o
        group.append(item)
    if group:
        yield group


def latest_by_annotator(records: Iterable[Record]) -> dict[str, Record]:
    """One task's records: each annotator's latest, by annotator (as `by_task` keeps them)."""
    out: dict[str, Record] = {}
    for r in records:
        seen = out.get(r.annotator)
        if seen is None or _recency(r) > _recency(seen):
            out[r.annotator] = r
    return dict(sorted(out.items()))


def agreement_report(records_by_layer: dict[Layer, list[Record]]) -> AgreementReport:
    """Agreement per layer; a layer missing from the mapping counts as having no records."""
    layers = {}
    for layer in REPORT_ORDER:
        independent = [r for r in records_by_layer.get(layer, ()) if not r.ground_truth]
        tally = LayerTally(layer)
        for group in by_task(independent).values():
            tally.add(group)
        layers[layer] = tally.result()
    return AgreementReport(layers)


class LayerTally:
    """One layer's agreement, accumulated task by task (in task order) so that records can be
    streamed: `add` takes one task's records (annotator → their latest independent record) and
    keeps only what the figures need (pair tallies; stance labels)."""

    def __init__(self, layer: Layer) -> None:
        self.layer = layer
        self.tasks = 0
        self.annotators: set[str] = set()
        self.items = 0
        self.pair_items: Counter[tuple[str, str]] = Counter()
        self.first: _Tally_ = defaultdict(_Tally)  # exact spans / triggers
        self.second: _Tally_ = defaultdict(_Tally)  # relaxed spans / arguments
        self.labelled: list[dict[str, str]] = []  # stance: one unit per task with a label

    def add(self, group: Mapping[str, Record]) -> None:
        if self.layer is Layer.ENTITIES:
            self.add_spans(
                {a: {(e.start, e.end, e.label) for e in r.entities} for a, r in group.items()}
            )
            return
        if not group:
            return
        self.tasks += 1
        self.annotators.update(group)
        shared = len(group) >= 2
        self.items += shared
        if self.layer is Layer.STANCE:
            labels = {a: r.label for a, r in group.items() if r.label is not None}
            if labels:
                self.labelled.append(labels)
        elif shared:
            triggers = {a: _triggers(r) for a, r in group.items()}
            for a, b in combinations(sorted(group), 2):
                ta, tb = triggers[a], triggers[b]
                self.pair_items[(a, b)] += 1
                self.first[(a, b)].add(exact_matches(set(ta), set(tb)), len(ta), len(tb))
                for key in sorted(set(ta) & set(tb)):
                    self.second[(a, b)].add(
                        exact_matches(ta[key], tb[key]), len(ta[key]), len(tb[key])
                    )

    def merge(self, later: LayerTally) -> None:
        """Add the tally of the tasks that follow this one's (a second process's share)."""
        self.tasks += later.tasks
        self.annotators |= later.annotators
        self.items += later.items
        self.pair_items += later.pair_items
        for mine, theirs in ((self.first, later.first), (self.second, later.second)):
            for pair, t in theirs.items():
                mine[pair].add(t.tp, t.tp + t.fp, t.tp + t.fn)
        self.labelled += later.labelled

    def add_spans(self, spans: Mapping[str, set[SpanKey]]) -> None:
        """An entities task given as annotator → the (start, end, label) of their latest
        independent record's entities (what `add` reads from the records)."""
        if not spans:
            return
        self.tasks += 1
        self.annotators.update(spans)
        shared = len(spans) >= 2
        self.items += shared
        if shared:
            self._pairs_of_spans(spans)

    def _pairs_of_spans(self, spans: Mapping[str, set[SpanKey]]) -> None:
        for a, b in combinations(sorted(spans), 2):
            sa, sb = spans[a], spans[b]
            self.pair_items[(a, b)] += 1
            if sa == sb and all(s < e for s, e, _ in sa):
                # the same spans (the common case): each matches itself, exactly and relaxed
                # (what `exact_matches` and `relaxed_matches` find), decided at once
                n = len(sa)
                self.first[(a, b)].add(n, n, n)
                self.second[(a, b)].add(n, n, n)
                continue
            self.first[(a, b)].add(exact_matches(sa, sb), len(sa), len(sb))
            self.second[(a, b)].add(relaxed_matches(sa, sb), len(sa), len(sb))

    def result(self) -> LayerAgreement:
        if self.layer is Layer.STANCE:
            return self._stance()
        if not self.items:
            return self._no_items()
        if self.layer is Layer.ENTITIES:
            names, nothing = ("span_f1", "relaxed_f1"), (_NO_SPANS, _NO_SPANS)
        else:
            names, nothing = ("trigger_f1", "argument_f1"), (_NO_TRIGGERS, _NO_ARGS)
        pairs = tuple(
            PairAgreement(
                a,
                b,
                self.pair_items[(a, b)],
                {
                    names[0]: self.first[(a, b)].f1(nothing[0]),
                    names[1]: self.second[(a, b)].f1(nothing[1]),
                },
            )
            for a, b in sorted(self.pair_items)
        )
        figures = {
            names[0]: _pooled(self.first.values()).f1(nothing[0]),
            names[1]: _pooled(self.second.values()).f1(nothing[1]),
        }
        return LayerAgreement(
            self.layer, self.tasks, len(self.annotators), self.items, figures, pairs
        )

    def _no_items(self) -> LayerAgreement:
        reason = NO_ITEMS if self.tasks else f"no {self.layer} records"
        figures = {name: Figure.undefined(reason) for name in FIGURES[self.layer]}
        return LayerAgreement(self.layer, self.tasks, len(self.annotators), 0, figures)

    def _stance(self) -> LayerAgreement:
        items = [labels for labels in self.labelled if len(labels) >= 2]
        if not items:
            return self._no_items()
        pair_labels: dict[tuple[str, str], tuple[list[str], list[str]]] = defaultdict(
            lambda: ([], [])
        )
        for labels in items:
            for a, b in combinations(sorted(labels), 2):
                pair_labels[(a, b)][0].append(labels[a])
                pair_labels[(a, b)][1].append(labels[b])
        pairs = []
        kappas = []
        agree = total = 0
        for (a, b), (la, lb) in sorted(pair_labels.items()):
            same = sum(x == y for x, y in zip(la, lb, strict=True))
            agree += same
            total += len(la)
            kappa = cohen_kappa(la, lb)
            if kappa.value is not None:
                kappas.append(kappa.value)
            pairs.append(
                PairAgreement(
                    a,
                    b,
                    len(la),
                    {"percent_agreement": Figure(same / len(la)), "cohen_kappa": kappa},
                )
            )
        mean_kappa = (
            Figure(math.fsum(kappas) / len(kappas))
            if kappas
            else Figure.undefined("Cohen's kappa is undefined for every pair: " + _kappa_reason())
        )
        figures = {
            "krippendorff_alpha": krippendorff_alpha(items),
            "cohen_kappa": mean_kappa,
            "percent_agreement": Figure(agree / total),
        }
        return LayerAgreement(
            Layer.STANCE, self.tasks, len(self.annotators), len(items), figures, tuple(pairs)
        )


_NO_SPANS = "no annotator marked any span in the tasks they share"
_NO_TRIGGERS = "no annotator marked any trigger in the tasks they share"
_NO_ARGS = "no argument under a trigger that two annotators share"


def _kappa_reason() -> str:
    return "both annotators used one and the same label, so chance agreement is 1"


def cohen_kappa(a: Sequence[Hashable], b: Sequence[Hashable]) -> Figure:
    """Cohen's kappa of two annotators over the same items (scikit-learn), or None and why."""
    if not a:
        return Figure.undefined("the two annotators share no task")
    if len(set(a) | set(b)) < 2:
        return Figure.undefined(_kappa_reason())
    codes = _codes([*a, *b])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = float(cohen_kappa_score([codes[x] for x in a], [codes[x] for x in b]))
    if math.isnan(value):
        return Figure.undefined(_kappa_reason())
    return Figure(value)


def krippendorff_alpha(units: Sequence[Mapping[str, Hashable]]) -> Figure:
    """Nominal Krippendorff's alpha; each unit maps annotator → label (absent: missing value)."""
    pairable = [u for u in units if len(u) >= 2]
    if not pairable:
        return Figure.undefined(NO_ITEMS)
    used = sorted({str(v) for u in pairable for v in u.values()})
    if len(used) < 2:
        return Figure.undefined(
            f"only one label was ever used ({used[0]!r}): with no expected disagreement, "
            "alpha is undefined"
        )
    codes = {label: i for i, label in enumerate(used)}
    counts = np.zeros((len(pairable), len(used)), dtype=np.int64)
    for row, unit in enumerate(pairable):
        for label in unit.values():
            counts[row, codes[str(label)]] += 1
    try:
        value = float(
            krippendorff.alpha(
                value_counts=counts,
                value_domain=list(range(len(used))),
                level_of_measurement="nominal",
            )
        )
    except ValueError as exc:
        return Figure.undefined(f"alpha is undefined: {exc}")
    if math.isnan(value):
        return Figure.undefined("alpha is undefined: no expected disagreement")
    return Figure(value)


def _codes(values: Iterable[Hashable]) -> dict[Hashable, int]:
    return {v: i for i, v in enumerate(sorted(set(values), key=str))}


# --- spans -----------------------------------------------------------------------------------


@dataclass(slots=True)
class _Tally:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    def add(self, tp: int, n_a: int, n_b: int) -> None:
        self.tp += tp
        self.fp += n_a - tp
        self.fn += n_b - tp

    def f1(self, nothing: str) -> Figure:
        denominator = 2 * self.tp + self.fp + self.fn
        if denominator == 0:
            return Figure.undefined(nothing)
        return Figure(2 * self.tp / denominator)


SpanKey = tuple[int, int, str]
_Tally_ = defaultdict[tuple[str, str], _Tally]


def exact_matches(a: set[Any], b: set[Any]) -> int:
    return len(a & b)


def relaxed_matches(a: Iterable[SpanKey], b: Iterable[SpanKey]) -> int:
    """Largest one-to-one matching of spans that overlap and carry the same label."""
    left = sorted(set(a))
    right = sorted(set(b))
    if not left or not right:
        return 0
    if left == right and all(s < e for s, e, _ in left):
        return len(left)  # each span matches itself: a perfect matching, none can be larger
    edges = [
        [j for j, (s2, e2, l2) in enumerate(right) if l1 == l2 and s1 < e2 and s2 < e1]
        for s1, e1, l1 in left
    ]
    match_of_right: dict[int, int] = {}

    def augment(i: int, seen: set[int]) -> bool:  # Kuhn's augmenting path
        for j in edges[i]:
            if j in seen:
                continue
            seen.add(j)
            if j not in match_of_right or augment(match_of_right[j], seen):
                match_of_right[j] = i
                return True
        return False

    return sum(augment(i, set()) for i in range(len(left)) if edges[i])


def _pooled(tallies: Iterable[_Tally]) -> _Tally:
    out = _Tally()
    for t in tallies:
        out.tp += t.tp
        out.fp += t.fp
        out.fn += t.fn
    return out


# --- events ----------------------------------------------------------------------------------


def _triggers(r: Record) -> dict[SpanKey, set[tuple[str, int, int]]]:
    """Trigger (start, end, type) → the (role, start, end) of its arguments."""
    out: dict[SpanKey, set[tuple[str, int, int]]] = defaultdict(set)
    for e in r.events:
        out[(e.trigger.start, e.trigger.end, e.type)].update(
            (a.role, a.start, a.end) for a in e.arguments
        )
    return out
