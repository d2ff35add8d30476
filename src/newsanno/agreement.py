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
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path
from typing import Any

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
    annotations_dir = Path(annotations_dir)
    paths = {layer: annotations_dir / f"{layer}.jsonl" for layer in LAYERS}
    if not any(p.is_file() for p in paths.values()):
        raise InvalidAnnotations(
            f"{annotations_dir}/: no record files (entities.jsonl, events.jsonl, stance.jsonl). "
            "Run 'newsanno annotations import' first."
        )
    out: dict[Layer, list[Record]] = {}
    for layer, path in paths.items():
        out[layer] = list(_read_records(path, layer)) if path.is_file() else []
    return out


def _read_records(path: Path, layer: Layer) -> Iterable[Record]:
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
    """Agreement figures for the record files in `annotations_dir`."""
    return agreement_report(read_layer_records(annotations_dir))


def agreement_report(records_by_layer: dict[Layer, list[Record]]) -> AgreementReport:
    """Agreement per layer; a layer missing from the mapping counts as having no records."""
    measure: dict[Layer, Callable[[dict[TaskKey, dict[str, Record]]], LayerAgreement]] = {
        Layer.STANCE: _stance,
        Layer.ENTITIES: _entities,
        Layer.EVENTS: _events,
    }
    layers = {}
    for layer in REPORT_ORDER:
        independent = [r for r in records_by_layer.get(layer, ()) if not r.ground_truth]
        layers[layer] = measure[layer](by_task(independent))
    return AgreementReport(layers)


def _shared(tasks: dict[TaskKey, dict[str, Record]]) -> dict[TaskKey, dict[str, Record]]:
    return {k: v for k, v in tasks.items() if len(v) >= 2}


def _counts(tasks: dict[TaskKey, dict[str, Record]]) -> tuple[int, int, int]:
    annotators = {a for group in tasks.values() for a in group}
    return len(tasks), len(annotators), sum(len(g) >= 2 for g in tasks.values())


def _no_items(layer: Layer, tasks: dict[TaskKey, dict[str, Record]]) -> LayerAgreement:
    n_tasks, n_annotators, _ = _counts(tasks)
    reason = NO_ITEMS if tasks else f"no {layer} records"
    figures = {name: Figure.undefined(reason) for name in FIGURES[layer]}
    return LayerAgreement(layer, n_tasks, n_annotators, 0, figures)


# --- stance ---------------------------------------------------------------------------------


def _stance(tasks: dict[TaskKey, dict[str, Record]]) -> LayerAgreement:
    labelled = {
        key: {a: r.label for a, r in group.items() if r.label is not None}
        for key, group in tasks.items()
    }
    labelled = {k: v for k, v in labelled.items() if v}
    n_tasks, n_annotators, _ = _counts(tasks)
    items = {k: v for k, v in labelled.items() if len(v) >= 2}
    if not items:
        return _no_items(Layer.STANCE, tasks)

    pair_labels: dict[tuple[str, str], tuple[list[str], list[str]]] = defaultdict(lambda: ([], []))
    for labels in items.values():
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
                a, b, len(la), {"percent_agreement": Figure(same / len(la)), "cohen_kappa": kappa}
            )
        )
    mean_kappa = (
        Figure(math.fsum(kappas) / len(kappas))
        if kappas
        else Figure.undefined("Cohen's kappa is undefined for every pair: " + _kappa_reason())
    )
    figures = {
        "krippendorff_alpha": krippendorff_alpha(list(items.values())),
        "cohen_kappa": mean_kappa,
        "percent_agreement": Figure(agree / total),
    }
    return LayerAgreement(Layer.STANCE, n_tasks, n_annotators, len(items), figures, tuple(pairs))


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


@dataclass
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


def exact_matches(a: set[Any], b: set[Any]) -> int:
    return len(a & b)


def relaxed_matches(a: Iterable[SpanKey], b: Iterable[SpanKey]) -> int:
    """Largest one-to-one matching of spans that overlap and carry the same label."""
    left = sorted(set(a))
    right = sorted(set(b))
    if not left or not right:
        return 0
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


def _entities(tasks: dict[TaskKey, dict[str, Record]]) -> LayerAgreement:
    shared = _shared(tasks)
    if not shared:
        return _no_items(Layer.ENTITIES, tasks)
    n_tasks, n_annotators, n_items = _counts(tasks)
    exact: dict[tuple[str, str], _Tally] = defaultdict(_Tally)
    relaxed: dict[tuple[str, str], _Tally] = defaultdict(_Tally)
    items: Counter[tuple[str, str]] = Counter()
    for group in shared.values():
        spans = {a: {(e.start, e.end, e.label) for e in r.entities} for a, r in group.items()}
        for a, b in combinations(sorted(group), 2):
            sa, sb = spans[a], spans[b]
            items[(a, b)] += 1
            exact[(a, b)].add(exact_matches(sa, sb), len(sa), len(sb))
            relaxed[(a, b)].add(relaxed_matches(sa, sb), len(sa), len(sb))
    nothing = "no annotator marked any span in the tasks they share"
    pairs = tuple(
        PairAgreement(
            a,
            b,
            items[(a, b)],
            {"span_f1": exact[(a, b)].f1(nothing), "relaxed_f1": relaxed[(a, b)].f1(nothing)},
        )
        for a, b in sorted(items)
    )
    figures = {
        "span_f1": _pooled(exact.values()).f1(nothing),
        "relaxed_f1": _pooled(relaxed.values()).f1(nothing),
    }
    return LayerAgreement(Layer.ENTITIES, n_tasks, n_annotators, n_items, figures, pairs)


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


def _events(tasks: dict[TaskKey, dict[str, Record]]) -> LayerAgreement:
    shared = _shared(tasks)
    if not shared:
        return _no_items(Layer.EVENTS, tasks)
    n_tasks, n_annotators, n_items = _counts(tasks)
    trig: dict[tuple[str, str], _Tally] = defaultdict(_Tally)
    args: dict[tuple[str, str], _Tally] = defaultdict(_Tally)
    items: Counter[tuple[str, str]] = Counter()
    for group in shared.values():
        triggers = {a: _triggers(r) for a, r in group.items()}
        for a, b in combinations(sorted(group), 2):
            ta, tb = triggers[a], triggers[b]
            items[(a, b)] += 1
            trig[(a, b)].add(exact_matches(set(ta), set(tb)), len(ta), len(tb))
            for key in sorted(set(ta) & set(tb)):
                args[(a, b)].add(exact_matches(ta[key], tb[key]), len(ta[key]), len(tb[key]))
    no_triggers = "no annotator marked any trigger in the tasks they share"
    no_args = "no argument under a trigger that two annotators share"
    pairs = tuple(
        PairAgreement(
            a,
            b,
            items[(a, b)],
            {"trigger_f1": trig[(a, b)].f1(no_triggers), "argument_f1": args[(a, b)].f1(no_args)},
        )
        for a, b in sorted(items)
    )
    figures = {
        "trigger_f1": _pooled(trig.values()).f1(no_triggers),
        "argument_f1": _pooled(args.values()).f1(no_args),
    }
    return LayerAgreement(Layer.EVENTS, n_tasks, n_annotators, n_items, figures, pairs)
