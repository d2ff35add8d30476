"""Review tasks from conflicts; the round trip through a real Label Studio review project."""

from __future__ import annotations

from pathlib import Path

import pytest
from label_studio_sdk.label_interface import LabelInterface

from newsanno.adjudicate import adjudicate, read_conflicts
from newsanno.labelconfig import label_config
from newsanno.layers import Layer
from newsanno.ontology import Ontology
from newsanno.records import Argument, Entity, Event, Record, Source, Span, write_records
from newsanno.review import build_review_tasks, load_review_tasks, record_result
from newsanno.tasks import read_tasks

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
        source=Source("http://ls", 1, annotation_id),
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
