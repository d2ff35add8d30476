"""Review: the conflicts of the last adjudication, as tasks of a Label Studio review project.

`newsanno review create` reads `annotations/conflicts.jsonl` and pushes, per layer, one review
task per conflict to a project titled `<prefix> · review · <layer>`, with the layer's labeling
config. A review task carries:

- `data`: the task's data as in `tasks/<layer>.jsonl` (found by segment_id and target); when the
  task is not there, the data the records carry (text, ids, offsets from the segment id; no
  context);
- `meta`: the task's meta plus `"review": true` and the conflict's `reasons`;
- `predictions`: each annotator's version, `model_version` = the annotator's pseudonym, so the
  reviewer starts from any of them.

The review projects are recorded in `.newsanno/projects.json` under `"review"`. Importing them
marks the reviewer's annotations `ground_truth` (the importer reads `meta.review`), and the next
`newsanno annotations adjudicate` takes them as gold.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .adjudicate import Conflict, read_conflicts
from .errors import TasksError
from .labelconfig import (
    ARGUMENT_CONTROL,
    ENTITY_CONTROL,
    STANCE_CONTROL,
    TEXT,
    TRIGGER_CONTROL,
)
from .layers import LAYERS, Layer
from .records import Record, segment_sort_key
from .tasks import read_tasks, region_id

TaskKey = tuple[str, str]


def record_result(record: Record) -> list[dict[str, Any]]:
    """One record as a Label Studio result (the inverse of the import), with stable region ids."""
    who = record.annotator
    if record.layer is Layer.STANCE:
        if record.label is None:
            return []
        return [
            {
                "id": region_id(who, "stance", record.target),
                "from_name": STANCE_CONTROL,
                "to_name": TEXT,
                "type": "choices",
                "value": {"choices": [record.label]},
            }
        ]
    if record.layer is Layer.ENTITIES:
        return [
            _span(
                region_id(who, e.start, e.end, e.label),
                ENTITY_CONTROL,
                e.start,
                e.end,
                e.text,
                e.label,
            )  # fmt: skip
            for e in record.entities
        ]
    result: list[dict[str, Any]] = []
    arguments: dict[tuple[int, int, str], str] = {}
    relations: list[dict[str, Any]] = []
    for ev in record.events:
        t = ev.trigger
        trigger_id = region_id(who, "trigger", ev.id, t.start, t.end, ev.type)
        result.append(_span(trigger_id, TRIGGER_CONTROL, t.start, t.end, t.text, ev.type))
        for a in ev.arguments:
            key = (a.start, a.end, a.entity_type)
            if key not in arguments:  # one region per argument span, however many events use it
                arguments[key] = region_id(who, "argument", *key)
                result.append(
                    _span(arguments[key], ARGUMENT_CONTROL, a.start, a.end, a.text, a.entity_type)
                )
            relations.append(
                {
                    "from_id": trigger_id,
                    "to_id": arguments[key],
                    "type": "relation",
                    "direction": "right",
                    "labels": [a.role],
                }
            )
    return result + relations


def _span(rid: str, control: str, start: int, end: int, text: str, label: str) -> dict[str, Any]:
    return {
        "id": rid,
        "from_name": control,
        "to_name": TEXT,
        "type": "labels",
        "value": {"start": start, "end": end, "text": text, "labels": [label]},
    }


def review_task(conflict: Conflict, task: dict[str, Any] | None = None) -> dict[str, Any]:
    """The review task of one conflict; `task` is the original task from tasks/ if known."""
    if task is not None:
        data = dict(task["data"])
        meta = dict(task.get("meta") or {})
    else:
        data = _data_from_records(conflict)
        meta = {"layer": str(conflict.layer)}
    meta.update({"review": True, "reasons": list(conflict.reasons)})
    return {
        "data": data,
        "meta": meta,
        "predictions": [
            {"model_version": r.annotator, "result": record_result(r)} for r in conflict.versions
        ],
    }


def _data_from_records(conflict: Conflict) -> dict[str, Any]:
    _, start, end = segment_sort_key(conflict.segment_id)
    data: dict[str, Any] = {
        "text": conflict.text,
        "document_id": conflict.document_id,
        "segment_id": conflict.segment_id,
        "doc_start": start,
        "doc_end": end,
        "context_before": "",
        "context_after": "",
    }
    if conflict.layer is Layer.STANCE:
        data["target"] = conflict.target
    return data


def task_index(tasks_dir: Path, layer: Layer) -> dict[TaskKey, dict[str, Any]]:
    """The tasks of `tasks_dir/<layer>.jsonl` by (segment_id, target); empty if there is none."""
    path = Path(tasks_dir) / f"{layer}.jsonl"
    if not path.is_file():
        return {}
    out = {}
    for task in read_tasks(path):
        data = task["data"]
        if "segment_id" not in data:
            raise TasksError(f"{path}: a task without data.segment_id. Rebuild with 'newsanno "
                             "tasks build'.")  # fmt: skip
        out[(data["segment_id"], data.get("target") or "")] = task
    return out


@dataclass(frozen=True)
class ReviewTasks:
    """Review tasks per layer (only layers with conflicts), and how many had no task in tasks/."""

    by_layer: dict[Layer, list[dict[str, Any]]]
    without_task: int = 0


def build_review_tasks(conflicts: Iterable[Conflict], tasks_dir: Path) -> ReviewTasks:
    grouped: dict[Layer, list[Conflict]] = {}
    for c in conflicts:
        grouped.setdefault(c.layer, []).append(c)
    by_layer: dict[Layer, list[dict[str, Any]]] = {}
    missing = 0
    for layer in LAYERS:
        if layer not in grouped:
            continue
        index = task_index(tasks_dir, layer)
        tasks = []
        for c in grouped[layer]:
            original = index.get(c.task_key)
            missing += original is None
            tasks.append(review_task(c, original))
        by_layer[layer] = tasks
    return ReviewTasks(by_layer, missing)


def load_review_tasks(annotations_dir: Path, tasks_dir: Path) -> ReviewTasks:
    """Review tasks for the conflicts in `annotations_dir/conflicts.jsonl`."""
    return build_review_tasks(read_conflicts(annotations_dir), tasks_dir)
