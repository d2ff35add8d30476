"""The seed article's gold annotations: reproducible from `scripts/seed_gold.py`, valid, complete
(one record per task and layer), on token boundaries, flat, and consistent with themselves."""

from __future__ import annotations

import importlib.util
import re
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType

import jsonschema
import pytest

from newsanno.articles import load_articles
from newsanno.layers import LAYERS, Layer
from newsanno.ontology import Ontology
from newsanno.records import Record, iter_jsonl, read_records
from newsanno.segment import tokenize
from newsanno.tasks import build_tasks, gazetteer_for, read_tasks

REPO = Path(__file__).resolve().parents[1]
SEEDS = REPO / "seeds"
GOLD_FILE = SEEDS / "cnn-2017-11-03-deir-ezzor.annotations.jsonl"


def _load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("seed_gold", REPO / "scripts" / "seed_gold.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["seed_gold"] = module  # dataclasses look their module up while being built
    spec.loader.exec_module(module)
    return module


seed_gold = _load_script()


@pytest.fixture(scope="module")
def ontology() -> Ontology:
    return Ontology.load(REPO / "schema" / "ontology.json")


@pytest.fixture(scope="module")
def records() -> list[Record]:
    return read_records(GOLD_FILE)


@pytest.fixture(scope="module")
def built_tasks(tmp_path_factory: pytest.TempPathFactory, ontology: Ontology) -> Path:
    out = tmp_path_factory.mktemp("tasks") / "tasks"
    build_tasks(load_articles(SEEDS), ontology, gazetteer_for(SEEDS, ontology), out)
    return out


def all_spans(r: Record) -> list[tuple[str, int, int, str]]:
    """(what, start, end, text) of every entity, trigger and argument of a record."""
    spans = [("entity", e.start, e.end, e.text) for e in r.entities]
    for ev in r.events:
        spans.append(("trigger", ev.trigger.start, ev.trigger.end, ev.trigger.text))
        spans += [(f"{ev.type}/{a.role}", a.start, a.end, a.text) for a in ev.arguments]
    return spans


def test_committed_file_is_what_the_script_writes() -> None:
    """Rerun `.venv/bin/python scripts/seed_gold.py` and commit the result when this fails."""
    produced = seed_gold.render(seed_gold.build_records())
    assert GOLD_FILE.read_bytes() == produced
    assert seed_gold.render(seed_gold.build_records()) == produced  # same input, same bytes


def test_every_record_matches_its_schema(ontology: Ontology) -> None:
    validators = {
        layer: jsonschema.Draft202012Validator(ontology.record_schema(layer)) for layer in LAYERS
    }
    problems = []
    for lineno, raw in iter_jsonl(GOLD_FILE):
        for error in validators[Layer(raw["layer"])].iter_errors(raw):
            problems.append(f"line {lineno}: {error.message}")
    assert problems == []


def test_records_are_gold_and_carry_no_server_detail(records: list[Record]) -> None:
    for r in records:
        assert r.annotator == "seed-gold" and r.ground_truth
        assert (r.created_at, r.updated_at, r.lead_time, r.model_version) == (None,) * 4
        assert (r.source.url, r.source.project_id, r.source.task_id) == (None, None, None)
        suffix = f":{r.target}" if r.layer is Layer.STANCE else ""
        assert r.annotation_id == f"seed:{r.segment_id}{suffix}"


def test_spans_slice_the_text_and_roles_fit_the_event_type(
    records: list[Record], ontology: Ontology
) -> None:
    for r in records:
        for what, start, end, text in all_spans(r):
            assert r.text[start:end] == text, (r.segment_id, what, text)
        for ev in r.events:
            for a in ev.arguments:
                assert a.role in ontology.roles_by_event[ev.type], (r.segment_id, ev.type, a.role)


@pytest.mark.parametrize("layer", list(Layer))
def test_one_gold_record_per_task(layer: Layer, records: list[Record], built_tasks: Path) -> None:
    tasks = read_tasks(built_tasks / f"{layer}.jsonl")
    task_keys = Counter((t["data"]["segment_id"], t["data"].get("target", "")) for t in tasks)
    gold_keys = Counter(r.task_key for r in records if r.layer is layer)
    assert max(task_keys.values()) == 1
    assert gold_keys == task_keys  # every task has exactly one, and no record lacks a task
    texts = {t["data"]["segment_id"]: t["data"]["text"] for t in tasks}
    assert all(r.text == texts[r.segment_id] for r in records if r.layer is layer)


def test_expected_task_counts(records: list[Record]) -> None:
    """The seed article: 22 sentences and 37 (sentence, target) stance tasks."""
    per_layer = Counter(str(r.layer) for r in records)
    assert per_layer == {"entities": 22, "events": 22, "stance": 37}


def test_every_span_is_on_token_boundaries(records: list[Record]) -> None:
    """The dataset's BIO columns come from `segment.tokenize`: a span that cuts a token is lost."""
    off = []
    for r in records:
        tokens = tokenize(r.text)
        starts, ends = {t.start for t in tokens}, {t.end for t in tokens}
        off += [
            (r.segment_id, what, text)
            for what, start, end, text in all_spans(r)
            if start not in starts or end not in ends
        ]
    assert off == []


def test_entity_spans_do_not_overlap(records: list[Record]) -> None:
    for r in records:
        spans = sorted((e.start, e.end) for e in r.entities)
        for (_, end), (start, _) in zip(spans, spans[1:], strict=False):
            assert start >= end, (r.segment_id, r.text)


def test_entity_ids_and_event_ids_count_up_in_text_order(records: list[Record]) -> None:
    for r in records:
        assert [e.id for e in r.entities] == [f"e{i}" for i in range(1, len(r.entities) + 1)]
        assert [e.start for e in r.entities] == sorted(e.start for e in r.entities)
        assert [e.id for e in r.events] == [f"ev{i}" for i in range(1, len(r.events) + 1)]


def test_a_name_marked_once_is_marked_everywhere(records: list[Record]) -> None:
    """Consistency: every token-aligned occurrence of a surface form that is an entity somewhere
    lies inside an entity span (the same one, or a longer name such as "Syrian Arab Army")."""
    entity_records = [r for r in records if r.layer is Layer.ENTITIES]
    labels: dict[str, set[str]] = {}
    for r in entity_records:
        for e in r.entities:
            labels.setdefault(e.text, set()).add(e.label)
    unmarked = []
    for r in entity_records:
        tokens = tokenize(r.text)
        starts, ends = {t.start for t in tokens}, {t.end for t in tokens}
        for surface in labels:
            for m in re.finditer(re.escape(surface), r.text):
                if m.start() not in starts or m.end() not in ends:
                    continue
                if not any(e.start <= m.start() and m.end() <= e.end for e in r.entities):
                    unmarked.append((surface, r.text))
    assert unmarked == []
    assert {s: ls for s, ls in labels.items() if len(ls) > 1} == {}  # one surface, one label


def test_argument_on_an_entity_span_has_the_entity_label(records: list[Record]) -> None:
    entities = {(r.segment_id, e.start, e.end): e.label for r in records for e in r.entities}
    mismatched = [
        (r.segment_id, a.text, a.entity_type, entities[(r.segment_id, a.start, a.end)])
        for r in records
        for ev in r.events
        for a in ev.arguments
        if entities.get((r.segment_id, a.start, a.end), a.entity_type) != a.entity_type
    ]
    assert mismatched == []


def test_the_annotation_covers_the_article(records: list[Record], ontology: Ontology) -> None:
    """Not a quota, a smoke alarm: a gold file that lost its annotations fails here."""
    labels = Counter(e.label for r in records for e in r.entities)
    assert {"PER", "NORP", "ORG", "GPE", "LOC", "DATE"} <= set(labels)
    assert labels["ORG"] >= 20 and labels["DATE"] >= 8
    types = Counter(ev.type for r in records for ev in r.events)
    assert set(types) == set(ontology.event_labels)
    stance = Counter(r.label for r in records if r.layer is Layer.STANCE)
    assert set(stance) == set(ontology.stance_label_names)


def test_guidelines_cover_every_label(ontology: Ontology) -> None:
    text = (REPO / "schema" / "GUIDELINES.md").read_text(encoding="utf-8")
    names = (*ontology.entity_labels, *ontology.event_labels, *ontology.stance_label_names)
    assert [n for n in names if n not in text] == []
    assert "<" not in re.sub(r"`[^`]*`", "", text)  # plain Markdown: Label Studio shows it


def test_find_span_fails_loudly() -> None:
    text = "ISIS' defeat follows the loss of Raqqa to ISIS rivals in Syrian towns."
    assert seed_gold.find_span(text, "Raqqa", "x") == (33, 38)
    assert seed_gold.find_span(text, ("ISIS", 1), "x") == (42, 46)
    with pytest.raises(seed_gold.GoldError, match="occurs 2 times; give an occurrence index"):
        seed_gold.find_span(text, "ISIS", "x")
    with pytest.raises(seed_gold.GoldError, match="occurs once; drop the occurrence index"):
        seed_gold.find_span(text, ("Raqqa", 0), "x")
    with pytest.raises(seed_gold.GoldError, match="'Syria' is not on token boundaries"):
        seed_gold.find_span(text, "Syria", "x")
    with pytest.raises(seed_gold.GoldError, match="'Damascus' is not in the sentence"):
        seed_gold.find_span(text, "Damascus", "x")


def test_a_gold_entry_must_name_exactly_one_sentence(monkeypatch: pytest.MonkeyPatch) -> None:
    segments = seed_gold.load_segments()
    gold = seed_gold.GOLD
    monkeypatch.setattr(seed_gold, "GOLD", (*gold, seed_gold.Gold("At the same time")))
    with pytest.raises(seed_gold.GoldError, match="matches 2 sentences, not 1"):
        seed_gold.match_sentences(segments)
    monkeypatch.setattr(seed_gold, "GOLD", gold[:-1])
    with pytest.raises(seed_gold.GoldError, match='no gold entry for sentence "The Euphrates'):
        seed_gold.match_sentences(segments)
