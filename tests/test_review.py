"""Review tasks from conflicts; the round trip through a real Label Studio review project."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from label_studio_sdk.label_interface import LabelInterface
from typer.testing import CliRunner

from newsanno.adjudicate import adjudicate, read_conflicts
from newsanno.cli import app
from newsanno.errors import LabelStudioError
from newsanno.labelconfig import label_config
from newsanno.labelstudio import Connection, ProjectRef, load_projects
from newsanno.layers import Layer
from newsanno.ontology import Ontology
from newsanno.records import (
    Argument,
    Entity,
    Event,
    Record,
    Source,
    Span,
    read_records,
    write_records,
)
from newsanno.review import (
    build_review_tasks,
    create_review,
    load_review_projects,
    load_review_tasks,
    record_result,
    save_review_project,
)
from newsanno.tasks import read_tasks
from newsanno.workspace import Workspace

runner = CliRunner()
REPO = Path(__file__).resolve().parents[1]
TASKS = REPO / "tasks"


@pytest.fixture(scope="module")
def ontology() -> Ontology:
    return Ontology.load(REPO / "schema" / "ontology.json")


def first_task(layer: Layer, target: str | None = None) -> dict:
    for task in read_tasks(TASKS / f"{layer}.jsonl"):
        if target is None or task["data"].get("target") == target:
            return task
    raise AssertionError("no such task in tasks/")


def record(task: dict, layer: Layer, annotator: str, annotation_id: int, **kw) -> Record:
    d = task["data"]
    return Record(
        layer=layer,
        segment_id=d["segment_id"],
        document_id=d["document_id"],
        text=d["text"],
        annotator=annotator,
        annotation_id=annotation_id,
        updated_at=f"2024-03-0{annotation_id}T00:00:00Z",
        source=Source("http://labelling.example", 1, annotation_id),
        target=d.get("target"),
        **kw,
    )


def span(text: str, word: str) -> tuple[int, int]:
    start = text.index(word)
    return start, start + len(word)


def conflicting_workspace(tmp_path: Path) -> Path:
    """One conflict per layer, on real tasks from tasks/: two annotators who disagree."""
    ann = tmp_path / "annotations"
    ent_task = first_task(Layer.ENTITIES)
    text = ent_task["data"]["text"]
    isis = span(text, "ISIS")
    write_records(ann / "entities.jsonl", [
        record(ent_task, Layer.ENTITIES, "annotator-1", 1,
               entities=(Entity("a", *isis, "ISIS", "ORG"),)),
        record(ent_task, Layer.ENTITIES, "annotator-2", 2,
               entities=(Entity("b", *isis, "ISIS", "NORP"),)),
    ])  # fmt: skip
    ev_task = first_task(Layer.EVENTS)
    ousted, syria = span(text, "ousted"), span(text, "Syria")
    write_records(ann / "events.jsonl", [
        record(ev_task, Layer.EVENTS, "annotator-1", 3, events=(
            Event("e1", "Transaction.TransferControl", Span(*ousted, "ousted"), (
                Argument("Giver", *isis, "ISIS", "ORG"),
                Argument("Place", *syria, "Syria", "GPE"),
            )),
        )),
        record(ev_task, Layer.EVENTS, "annotator-2", 4, events=(
            Event("e2", "Transaction.TransferControl", Span(*ousted, "ousted"), (
                Argument("Giver", *isis, "ISIS", "ORG"),
            )),
        )),
    ])  # fmt: skip
    st_task = first_task(Layer.STANCE, "ISIS")
    write_records(ann / "stance.jsonl", [
        record(st_task, Layer.STANCE, "annotator-1", 5, label="against"),
        record(st_task, Layer.STANCE, "annotator-2", 6, label="none"),
    ])  # fmt: skip
    return ann


def test_review_tasks_carry_the_task_data_and_every_version(tmp_path: Path, ontology) -> None:
    ann = conflicting_workspace(tmp_path)
    adjudicate(ann)
    review = load_review_tasks(ann, TASKS)
    assert review.without_task == 0
    assert sorted(review.by_layer) == sorted(Layer)
    for layer, tasks in review.by_layer.items():
        (task,) = tasks
        original = first_task(layer, "ISIS" if layer is Layer.STANCE else None)
        assert task["data"] == original["data"]
        assert task["meta"]["review"] is True and task["meta"]["layer"] == str(layer)
        assert task["meta"]["reasons"]
        assert [p["model_version"] for p in task["predictions"]] == ["annotator-1", "annotator-2"]
        config = LabelInterface(label_config(layer, ontology))
        for prediction in task["predictions"]:
            assert prediction["result"]
            assert config.validate_prediction(prediction, return_errors=True) == []


def test_event_result_has_trigger_arguments_and_role_relations() -> None:
    text = "Troops ousted ISIS from Syria."
    r = Record(
        layer=Layer.EVENTS, segment_id="d:0-30", document_id="d", text=text, annotator="x",
        annotation_id=1,
        events=(
            Event("e1", "Transaction.TransferControl", Span(7, 13, "ousted"),
                  (Argument("Giver", 14, 18, "ISIS", "ORG"),
                   Argument("Territory", 24, 29, "Syria", "GPE"))),
            Event("e2", "Conflict.Attack", Span(7, 13, "ousted"),
                  (Argument("Target", 14, 18, "ISIS", "ORG"),)),
        ),
    )  # fmt: skip
    result = record_result(r)
    regions = {item["id"]: item for item in result if item["type"] == "labels"}
    relations = [item for item in result if item["type"] == "relation"]
    # two triggers, two argument regions (ISIS is shared by both events), three relations
    assert sorted(i["from_name"] for i in regions.values()) == [
        "argument", "argument", "trigger", "trigger",
    ]  # fmt: skip
    got = sorted(
        (
            regions[rel["from_id"]]["value"]["labels"][0],
            regions[rel["to_id"]]["value"]["text"],
            rel["labels"][0],
        )
        for rel in relations
    )
    assert got == [
        ("Conflict.Attack", "ISIS", "Target"),
        ("Transaction.TransferControl", "ISIS", "Giver"),
        ("Transaction.TransferControl", "Syria", "Territory"),
    ]
    assert record_result(r) == result  # stable ids


def test_conflict_without_a_task_in_tasks_dir_uses_the_record_data(tmp_path: Path) -> None:
    ann = conflicting_workspace(tmp_path)
    adjudicate(ann)
    review = build_review_tasks(read_conflicts(ann), tmp_path / "no-tasks")
    assert review.without_task == 3
    (task,) = review.by_layer[Layer.STANCE]
    data = task["data"]
    assert data["target"] == "ISIS"
    assert data["text"][0:4] == "ISIS"
    seg = data["segment_id"]
    assert (data["doc_start"], data["doc_end"]) == tuple(
        int(x) for x in seg.rsplit(":", 1)[1].split("-")
    )


def test_review_projects_are_recorded_beside_the_labeling_projects(tmp_path: Path) -> None:
    ws = Workspace(tmp_path)
    ws.state.mkdir()
    labeling = {
        "projects": {"entities": {"id": 1, "title": "n · entities", "url": "u", "server": "s"}}
    }
    ws.projects_file.write_text(json.dumps(labeling), encoding="utf-8")
    save_review_project(ws, Layer.STANCE, ProjectRef(7, "n · review · stance", "u7", "s"))
    save_review_project(ws, Layer.ENTITIES, ProjectRef(5, "n · review · entities", "u5", "s"))
    raw = json.loads(ws.projects_file.read_text(encoding="utf-8"))
    assert raw["projects"] == labeling["projects"]
    assert list(raw["review"]) == ["entities", "stance"]
    assert load_review_projects(ws) == {
        Layer.ENTITIES: ProjectRef(5, "n · review · entities", "u5", "s"),
        Layer.STANCE: ProjectRef(7, "n · review · stance", "u7", "s"),
    }
    assert load_projects(ws)[Layer.ENTITIES].id == 1


def test_too_long_a_title_is_refused_before_anything_is_sent(tmp_path: Path) -> None:
    ann = conflicting_workspace(tmp_path)
    nowhere = Connection("http://127.0.0.1:9", "not-used")  # never contacted
    with pytest.raises(LabelStudioError, match=r"has 54 characters; Label Studio allows 50"):
        create_review(Workspace(tmp_path), nowhere, ann, TASKS, title_prefix="x" * 34)
    assert not (tmp_path / ".newsanno" / "projects.json").exists()


def test_cli_review_create_without_a_server(tmp_path: Path, monkeypatch) -> None:
    conflicting_workspace(tmp_path)
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["review", "create", "--tasks", str(TASKS)])
    assert result.exit_code == 1
    assert result.stderr.strip().startswith(
        "Error: No Label Studio to talk to. Run 'newsanno server start'"
    )


# --- the round trip through a real Label Studio ----------------------------------------------


@pytest.mark.integration
def test_review_round_trip(label_studio, ls_workspace, tmp_path, monkeypatch) -> None:
    """conflict → review project → a reviewer's annotation (posted through the API) → import →
    the next adjudication takes it as gold."""
    unique_title = f"rt {uuid.uuid4().hex[:8]}"
    from newsanno.importer import ProjectSource, import_annotations
    from newsanno.labelstudio import Client, resolve_connection
    from newsanno.review import REVIEW_KEY

    ann = conflicting_workspace(tmp_path)
    summary = adjudicate(ann)
    assert summary.total_conflicts == 3

    conn = resolve_connection(ls_workspace)
    review = create_review(ls_workspace, conn, ann, TASKS, title_prefix=unique_title)
    assert [(p.layer, p.conflicts, p.result.sent, p.created) for p in review.pushes] == [
        (layer, 1, 1, True) for layer in (Layer.ENTITIES, Layer.EVENTS, Layer.STANCE)
    ]
    recorded = load_review_projects(ls_workspace)
    assert {layer: ref.id for layer, ref in recorded.items()} == {
        p.layer: p.project.id for p in review.pushes
    }
    assert recorded[Layer.STANCE].title == f"{unique_title} · review · stance"
    assert REVIEW_KEY in json.loads(ls_workspace.projects_file.read_text(encoding="utf-8"))

    # a second run (through the CLI, in the workspace) finds the projects and sends nothing
    monkeypatch.chdir(ls_workspace.root)
    result = runner.invoke(
        app, ["review", "create", "-a", str(ann), "--tasks", str(TASKS), "--title", unique_title]
    )
    assert result.exit_code == 0, result.output
    assert "Review projects" in result.stdout
    again = create_review(ls_workspace, conn, ann, TASKS)  # the recorded title prefix is reused
    assert [
        (p.project, p.created, p.result.sent, p.result.already_there) for p in again.pushes
    ] == [(p.project, False, 0, 1) for p in review.pushes]

    # the reviewer takes annotator-1's version of every task (entities: ORG; events: both
    # arguments; stance: against) and submits it
    client = Client(conn)
    reviewer = client.whoami()
    versions = {c.layer: c.versions[0] for c in read_conflicts(ann)}
    for push in review.pushes:
        (task,) = client.export_json(push.project.id)
        assert task["meta"]["review"] is True
        assert len(task["predictions"]) == 2
        client.create_annotation(task["id"], record_result(versions[push.layer]), reviewer)

    ontology = Ontology.load(REPO / "schema" / "ontology.json")
    sources = [ProjectSource(conn, p.project.id, p.layer) for p in review.pushes]
    imported = import_annotations(sources, ann, ontology)
    assert sum(c.valid for c in imported.counts.values()) == 3

    review_records = [
        r for layer in Layer for r in read_records(ann / f"{layer}.jsonl")
        if r.source.url == conn.url
    ]  # fmt: skip
    assert len(review_records) == 3
    assert all(r.ground_truth for r in review_records), (
        "the importer must mark the annotations of review tasks (meta.review) as ground truth"
    )
    resolved = adjudicate(ann)
    assert resolved.total_conflicts == 0
    assert [(o.layer, o.ground_truth) for o in resolved.layers] == [
        (Layer.ENTITIES, 1), (Layer.EVENTS, 1), (Layer.STANCE, 1),
    ]  # fmt: skip
    gold = {layer: read_records(ann / "gold" / f"{layer}.jsonl") for layer in Layer}
    assert [e.label for e in gold[Layer.ENTITIES][0].entities] == ["ORG"]
    assert [a.role for a in gold[Layer.EVENTS][0].events[0].arguments] == ["Giver", "Place"]
    assert gold[Layer.STANCE][0].label == "against"
    assert all(g[0].annotator == "gold" and g[0].ground_truth for g in gold.values())
