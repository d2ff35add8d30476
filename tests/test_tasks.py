"""`newsanno tasks build`: tasks, configs, determinism, errors, and the committed tasks/."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner

from newsanno.articles import load_articles
from newsanno.cli import app
from newsanno.layers import Layer
from newsanno.ontology import Ontology
from newsanno.schemas import write_schemas
from newsanno.tasks import build_tasks, gazetteer_for, targets_mentioned

REPO = Path(__file__).resolve().parents[1]
SEEDS = REPO / "seeds"
runner = CliRunner()


@pytest.fixture(scope="module")
def ontology() -> Ontology:
    return Ontology.load(REPO / "schema" / "ontology.json")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, ontology: Ontology) -> Path:
    out = tmp_path_factory.mktemp("built") / "tasks"
    build_tasks(load_articles(SEEDS), ontology, gazetteer_for(SEEDS, ontology), out)
    return out


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_committed_tasks_are_not_stale(built: Path) -> None:
    """tasks/ is committed so reviewers see what annotators see; rebuild it when this fails:
    `newsanno tasks build`."""
    for path in sorted(built.iterdir()):
        committed = REPO / "tasks" / path.name
        assert committed.read_bytes() == path.read_bytes(), f"tasks/{path.name} is stale"
    assert sorted(p.name for p in (REPO / "tasks").iterdir()) == sorted(
        p.name for p in built.iterdir()
    )


def test_committed_schemas_are_not_stale(tmp_path: Path, ontology: Ontology) -> None:
    for path in write_schemas(ontology, tmp_path):
        assert (REPO / "schema" / path.name).read_bytes() == path.read_bytes(), (
            f"schema/{path.name} is stale: run `newsanno schema build`"
        )


@pytest.mark.parametrize("layer", list(Layer))
def test_every_task_matches_its_schema_and_the_seed(
    built: Path, ontology: Ontology, layer: Layer
) -> None:
    validator = jsonschema.Draft202012Validator(ontology.task_schema(layer))
    texts = {a.document_id: a.text for a in load_articles(SEEDS)}
    tasks = lines(built / f"{layer}.jsonl")
    assert tasks
    for task in tasks:
        validator.validate(task)
        d = task["data"]
        assert texts[d["document_id"]][d["doc_start"] : d["doc_end"]] == d["text"]
        assert d["segment_id"] == f"{d['document_id']}:{d['doc_start']}-{d['doc_end']}"
        for prediction in task.get("predictions", []):
            for region in prediction["result"]:
                v = region["value"]
                assert d["text"][v["start"] : v["end"]] == v["text"]


def test_stance_tasks_are_sentence_target_pairs(built: Path, ontology: Ontology) -> None:
    stance = lines(built / "stance.jsonl")
    pairs = [(t["data"]["segment_id"], t["data"]["target"]) for t in stance]
    assert len(pairs) == len(set(pairs))
    for t in stance:
        assert t["data"]["target"] in targets_mentioned(t["data"]["text"], ontology)
    # every sentence that names a target has its task
    for t in lines(built / "entities.jsonl"):
        for target in targets_mentioned(t["data"]["text"], ontology):
            assert (t["data"]["segment_id"], target) in pairs


def test_alias_matching_is_whole_word(ontology: Ontology) -> None:
    assert targets_mentioned("US-backed militias took Raqqa", ontology) == ["United States"]
    assert targets_mentioned("BUS drivers and USB sticks", ontology) == []
    assert targets_mentioned("Daesh's last stronghold", ontology) == ["ISIS"]


def test_boilerplate_never_reaches_tasks(built: Path) -> None:
    texts = [t["data"]["text"] for t in lines(built / "entities.jsonl")]
    assert not any("JUST WATCHED" in t or "MUST WATCH" in t or "03:15" in t for t in texts)
    assert not any(t.startswith("(CNN)") for t in texts)
    assert "ISIS still planning for future after retreat" not in texts


def test_same_input_same_bytes(tmp_path: Path, built: Path, ontology: Ontology) -> None:
    again = tmp_path / "again"
    build_tasks(load_articles(SEEDS), ontology, gazetteer_for(SEEDS, ontology), again)
    for path in built.iterdir():
        assert (again / path.name).read_bytes() == path.read_bytes()


def test_cli_prints_a_summary(tmp_path: Path) -> None:
    result = runner.invoke(app, ["tasks", "build", str(SEEDS), "--out", str(tmp_path / "t")])
    assert result.exit_code == 0, result.output
    assert "stance tasks" in result.output and "boilerplate lines dropped" in result.output


def test_not_utf8_seed_is_one_line_and_nothing_written(tmp_path: Path) -> None:
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "bad.txt").write_bytes(b"Caf\xe9 au lait.")
    out = tmp_path / "tasks"
    out.mkdir()
    (out / "keep.txt").write_text("previous build")
    result = runner.invoke(app, ["tasks", "build", str(seeds), "--out", str(out)])
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        f"Error: {seeds / 'bad.txt'}: not UTF-8 (invalid continuation byte at byte 3). "
        "Save the article as UTF-8."
    )
    assert "Traceback" not in result.output
    assert [p.name for p in out.iterdir()] == ["keep.txt"]


def test_empty_seeds_folder(tmp_path: Path) -> None:
    (tmp_path / "seeds").mkdir()
    result = runner.invoke(
        app, ["tasks", "build", str(tmp_path / "seeds"), "--out", str(tmp_path / "o")]
    )
    assert result.exit_code == 1
    assert "no .txt articles found" in result.stderr
    assert not (tmp_path / "o").exists()


def test_broken_ontology(tmp_path: Path) -> None:
    bad = tmp_path / "ontology.json"
    bad.write_text('{"entity_types": []', encoding="utf-8")
    result = runner.invoke(
        app, ["tasks", "build", str(SEEDS), "--out", str(tmp_path / "o"), "--ontology", str(bad)]
    )
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: {bad}:1: not valid JSON")
    assert not (tmp_path / "o").exists()


def test_failure_midway_leaves_previous_tasks(tmp_path: Path, ontology: Ontology) -> None:
    seeds = tmp_path / "seeds"
    shutil.copytree(SEEDS, seeds)
    (seeds / "zzz.txt").write_bytes(b"\xff\xfe broken")  # sorted last: fails after the first
    out = tmp_path / "tasks"
    build_tasks(load_articles(SEEDS), ontology, gazetteer_for(SEEDS, ontology), out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    result = runner.invoke(app, ["tasks", "build", str(seeds), "--out", str(out)])
    assert result.exit_code == 1
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
