"""`newsanno annotations import`: Label Studio full-JSON exports → canonical records.

The integration test posts annotations of every kind — good ones and each bad kind the issue lists
— to the session's real Label Studio as two annotator accounts, imports them, and checks every
record and every quarantine reason. The offline tests import golden exports under
`tests/data/exports/`: `live-*.json` were captured from Label Studio 1.23.2 with the same scenario
(`python tests/test_importer.py capture URL API_KEY` writes them again), the others are written
by hand in the same shape.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from newsanno.articles import load_articles
from newsanno.cli import app
from newsanno.errors import ExportFormatError
from newsanno.importer import (
    QUARANTINE_FILE,
    Converter,
    import_annotations,
    iter_export,
    realign,
)
from newsanno.layers import LAYERS, Layer
from newsanno.ontology import Ontology
from newsanno.records import Record, canonical_dict, dumps_line
from newsanno.tasks import build_tasks, gazetteer_for
from newsanno.workspace import Workspace

REPO = Path(__file__).resolve().parents[1]
EXPORTS = Path(__file__).parent / "data" / "exports"
runner = CliRunner()

# One article, three sentences; the third has an emoji before its last spans.
SEED_TEXT = (
    "ISIS fighters attacked Raqqa on Friday. The Syrian army said that Russia supports Damascus. "
    "Residents posted \U0001f64f as rebels killed 12 civilians in Deir Ezzor.\n"
)


@pytest.fixture(scope="module")
def ontology() -> Ontology:
    return Ontology.load(REPO / "schema" / "ontology.json")


def read_lines(path: Path) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]


def utf16_units(text: str, index: int) -> int:
    return len(text[:index].encode("utf-16-le")) // 2


# ---- Label Studio result items ---------------------------------------------------------------


def span(
    text: str, word: str, control: str, label: str, rid: str, *, utf16: bool = False
) -> dict[str, Any]:
    start = text.index(word)
    end = start + len(word)
    if utf16:
        start, end = utf16_units(text, start), utf16_units(text, end)
    return {
        "id": rid,
        "from_name": control,
        "to_name": "text",
        "type": "labels",
        "value": {"start": start, "end": end, "text": word, "labels": [label]},
    }


def relation(a: str, b: str, *roles: str) -> dict[str, Any]:
    rel: dict[str, Any] = {"from_id": a, "to_id": b, "type": "relation", "direction": "right"}
    if roles:
        rel["labels"] = list(roles)
    return rel


def choice(*values: str) -> dict[str, Any]:
    return {
        "id": "s1",
        "from_name": "stance",
        "to_name": "text",
        "type": "choices",
        "value": {"choices": list(values)},
    }


# ---- the scenario: what two annotators post, and what the import must make of it ------------


@dataclass
class Case:
    layer: Layer
    task: int  # index among the layer's tasks
    who: str  # "A" or "B"
    result: Any  # a function of the task text → result list
    errors: Any = None  # function of the task text → exact quarantine errors; None = valid
    cancelled: bool = False
    from_prediction: bool = False
    realigned: int = 0
    annotation_id: int = 0
    text: str = ""
    task_id: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def scenario(ontology: Ontology) -> list[Case]:
    ent, trig, arg = "label", "trigger", "argument"
    labels = list(ontology.entity_labels)
    return [
        # entities, sentence 0: A starts from the gazetteer's prediction, B does not.
        Case(
            Layer.ENTITIES,
            0,
            "A",
            lambda t: [
                span(t, "ISIS fighters", ent, "ORG", "e1"),
                span(t, "Raqqa", ent, "GPE", "e2"),
                span(t, "Friday", ent, "DATE", "e3"),
            ],
            from_prediction=True,
        ),
        Case(Layer.ENTITIES, 0, "B", lambda t: [span(t, "ISIS", ent, "ORG", "e1")]),
        # entities, sentence 1: an unknown label; a span past the end of the text.
        Case(
            Layer.ENTITIES,
            1,
            "A",
            lambda t: [span(t, "Russia", ent, "COUNTRY", "e1")],
            lambda t: [f"entities/0/label (region e1): 'COUNTRY' is not one of {labels!r}"],
        ),
        Case(
            Layer.ENTITIES,
            1,
            "B",
            lambda t: [
                {
                    **span(t, "Damascus", ent, "GPE", "e1"),
                    "value": {
                        "start": len(t) - 3,
                        "end": len(t) + 5,
                        "text": "us. And more",
                        "labels": ["GPE"],
                    },
                }
            ],
            lambda t: [
                f"entities/0/end (region e1): {len(t) + 5} is past the end of the text ({len(t)})"
            ],
        ),
        # entities, sentence 2: the span's text is not what its offsets say; UTF-16 offsets.
        Case(
            Layer.ENTITIES,
            2,
            "A",
            lambda t: [
                {
                    **span(t, "rebels", ent, "PER", "e1"),
                    "value": {
                        **span(t, "rebels", ent, "PER", "e1")["value"],
                        "text": "Rebels",
                    },
                }
            ],
            lambda t: [
                f"entities/0/text (region e1): text[{t.index('rebels')}:"
                f'{t.index("rebels") + 6}] is "rebels", not "Rebels"'
            ],
        ),
        Case(
            Layer.ENTITIES,
            2,
            "B",
            lambda t: [
                span(t, "rebels", ent, "PER", "e1", utf16=True),
                span(t, "Deir Ezzor", ent, "GPE", "e2", utf16=True),
            ],
            realigned=2,
        ),
        # events, sentence 0: a full event; a role the event type does not have.
        Case(
            Layer.EVENTS,
            0,
            "A",
            lambda t: [
                span(t, "attacked", trig, "Conflict.Attack", "t1"),
                span(t, "ISIS fighters", arg, "ORG", "a1"),
                span(t, "Raqqa", arg, "GPE", "a2"),
                relation("t1", "a1", "Attacker"),
                relation("a2", "t1", "Place"),  # drawn from the argument: direction is not used
            ],
        ),
        Case(
            Layer.EVENTS,
            0,
            "B",
            lambda t: [
                span(t, "attacked", trig, "Conflict.Attack", "t1"),
                span(t, "Raqqa", arg, "GPE", "a1"),
                relation("t1", "a1", "Victim"),
            ],
            lambda t: [
                "events/0/arguments/0/role (relation t1 → a1): 'Victim' is not a role of "
                "Conflict.Attack (allowed: Attacker, Target, Instrument, Place)"
            ],
        ),
        # events, sentence 1: a relation between two arguments.
        Case(
            Layer.EVENTS,
            1,
            "A",
            lambda t: [
                span(t, "said", trig, "Contact.Statement", "t1"),
                span(t, "The Syrian army", arg, "ORG", "a1"),
                span(t, "Russia", arg, "GPE", "a2"),
                relation("a1", "a2", "Speaker"),
            ],
            lambda t: [
                "result 3 (relation a1 → a2): links two arguments; a relation must link a "
                "trigger to an argument",
                "argument region a1 ('The Syrian army' at 0-15): no relation links it to a trigger",
                "argument region a2 ('Russia' at 26-32): no relation links it to a trigger",
            ],
        ),
        # events, sentence 2: an argument with no relation; a relation with no role.
        Case(
            Layer.EVENTS,
            2,
            "A",
            lambda t: [
                span(t, "killed", trig, "Life.Die", "t1"),
                span(t, "civilians", arg, "PER", "a1"),
                span(t, "Deir Ezzor", arg, "GPE", "a2"),
                relation("t1", "a1", "Victim"),
            ],
            lambda t: [
                f"argument region a2 ('Deir Ezzor' at {t.index('Deir')}-"
                f"{t.index('Deir') + 10}): no relation links it to a trigger"
            ],
        ),
        Case(
            Layer.EVENTS,
            2,
            "B",
            lambda t: [
                span(t, "killed", trig, "Life.Die", "t1"),
                span(t, "rebels", arg, "PER", "a1"),
                relation("t1", "a1"),
            ],
            lambda t: [
                "result 2 (relation t1 → a1): has no role; pick the argument's role on the relation"
            ],
        ),
        # stance: a valid choice; a skip; a choice that does not exist; no choice at all.
        Case(Layer.STANCE, 0, "A", lambda t: [choice("against")]),
        Case(Layer.STANCE, 0, "B", lambda t: [], cancelled=True),
        Case(
            Layer.STANCE,
            1,
            "A",
            lambda t: [choice("maybe")],
            lambda t: ["label: 'maybe' is not one of ['favor', 'against', 'none']"],
        ),
        Case(
            Layer.STANCE,
            1,
            "B",
            lambda t: [],
            lambda t: ["no stance choice at all: pick one of favor, against, none"],
        ),
    ]


def write_seed_tasks(root: Path, ontology: Ontology) -> Path:
    """`tasks build` on a one-article seed: the tasks the projects are made from."""
    seeds = root / "seeds"
    seeds.mkdir(parents=True)
    (seeds / "test-doc.txt").write_text(SEED_TEXT, encoding="utf-8")
    build_tasks(load_articles(seeds), ontology, gazetteer_for(seeds, ontology), root / "tasks")
    return root / "tasks"


@dataclass
class Posted:
    cases: list[Case]
    projects: dict[Layer, int]
    users: dict[str, int]


def post_scenario(
    url: str, api_key: str, workspace: Workspace, title: str, ontology: Ontology
) -> Posted:
    """Create the three projects from a small seed and post every case of the scenario."""
    from label_studio_sdk import LabelStudio

    from newsanno.labelstudio import Client, Connection, push_projects

    conn = Connection(url, api_key)
    tasks_dir = write_seed_tasks(workspace.root / "build", ontology)
    summary = push_projects(workspace, conn, tasks_dir, title)
    projects = {p.layer: p.project.id for p in summary.projects}
    client = Client(conn)
    users = {
        who: client.ensure_user(f"annotator-{who.lower()}-{title[-8:]}@example.org", "Ann0tator!x9")
        for who in ("A", "B")
    }
    ls = LabelStudio(base_url=url, api_key=api_key)  # for skips and parent_prediction
    tasks = {layer: client.export_json(projects[layer]) for layer in LAYERS}
    cases = scenario(ontology)
    for case in cases:
        task = sorted(tasks[case.layer], key=lambda t: t["id"])[case.task]
        case.text, case.task_id = task["data"]["text"], task["id"]
        fields: dict[str, Any] = {
            "result": case.result(case.text),
            "completed_by": users[case.who],
            "lead_time": 12.5,
            "was_cancelled": case.cancelled,
        }
        if case.from_prediction:
            fields["parent_prediction"] = task["predictions"][0]
        created = ls.annotations.create(id=task["id"], **fields)
        case.annotation_id = int(created.id)
    return Posted(cases, projects, users)


# ---- against the real Label Studio ----------------------------------------------------------


@pytest.mark.integration
def test_import_from_label_studio_checks_every_record_and_reason(
    label_studio: Any, ls_workspace: Workspace, unique_title: str, ontology: Ontology
) -> None:
    posted = post_scenario(
        label_studio.url, label_studio.api_key, ls_workspace, unique_title, ontology
    )
    out = ls_workspace.annotations

    result = runner.invoke(app, ["annotations", "import", "--workspace", str(ls_workspace.root)])
    assert result.exit_code == 0, result.output
    first = {name: (out / name).read_bytes() for name in _files()}

    records = {
        r["annotation_id"]: r for layer in LAYERS for r in read_lines(out / f"{layer}.jsonl")
    }
    quarantine = {q["record"]["annotation"]["id"]: q for q in read_lines(out / QUARANTINE_FILE)}
    for case in posted.cases:
        aid = case.annotation_id
        if case.cancelled:
            assert aid not in records and aid not in quarantine
        elif case.errors is None:
            assert aid not in quarantine, quarantine.get(aid)
            _check_record(records[aid], case, posted, label_studio.url)
        else:
            assert aid not in records
            q = quarantine[aid]
            assert q["errors"] == case.errors(case.text), case
            assert q["record"]["layer"] == str(case.layer)
            assert q["record"]["source"] == {
                "url": label_studio.url,
                "project_id": posted.projects[case.layer],
                "task_id": case.task_id,
            }
            assert q["record"]["annotation"]["result"] == case.result(case.text)
    # Nothing lost, per layer; the summary table says the same.
    for layer in LAYERS:
        cases = [c for c in posted.cases if c.layer is layer]
        assert len(read_lines(out / f"{layer}.jsonl")) == sum(
            not c.cancelled and c.errors is None for c in cases
        )
    assert len(records) + len(quarantine) + 1 == len(posted.cases)
    assert "│ entities │    6 │     3 │           3 │       0 │         2 │          2 │" in (
        result.output
    )
    assert "│ stance   │    4 │     1 │           2 │       1 │         0 │          1 │" in (
        result.output
    )
    assert "│ total    │   15 │     5 │           9 │       1 │         2 │          2 │" in (
        result.output
    )

    # One project by id (its layer told by the tasks' meta), into another folder: same records.
    by_id = runner.invoke(
        app,
        [
            "annotations",
            "import",
            "--workspace",
            str(ls_workspace.root),
            "--project",
            str(posted.projects[Layer.EVENTS]),
            "--out",
            str(ls_workspace.root / "events-only"),
        ],
    )
    assert by_id.exit_code == 0, by_id.output
    only = ls_workspace.root / "events-only"
    assert (only / "events.jsonl").read_bytes() == first["events.jsonl"]
    assert (only / "entities.jsonl").read_bytes() == b""
    assert len(read_lines(only / QUARANTINE_FILE)) == 4

    # Re-import: the same bytes.
    again = runner.invoke(app, ["annotations", "import", "--workspace", str(ls_workspace.root)])
    assert again.exit_code == 0, again.output
    assert {name: (out / name).read_bytes() for name in _files()} == first

    # An annotator fixes an annotation in Label Studio: the new version replaces the old one.
    from label_studio_sdk import LabelStudio

    fixed = next(
        c for c in posted.cases if c.layer is Layer.STANCE and c.task == 1 and c.who == "A"
    )
    ls = LabelStudio(base_url=label_studio.url, api_key=label_studio.api_key)
    ls.annotations.update(id=fixed.annotation_id, result=[choice("favor")])
    strict = runner.invoke(
        app,
        ["annotations", "import", "--workspace", str(ls_workspace.root), "--strict"],
    )
    assert strict.exit_code == 1  # one stance annotation is still quarantined
    assert "8 annotations were quarantined (--strict)" in strict.output
    stance = read_lines(out / "stance.jsonl")
    assert [(r["annotation_id"], r["label"]) for r in stance] == sorted(
        [
            (next(c.annotation_id for c in posted.cases if c.layer is Layer.STANCE), "against"),
            (fixed.annotation_id, "favor"),
        ],
        key=lambda pair: pair[0],
    )
    assert fixed.annotation_id not in {
        q["record"]["annotation"]["id"] for q in read_lines(out / QUARANTINE_FILE)
    }


def _files() -> list[str]:
    return [f"{layer}.jsonl" for layer in LAYERS] + [QUARANTINE_FILE]


def _check_record(record: dict[str, Any], case: Case, posted: Posted, url: str) -> None:
    assert record["layer"] == str(case.layer)
    assert record["text"] == case.text
    assert record["segment_id"].startswith("test-doc:")
    assert record["document_id"] == "test-doc"
    assert record["annotator"] == f"annotator-{posted.users[case.who]}"
    assert "@" not in json.dumps(record)
    assert record["lead_time"] == 12.5
    assert record["ground_truth"] is False
    assert record["created_at"] and record["updated_at"]
    assert record["source"] == {
        "url": url,
        "project_id": posted.projects[case.layer],
        "task_id": case.task_id,
    }
    # The export fills `prediction` for every annotation of a predicted task; only the one that
    # started from it (parent_prediction) carries its model_version.
    if case.from_prediction:
        assert record["model_version"].startswith("newsanno-gazetteer-")
    else:
        assert record["model_version"] is None
    text = case.text
    if case.layer is Layer.ENTITIES:
        expected = [
            {
                "id": r["id"],
                "start": text.index(r["value"]["text"]),
                "end": text.index(r["value"]["text"]) + len(r["value"]["text"]),
                "text": r["value"]["text"],
                "label": r["value"]["labels"][0],
            }
            for r in case.result(text)
        ]
        assert record["entities"] == sorted(expected, key=lambda e: e["start"])
    elif case.layer is Layer.EVENTS:
        assert record["events"] == [
            {
                "id": "t1",
                "type": "Conflict.Attack",
                "trigger": {"start": 14, "end": 22, "text": "attacked"},
                "arguments": [
                    {
                        "role": "Attacker",
                        "start": 0,
                        "end": 13,
                        "text": "ISIS fighters",
                        "entity_type": "ORG",
                    },
                    {
                        "role": "Place",
                        "start": 23,
                        "end": 28,
                        "text": "Raqqa",
                        "entity_type": "GPE",
                    },
                ],
            }
        ]
    else:
        assert record["target"] == "ISIS"
        assert record["label"] == "against"


# ---- golden exports, offline ----------------------------------------------------------------


def test_live_golden_exports_import_with_every_reason(tmp_path: Path, ontology: Ontology) -> None:
    """The exports captured from Label Studio 1.23.2 import to the committed expected files.

    When the ontology changes on purpose, rewrite them: `newsanno annotations import --from-file
    tests/data/exports/live-entities.json --from-file …live-events.json --from-file
    …live-stance.json --out tests/data/exports/expected` (after removing the old ones)."""
    sources = [EXPORTS / f"live-{layer}.json" for layer in LAYERS]
    summary = import_annotations(sources, tmp_path, ontology)
    assert (summary.read, summary.valid, summary.quarantined, summary.skipped) == (15, 5, 9, 1)
    assert summary.realigned == 2
    for counts in summary.counts.values():  # nothing lost
        assert counts.read == counts.valid + counts.quarantined + counts.skipped
    for name in _files():
        assert (tmp_path / name).read_bytes() == (EXPORTS / "expected" / name).read_bytes(), name


def test_converted_records_are_already_canonical(ontology: Ontology) -> None:
    """The converter's valid records are written as they are: each is exactly its canonical form
    (`Record.from_dict(...).to_dict()`), with no field more or less, in every layer."""
    converter = Converter(ontology)
    seen: set[str] = set()
    for layer in LAYERS:
        path = EXPORTS / f"live-{layer}.json"
        for _, _, task in iter_export(path.read_bytes(), str(path)):
            for annotation in task["annotations"]:
                if annotation.get("was_cancelled"):
                    continue
                done = converter.convert(task, annotation, layer, "http://x", 1)
                if done.record is None:
                    continue
                assert done.record == Record.from_dict(done.record).to_dict()
                assert dumps_line(done.record) == dumps_line(canonical_dict(done.record))
                seen.add(str(layer))
    assert seen == {str(layer) for layer in LAYERS}


def test_utf16_offsets_are_realigned_and_counted(tmp_path: Path, ontology: Ontology) -> None:
    result = runner.invoke(
        app,
        [
            "annotations",
            "import",
            "--from-file",
            str(EXPORTS / "utf16-offsets.json"),
            "--out",
            str(tmp_path),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "│ entities │    2 │     2 │           0 │       0 │         1 │          2 │" in (
        result.output
    )
    records = read_lines(tmp_path / "entities.jsonl")
    for record in records:
        for e in record["entities"]:
            assert record["text"][e["start"] : e["end"]] == e["text"]
    # Annotator 7's spans came in UTF-16 code units (two units per emoji before them): "Raqqa"
    # follows two emoji.
    by_annotator = {r["annotator"]: r["entities"] for r in records}
    assert [(e["start"], e["end"]) for e in by_annotator["annotator-7"]] == [(0, 4), (23, 28)]
    assert by_annotator["annotator-8"] == by_annotator["annotator-7"]


def test_malformed_export_is_one_clear_line(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        [
            "annotations",
            "import",
            "--from-file",
            str(EXPORTS / "malformed.json"),
            "--out",
            str(tmp_path),
        ],
    )
    assert result.exit_code == 1
    assert result.output.strip() == (
        f"Error: {EXPORTS / 'malformed.json'}:36: not valid JSON in task 1 at column 3 "
        "(unexpected character, expected ',' or '}'). Export the project again as JSON (the "
        "full export, not JSON_MIN or CSV) or fix the file."
    )
    assert not any(tmp_path.iterdir())  # nothing written


def test_no_projects_to_import_from(tmp_path: Path) -> None:
    result = runner.invoke(app, ["annotations", "import", "--workspace", str(tmp_path)])
    assert result.exit_code == 1
    assert result.output.strip() == (
        f"Error: No projects to import from: {tmp_path / '.newsanno' / 'projects.json'} lists "
        "none. Run 'newsanno project create', or name them with --project ID or --from-file "
        "EXPORT.json."
    )
    assert not (tmp_path / "annotations").exists()


def test_json_min_export_is_refused(tmp_path: Path) -> None:
    export = tmp_path / "min.json"
    export.write_text(json.dumps([{"id": 1, "text": "ISIS", "label": []}]), encoding="utf-8")
    result = runner.invoke(
        app, ["annotations", "import", "--from-file", str(export), "--out", str(tmp_path / "o")]
    )
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: {export}: task 0 has no 'data' object")


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "1: the file is empty, not a Label Studio export"),
        (b'{"id": 1}', "1: not a Label Studio export: it must be a JSON array of tasks"),
        (b'[{"id": 1, "data": {}}', "1: the export ends before its closing ']' (cut short?)"),
        (b"[1, 2]", "1: task 0 is not a JSON object (it starts b'1, 2]')"),
    ],
)
def test_not_an_export(tmp_path: Path, ontology: Ontology, content: bytes, reason: str) -> None:
    export = tmp_path / "export.json"
    export.write_bytes(content)
    with pytest.raises(ExportFormatError) as exc:
        import_annotations([export], tmp_path / "out", ontology)
    assert str(exc.value).startswith(f"{export}:{reason}")


def test_updated_annotations_replace_old_versions(tmp_path: Path, ontology: Ontology) -> None:
    """A newer export of the same annotation replaces it, also when the new one is invalid;
    records of other annotations already in OUT stay."""
    export = orjson.loads((EXPORTS / "utf16-offsets.json").read_bytes())
    old = tmp_path / "old.json"
    old.write_bytes(orjson.dumps(export))
    import_annotations([old], tmp_path / "out", ontology)
    first = read_lines(tmp_path / "out" / "entities.jsonl")
    assert len(first) == 2

    task = export[0]
    task["annotations"] = [dict(task["annotations"][0])]
    task["annotations"][0]["result"] = [
        {
            **task["annotations"][0]["result"][0],
            "value": {"start": 0, "end": 4, "text": "ISIS", "labels": ["NOPE"]},
        }
    ]
    task["annotations"][0]["updated_at"] = "2030-01-01T00:00:00Z"
    new = tmp_path / "new.json"
    new.write_bytes(orjson.dumps(export))
    summary = import_annotations([new], tmp_path / "out", ontology)
    assert (summary.read, summary.quarantined) == (1, 1)
    kept = read_lines(tmp_path / "out" / "entities.jsonl")
    assert [r["annotation_id"] for r in kept] == [first[1]["annotation_id"]]
    assert [
        q["record"]["annotation"]["id"] for q in read_lines(tmp_path / "out" / QUARANTINE_FILE)
    ] == [first[0]["annotation_id"]]

    # Both exports in one import: the newest version wins, whatever the order.
    for order in ([old, new], [new, old]):
        out = tmp_path / f"both-{order[0].stem}"
        summary = import_annotations(order, out, ontology)
        assert summary.superseded == 1
        assert len(read_lines(out / "entities.jsonl")) == 1
        assert len(read_lines(out / QUARANTINE_FILE)) == 1


def test_layer_is_told_without_meta(tmp_path: Path, ontology: Ontology) -> None:
    """Tasks without meta.layer: stance by data.target, others by the controls their results use;
    an empty annotation takes the layer of its export; with none to go by, it is quarantined."""
    text = "ISIS fighters attacked Raqqa."
    data = {"text": text, "document_id": "d", "segment_id": "d:0-29"}

    def task(tid: int, result: list[Any], **extra: Any) -> dict[str, Any]:
        ann = {"id": tid, "completed_by": 1, "result": result, "was_cancelled": False}
        return {"id": tid, "data": {**data, **extra}, "annotations": [ann]}

    export = tmp_path / "export.json"
    export.write_bytes(
        orjson.dumps(
            [
                task(1, []),  # no result: takes the layer the rest of the export shows
                task(2, [span(text, "Raqqa", "label", "GPE", "e1")]),
                task(3, [choice("none")], target="ISIS"),
            ]
        )
    )
    summary = import_annotations([export], tmp_path / "out", ontology)
    assert {k: (c.read, c.valid) for k, c in summary.counts.items()} == {
        "entities": (2, 2),
        "events": (0, 0),
        "stance": (1, 1),
    }
    lonely = tmp_path / "lonely.json"
    lonely.write_bytes(orjson.dumps([task(4, [])]))
    summary = import_annotations([lonely], tmp_path / "out2", ontology)
    assert summary.counts["(layer unknown)"].quarantined == 1
    [q] = read_lines(tmp_path / "out2" / QUARANTINE_FILE)
    assert q["errors"][0].startswith("cannot tell the layer")


def test_annotator_is_a_pseudonym_never_the_email(ontology: Ontology) -> None:
    text = "ISIS fighters attacked Raqqa."
    task = {"id": 5, "data": {"text": text, "document_id": "d", "segment_id": "d:0-29"}}
    ann = {
        "id": 9,
        "completed_by": {"id": 4, "email": "someone@example.org"},
        "result": [span(text, "Raqqa", "label", "GPE", "e1")],
    }
    done = Converter(ontology).convert(task, ann, Layer.ENTITIES, None)
    assert done.record is not None
    assert done.record["annotator"] == "annotator-4"
    assert "example.org" not in json.dumps(done.record)


# ---- splitting exports --------------------------------------------------------------------

tricky_strings = st.sampled_from(
    ['}, {"id": 1, "annotations": [', "}, {", "}]", '\\"}', "😀", "plain", "", '{"id": 2,']
)
# Integers within 64 bits: Label Studio's ids are, and orjson (like most JSON parsers) reads a
# larger one as a float.
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | tricky_strings
    | st.text(max_size=5),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.sampled_from(["id", "annotations", "x", "data"]), children, max_size=3)
    ),
    max_leaves=12,
)
tasks_strategy = st.lists(
    st.fixed_dictionaries(
        {"id": st.integers(0, 10**6), "annotations": st.lists(json_values, max_size=3)},
        optional={"data": json_values, "meta": json_values},
    ),
    max_size=6,
)


@settings(max_examples=200, deadline=None)
@given(tasks=tasks_strategy, indent=st.sampled_from([None, 1, 2]), spaced=st.booleans())
def test_iter_export_finds_every_task(
    tasks: list[dict[str, Any]], indent: Any, spaced: bool
) -> None:
    separators = (", ", ": ") if spaced else (",", ":")
    raw = json.dumps(tasks, indent=indent, separators=separators, ensure_ascii=False).encode()
    assert [task for _, _, task in iter_export(raw, "x")] == tasks


def test_iter_export_when_key_order_changes() -> None:
    tasks = [{"id": 1, "annotations": []}, {"data": {"a": "}, {"}, "id": 2}, {"id": 3, "x": 1}]
    raw = json.dumps(tasks).encode()
    assert [t for _, _, t in iter_export(raw, "x")] == tasks


# ---- Hypothesis: spans survive the Label Studio result format -------------------------------

texts = st.text(
    alphabet=st.sampled_from(list("abc XYZ,.'\"") + ["é", "\U0001f600", "\u4e2d", "\n"]),
    min_size=1,
    max_size=40,
)


@st.composite
def text_and_spans(draw: st.DrawFn) -> tuple[str, list[tuple[int, int, str, str]]]:
    text = draw(texts)
    labels = ["PER", "ORG", "GPE", "DATE"]
    spans = []
    for i in range(draw(st.integers(0, 4))):
        start = draw(st.integers(0, len(text) - 1))
        end = draw(st.integers(start + 1, len(text)))
        spans.append((start, end, draw(st.sampled_from(labels)), f"r{i}"))
    return text, spans


@settings(max_examples=200, deadline=None)
@given(data=text_and_spans(), utf16=st.booleans())
def test_spans_survive_label_studio_round_trip(
    data: tuple[str, list[Any]], utf16: bool, ontology: Ontology
) -> None:
    text, spans = data
    result = []
    for start, end, label, rid in spans:
        s, e = (utf16_units(text, start), utf16_units(text, end)) if utf16 else (start, end)
        result.append(
            {
                "id": rid,
                "from_name": "label",
                "to_name": "text",
                "type": "labels",
                "value": {"start": s, "end": e, "text": text[start:end], "labels": [label]},
            }
        )
    task = {"id": 1, "data": {"text": text, "document_id": "d", "segment_id": "d:0-1"}}
    ann = {"id": 2, "completed_by": 3, "result": result}
    done = Converter(ontology).convert(task, ann, Layer.ENTITIES, None)
    assert done.errors == []
    assert done.record is not None
    expected, moved = [], 0
    for start, end, label, rid in spans:
        s16, e16 = utf16_units(text, start), utf16_units(text, end)
        both = e16 <= len(text) and text[s16:e16] == text[start:end]
        if utf16 and (s16, e16) != (start, end) and both:
            # Both readings give the span's text ("XX😀XX", "X"): Label Studio counts code points,
            # so the offsets are taken as they are — the same text, another occurrence of it.
            expected.append((s16, e16, label, rid))
        else:
            expected.append((start, end, label, rid))
            moved += utf16 and (s16, e16) != (start, end)
    back = sorted((e["start"], e["end"], e["label"], e["id"]) for e in done.record["entities"])
    assert back == sorted(expected)
    for e in done.record["entities"]:
        assert text[e["start"] : e["end"]] == e["text"]
    assert done.realigned == moved


def test_realign_only_when_utf16_reading_matches() -> None:
    text = "\U0001f600 ISIS"
    assert realign(text, 3, 7, "ISIS") == (2, 6)
    assert realign(text, 2, 6, "ISIS") is None  # already right
    assert realign(text, 3, 7, "IRIS") is None  # no reading matches: the rules will say so
    assert realign("no emoji", 0, 2, "ne") is None


# ---- capturing the live golden exports ------------------------------------------------------


def capture(url: str, api_key: str, out: Path) -> None:
    """Post the scenario to a Label Studio 1.23 and save each project's full JSON export."""
    import tempfile
    import uuid

    from newsanno.labelstudio import Client, Connection

    ontology = Ontology.load(REPO / "schema" / "ontology.json")
    with tempfile.TemporaryDirectory() as tmp:
        ws = Workspace(Path(tmp))
        ws.state.mkdir(parents=True)
        posted = post_scenario(url, api_key, ws, f"golden {uuid.uuid4().hex[:8]}", ontology)
    client = Client(Connection(url, api_key))
    for layer, pid in posted.projects.items():
        (out / f"live-{layer}.json").write_bytes(client.export_tasks(pid))
    expected = out / "expected"
    import_annotations([out / f"live-{layer}.json" for layer in LAYERS], expected, ontology)


if __name__ == "__main__":  # python tests/test_importer.py capture URL API_KEY
    if len(sys.argv) != 4 or sys.argv[1] != "capture":
        sys.exit("usage: python tests/test_importer.py capture URL API_KEY")
    os.environ.pop("LABEL_STUDIO_URL", None)
    capture(sys.argv[2], sys.argv[3], EXPORTS)
