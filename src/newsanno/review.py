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

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .adjudicate import Conflict, adjudicate, gold_is_stale, read_conflicts
from .errors import LabelStudioError, TasksError
from .labelconfig import (
    ARGUMENT_CONTROL,
    ENTITY_CONTROL,
    STANCE_CONTROL,
    TEXT,
    TRIGGER_CONTROL,
    label_config,
)
from .labelstudio import (
    DEFAULT_TITLE,
    TITLE_SEPARATOR,
    Client,
    Connection,
    ProjectRef,
    PushResult,
    find_project,
    instructions,
    load_projects,
    project_title,
    push_tasks_to_project,
)
from .layers import LAYERS, Layer
from .ontology import Ontology, default_ontology_path
from .records import Record, segment_sort_key
from .tasks import read_tasks, region_id
from .workspace import Workspace, write_atomic

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


# ---- review projects in Label Studio ---------------------------------------------------------

MAX_TITLE = 50  # Label Studio refuses longer project titles
REVIEW_KEY = "review"  # the key of the review projects in .newsanno/projects.json
REVIEW_NOTE = (
    "<h2>Review</h2><p>Annotators disagreed on these tasks. Each prediction is one annotator's "
    "version (its model version is the annotator). Start from the one you judge right, correct "
    "it, and submit: your annotation becomes the ground truth of the task.</p>"
)


def review_title(prefix: str, layer: Layer) -> str:
    return project_title(f"{prefix}{TITLE_SEPARATOR}review", layer)


def load_review_projects(workspace: Workspace) -> dict[Layer, ProjectRef]:
    """The review projects by layer, from `.newsanno/projects.json` (key "review")."""
    raw = _projects_json(workspace)
    try:
        return {
            Layer(layer): ProjectRef(int(p["id"]), p["title"], p["url"], p.get("server", ""))
            for layer, p in raw.get(REVIEW_KEY, {}).items()
        }
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise LabelStudioError(
            f"{workspace.projects_file}: the {REVIEW_KEY!r} entry is damaged "
            f"({exc.__class__.__name__}: {exc}). Delete that entry and run 'newsanno review "
            "create' again: it finds its projects by title."
        ) from None


def save_review_project(workspace: Workspace, layer: Layer, ref: ProjectRef) -> None:
    """Record one review project, keeping everything else in projects.json as it is."""
    raw = _projects_json(workspace)
    review = dict(raw.get(REVIEW_KEY) or {})
    review[str(layer)] = {"id": ref.id, "title": ref.title, "url": ref.url, "server": ref.server}
    raw[REVIEW_KEY] = {str(k): review[str(k)] for k in LAYERS if str(k) in review}
    workspace.state.mkdir(parents=True, exist_ok=True, mode=0o700)
    write_atomic(
        workspace.projects_file,
        json.dumps(raw, indent=2, sort_keys=True, ensure_ascii=False) + "\n",
    )


def _projects_json(workspace: Workspace) -> dict[str, Any]:
    path = workspace.projects_file
    if not path.is_file():
        return {}
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise LabelStudioError(
            f"{path} is not JSON ({exc}). Delete it and run 'newsanno project create' again."
        ) from None
    return raw if isinstance(raw, dict) else {}


@dataclass(frozen=True)
class ReviewPush:
    layer: Layer
    project: ProjectRef
    created: bool
    conflicts: int
    result: PushResult


@dataclass
class ReviewSummary:
    pushes: list[ReviewPush] = field(default_factory=list)
    adjudicated: bool = False  # the records had changed, so adjudication ran first
    without_task: int = 0  # conflicts whose task is not in tasks/ (data from the records)

    @property
    def conflicts(self) -> int:
        return sum(p.conflicts for p in self.pushes)

    def rows(self) -> list[tuple[str, int, str, int, int, str]]:
        """(layer, project id, url, conflicts, sent now, created|found)"""
        return [
            (
                str(p.layer),
                p.project.id,
                p.project.url,
                p.conflicts,
                p.result.sent,
                "created" if p.created else "found",
            )
            for p in self.pushes
        ]


def create_review(
    workspace: Workspace,
    conn: Connection,
    annotations_dir: Path,
    tasks_dir: Path,
    title_prefix: str | None = None,
) -> ReviewSummary:
    """Push the conflicts of `annotations_dir` to one review project per layer (created or found
    by title, recorded in projects.json under "review"); only tasks not there yet are sent.

    If the records changed since the last adjudication, it adjudicates first.
    """
    annotations_dir = Path(annotations_dir)
    summary = ReviewSummary()
    if gold_is_stale(annotations_dir):
        adjudicate(annotations_dir)
        summary.adjudicated = True
    review = load_review_tasks(annotations_dir, tasks_dir)
    summary.without_task = review.without_task
    if not review.by_layer:
        return summary

    recorded = {k: v for k, v in load_review_projects(workspace).items() if v.server == conn.url}
    prefix = (
        title_prefix
        or _recorded_prefix(recorded)
        or _labeling_prefix(workspace, conn)
        or DEFAULT_TITLE
    )
    for layer in review.by_layer:  # checked before anything is sent
        if len(title := review_title(prefix, layer)) > MAX_TITLE:
            raise LabelStudioError(
                f"The review project title '{title}' has {len(title)} characters; Label Studio "
                f"allows {MAX_TITLE}. Choose a shorter --title."
            )
    ontology = _ontology(workspace)
    configs = {layer: _config(Path(tasks_dir), layer, ontology) for layer in review.by_layer}
    client = Client(conn)
    client.whoami()
    for layer, xml in configs.items():
        client.validate_config(xml, source=f"{layer} labeling config")
    guidelines = workspace.schema / "GUIDELINES.md"
    for layer, tasks in review.by_layer.items():
        title = review_title(prefix, layer)
        ref = find_project(client, recorded.get(layer), title)
        created = ref is None
        if ref is None:
            project_id = client.create_project(
                title,
                configs[layer],
                description=f"newsanno {layer} review: conflicts between annotators",
                expert_instruction=REVIEW_NOTE + instructions(layer, ontology, guidelines),
            )
            ref = ProjectRef(project_id, title, client.project_url(project_id), conn.url)
        save_review_project(workspace, layer, ref)
        result = push_tasks_to_project(client, ref.id, tasks)
        summary.pushes.append(ReviewPush(layer, ref, created, len(tasks), result))
    return summary


def _ontology(workspace: Workspace) -> Ontology:
    path = workspace.schema / "ontology.json"
    return Ontology.load(path if path.is_file() else default_ontology_path())


def _config(tasks_dir: Path, layer: Layer, ontology: Ontology) -> str:
    """The labeling projects' config (tasks/<layer>.xml), else the one the ontology makes."""
    path = tasks_dir / f"{layer}.xml"
    return path.read_text(encoding="utf-8") if path.is_file() else label_config(layer, ontology)


def _recorded_prefix(recorded: dict[Layer, ProjectRef]) -> str | None:
    """The title prefix of the review projects recorded for this server."""
    for layer, ref in recorded.items():
        suffix = review_title("", layer)
        if ref.title.endswith(suffix) and len(ref.title) > len(suffix):
            return ref.title[: -len(suffix)]
    return None


def _labeling_prefix(workspace: Workspace, conn: Connection) -> str | None:
    """The title prefix of the labeling projects on this server, if recorded."""
    for ref in load_projects(workspace).values():
        if ref.server == conn.url and TITLE_SEPARATOR in ref.title:
            return ref.title.rsplit(TITLE_SEPARATOR, 1)[0]
    return None
