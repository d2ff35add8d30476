"""`newsanno annotations validate`: every problem as `FILE:LINE path: message`, exit 1 if any."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from newsanno.cli import app
from newsanno.layers import LAYERS
from newsanno.ontology import Ontology
from newsanno.validate import RecordChecker, validate_files

REPO = Path(__file__).resolve().parents[1]
EXPORTS = Path(__file__).parent / "data" / "exports"
EXPECTED = EXPORTS / "expected"
runner = CliRunner()


@pytest.fixture(scope="module")
def ontology() -> Ontology:
    return Ontology.load(REPO / "schema" / "ontology.json")


def first_record(layer: str) -> dict[str, Any]:
    return orjson.loads((EXPECTED / f"{layer}.jsonl").read_bytes().splitlines()[0])


def test_imported_records_have_no_problems() -> None:
    files = [str(EXPECTED / f"{layer}.jsonl") for layer in LAYERS]
    result = runner.invoke(app, ["annotations", "validate", *files])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "No problems in 3 files."


def test_every_problem_with_file_line_and_path(tmp_path: Path, ontology: Ontology) -> None:
    good = first_record("entities")  # "ISIS fighters attacked Raqqa on Friday." (39)
    event = first_record("events")

    ids = iter(range(100, 200))

    def entities(**entity: Any) -> dict[str, Any]:
        rec = copy.deepcopy(good)
        rec["annotation_id"] = next(ids)
        rec["entities"] = [{**good["entities"][0], **entity}]
        return rec

    wrong_role = copy.deepcopy(event)
    wrong_role["annotation_id"] = 900
    wrong_role["events"][0]["arguments"][0]["role"] = "Victim"
    no_segment = copy.deepcopy(good)
    del no_segment["segment_id"]
    no_segment["annotation_id"] = 901
    lines = [
        orjson.dumps(good),
        b'{"layer": "entities",',
        orjson.dumps(entities(label="WEAPON")),
        orjson.dumps(entities(end=99)),
        orjson.dumps(entities(text="ISIL")),
        orjson.dumps(entities(start=5, end=3)),
        orjson.dumps(no_segment),
        orjson.dumps({**good, "layer": "entity"}),
        b"",
        orjson.dumps(wrong_role),
        orjson.dumps(good),
    ]
    path = tmp_path / "records.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")

    result = runner.invoke(app, ["annotations", "validate", str(path)])
    assert result.exit_code == 1
    labels = list(ontology.entity_labels)
    f = str(path)
    assert result.output.splitlines() == [
        f"{f}:2 (root): not valid JSON (unexpected end of data at column 22)",
        f"{f}:3 entities/0/label: 'WEAPON' is not one of {labels!r}",
        f"{f}:4 entities/0/end: 99 is past the end of the text (39)",
        f'{f}:5 entities/0/text: text[0:13] is "ISIS fighters", not "ISIL"',
        f"{f}:6 entities/0/end: end 3 must be greater than start 5",
        f"{f}:7 (root): 'segment_id' is a required property",
        f"{f}:8 layer: 'entity' is not one of entities, events, stance",
        f"{f}:10 events/0/arguments/0/role: 'Victim' is not a role of Conflict.Attack "
        "(allowed: Attacker, Target, Instrument, Place)",
        f"{f}:11 annotation_id: {good['annotation_id']} appears twice (first on line 1)",
        "9 problems in 1 of 1 files.",
    ]


def test_export_files_are_checked_like_the_import(ontology: Ontology) -> None:
    """Each problem of an export names its task and annotation; they are the quarantine's."""
    problems = validate_files([EXPORTS / f"live-{layer}.json" for layer in LAYERS], ontology)
    quarantine = [
        orjson.loads(line) for line in (EXPECTED / "quarantine.jsonl").read_bytes().splitlines()
    ]
    expected = sorted(
        f"task {q['record']['source']['task_id']}, annotation {q['record']['annotation']['id']}: "
        f"{error}"
        for q in quarantine
        for error in q["errors"]
    )
    assert sorted(p.message for p in problems) == expected
    assert all(p.line == 1 and p.path.split("/")[1] == "annotations" for p in problems)
    assert {Path(p.file).name for p in problems} == {f"live-{layer}.json" for layer in LAYERS}


def test_malformed_export_is_a_problem_on_its_line(ontology: Ontology) -> None:
    path = EXPORTS / "malformed.json"
    assert [str(p) for p in validate_files([path], ontology)] == [
        f"{path}:36 (root): not valid JSON in task 1 at column 3 "
        "(unexpected character, expected ',' or '}')"
    ]


def test_quarantine_lines_are_reported(ontology: Ontology) -> None:
    problems = validate_files([EXPECTED / "quarantine.jsonl"], ontology)
    assert len(problems) == 11
    assert problems[0].path == "(quarantined)"
    assert problems[0].message.startswith("entities/0/label (region e1): 'COUNTRY' is not one of")


def test_missing_file_is_one_clear_line(tmp_path: Path) -> None:
    result = runner.invoke(app, ["annotations", "validate", str(tmp_path / "nope.jsonl")])
    assert result.exit_code == 1
    assert result.output.strip() == (
        f"Error: {tmp_path / 'nope.jsonl'}: no such file. Name record files "
        "(annotations/*.jsonl) or export files."
    )


# ---- the fast path says what jsonschema says ------------------------------------------------

mutations = st.lists(
    st.tuples(
        st.sampled_from(
            [
                "layer",
                "text",
                "annotator",
                "segment_id",
                "ground_truth",
                "source",
                "entities",
                "events",
                "label",
                "target",
                "annotation_id",
                "extra",
            ]
        ),
        st.one_of(
            st.none(),
            st.integers(-3, 120),
            st.text(max_size=4),
            st.sampled_from(["PER", "favor", "ISIS", "entities", "stance"]),
            st.just([{"id": "x", "start": 0, "end": 4, "text": "ISIS", "label": "ORG"}]),
            st.just([{"id": "x", "start": "0", "end": 4, "text": "", "label": "ORG", "more": 1}]),
        ),
    ),
    max_size=4,
)


@settings(max_examples=300, deadline=None)
@given(layer=st.sampled_from([str(layer) for layer in LAYERS]), changes=mutations)
def test_fast_path_agrees_with_jsonschema(
    layer: str, changes: list[tuple[str, Any]], ontology: Ontology
) -> None:
    pytest.importorskip("jsonschema_rs")
    record = first_record(layer)
    for key, value in changes:
        record[key] = value
    fast, slow = RecordChecker(ontology), RecordChecker(ontology, fast=False)
    assert fast.problems(record) == slow.problems(record)
