"""`newsanno dataset publish`: the folder loads back with `datasets.load_dataset`, config by config.

Every load gets its own `cache_dir`: the datasets cache of a local folder is keyed on the folder's
name, the config and the card, not on the data files, so a shared cache would read an older
folder's data. The Hub upload is the one thing faked here (there is no network): a fake client
records the calls `push_to_hub` makes.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import datasets  # noqa: E402
import pytest  # noqa: E402
import yaml  # noqa: E402
from datasets.info import DatasetInfosDict  # noqa: E402
from huggingface_hub import DatasetCard  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from newsanno.cli import app  # noqa: E402
from newsanno.errors import PublishError  # noqa: E402
from newsanno.export import (  # noqa: E402
    MAX_LISTED,
    _Rows,
    assign_splits,
    bio_tags,
    features_for,
    publish,
    push_to_hub,
    spans_from_bio,
    split_counts,
)
from newsanno.layers import LAYERS, Layer  # noqa: E402
from newsanno.ontology import Ontology  # noqa: E402
from newsanno.records import (  # noqa: E402
    Argument,
    Entity,
    Event,
    Record,
    Source,
    Span,
    read_records,
    write_records,
)
from newsanno.segment import Token, segment_article, tokenize  # noqa: E402
from newsanno.tasks import targets_mentioned  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
runner = CliRunner()


@pytest.fixture(scope="module")
def ontology() -> Ontology:
    return Ontology.load(REPO / "schema" / "ontology.json")


# ---- a small corpus, annotated by rules so the expected rows are known ---------------------------

ARTICLES = {
    "doc-a": "ISIS fighters attacked Raqqa on Friday.\n\n"
    "Syria's Defense Ministry said the city was liberated.",
    "doc-b": "Russian aircraft struck Deir Ezzor on Monday.\n\n"
    "The Syrian Democratic Forces took control of the dam.",
    "doc-c": "The U.S. delivered aid to Raqqa on Tuesday.\n\nISIS said nothing.",
    "doc-d": "Iraqi troops attacked ISIS near Mosul.\n\nThe fighting went on for a week.",
    "doc-e": "Syria's government said the army liberated Deir Ezzor.\n\n"
    "Russia welcomed the news on Sunday.",
    "doc-f": "ISIS fighters attacked a convoy near Palmyra.\n\nDaesh lost Raqqa in October.",
}
# (surface, label); "Syria's Defense Ministry" holds the nested "Syria"; "Raqqa " (with its
# trailing space, as a careless selection makes it) is a span off token boundaries.
GAZETTEER = [
    ("Syria's Defense Ministry", "ORG"),
    ("Syrian Democratic Forces", "ORG"),
    ("ISIS", "ORG"),
    ("Daesh", "ORG"),
    ("Syria", "GPE"),
    ("Russia", "GPE"),
    ("Raqqa", "GPE"),
    ("Deir Ezzor", "GPE"),
    ("Mosul", "GPE"),
    ("Palmyra", "GPE"),
    ("U.S.", "GPE"),
    ("Russian", "NORP"),
    ("Iraqi", "NORP"),
    ("Friday", "DATE"),
    ("Monday", "DATE"),
    ("Tuesday", "DATE"),
    ("Sunday", "DATE"),
    ("October", "DATE"),
]
TRIGGERS = {
    "attacked": "Conflict.Attack",
    "struck": "Conflict.Attack",
    "liberated": "Transaction.TransferControl",
    "took control": "Transaction.TransferControl",
    "lost": "Transaction.TransferControl",
    "said": "Contact.Statement",
    "delivered": "Movement.Transport",
}
ROLE_OF = {  # (event type, entity label) → role
    ("Conflict.Attack", "ORG"): "Attacker",
    ("Conflict.Attack", "NORP"): "Attacker",
    ("Conflict.Attack", "GPE"): "Place",
    ("Transaction.TransferControl", "ORG"): "Recipient",
    ("Transaction.TransferControl", "GPE"): "Territory",
    ("Contact.Statement", "ORG"): "Speaker",
    ("Movement.Transport", "GPE"): "Destination",
}
MISALIGNED = ("doc-c", "Raqqa ")


def find(text: str, surface: str) -> Iterable[re.Match[str]]:
    return re.finditer(r"(?<![\w.])" + re.escape(surface) + r"(?![\w])", text)


def entities_of(doc: str, text: str) -> tuple[Entity, ...]:
    out = []
    for surface, label in GAZETTEER:
        for m in find(text, surface):
            end = m.end()
            if (doc, surface + " ") == MISALIGNED:
                end += 1
            out.append(Entity(f"e{len(out)}", m.start(), end, text[m.start() : end], label))
    return tuple(out)


def events_of(text: str, entities: tuple[Entity, ...]) -> tuple[Event, ...]:
    out = []
    for trigger, event_type in TRIGGERS.items():
        for m in find(text, trigger):
            args = tuple(
                Argument(role, e.start, e.end, e.text, e.label)
                for e in entities
                if (role := ROLE_OF.get((event_type, e.label)))
                and not any(o is not e and o.start <= e.start and e.end <= o.end for o in entities)
            )
            out.append(Event(f"v{len(out)}", event_type, Span(m.start(), m.end(), trigger), args))
    return tuple(out)


def stance_of(target: str, annotator: str) -> str:
    return "against" if target == "ISIS" else "favor" if annotator == "annotator-2" else "none"


def corpus(
    ontology: Ontology, annotator: str, docs: Iterable[str] = ARTICLES, stance=stance_of
) -> dict[Layer, list[Record]]:
    ids = itertools.count(1 if annotator == "gold" else 100 * int(annotator[-1]))
    out: dict[Layer, list[Record]] = {layer: [] for layer in LAYERS}
    for doc in docs:
        for seg in segment_article(doc, ARTICLES[doc]).segments:
            base: dict[str, Any] = {
                "segment_id": seg.segment_id,
                "document_id": doc,
                "text": seg.text,
                "annotator": annotator,
                "ground_truth": annotator == "gold",
                "created_at": "2024-05-01T10:00:00Z",
                "updated_at": "2024-05-01T10:00:00Z",
                "lead_time": 3.5,
                "source": Source("http://127.0.0.1:8080", 1, 7),
            }
            ents = entities_of(doc, seg.text)
            out[Layer.ENTITIES].append(
                Record(
                    Layer.ENTITIES,
                    annotation_id=next(ids),
                    entities=ents,
                    model_version="newsanno-gazetteer-test",
                    **base,
                )
            )
            out[Layer.EVENTS].append(
                Record(
                    Layer.EVENTS,
                    annotation_id=next(ids),
                    events=events_of(seg.text, ents),
                    **base,
                )
            )
            for target in targets_mentioned(seg.text, ontology):
                out[Layer.STANCE].append(
                    Record(
                        Layer.STANCE,
                        annotation_id=next(ids),
                        target=target,
                        label=stance(target, annotator),
                        **base,
                    )
                )
    return out


def write_gold(annotations: Path, ontology: Ontology, docs: Iterable[str] = ARTICLES) -> None:
    for layer, records in corpus(ontology, "gold", docs).items():
        write_records(annotations / "gold" / f"{layer}.jsonl", records)


def load(folder: Path, config: str, cache: Path) -> datasets.DatasetDict:
    """Load one config of a published folder with a cache of its own."""
    return datasets.load_dataset(str(folder), config, cache_dir=str(cache))


def files_bytes(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def names(feature: datasets.ClassLabel, values: list[int]) -> list[str]:
    return [feature.int2str(v) for v in values]


@pytest.fixture(scope="module")
def gold_only(tmp_path_factory: pytest.TempPathFactory, ontology: Ontology) -> dict[str, Any]:
    """Six documents of hand-made gold (no per-annotator records), published once."""
    root = tmp_path_factory.mktemp("gold-only")
    write_gold(root / "annotations", ontology)
    summary = publish(root / "annotations", root / "export", ontology, seeds_dir=None)
    return {"root": root, "out": root / "export", "summary": summary}


def gold(root: Path, layer: Layer) -> list[Record]:
    return read_records(root / "annotations" / "gold" / f"{layer}.jsonl")


def rows_by_id(ds: datasets.DatasetDict) -> dict[str, dict[str, Any]]:
    return {row["id"]: {**row, "_split": split} for split in ds for row in ds[split]}


# ---- the configs, loaded back -------------------------------------------------------------------


def test_entities_config_loads_with_the_ontologys_features_and_the_gold_rows(
    gold_only: dict[str, Any], ontology: Ontology, tmp_path: Path
) -> None:
    ds = load(gold_only["out"], "entities", tmp_path / "cache")
    features = ds["train"].features
    assert features == features_for(ontology, "entities")
    assert features["ner_tags"].feature.names == list(ontology.bio_tags)
    assert features["entities"].feature["label"].names == list(ontology.entity_labels)
    rows = rows_by_id(ds)
    records = gold(gold_only["root"], Layer.ENTITIES)
    assert sorted(rows) == sorted(r.segment_id for r in records)
    label = features["entities"].feature["label"]
    for r in records:
        row = rows[r.segment_id]
        assert (row["document_id"], row["segment_id"], row["text"]) == (
            r.document_id,
            r.segment_id,
            r.text,
        )
        assert row["tokens"] == [t.text for t in tokenize(r.text)]
        assert len(row["ner_tags"]) == len(row["tokens"])
        got = {
            (e["id"], e["start"], e["end"], e["text"], label.int2str(e["label"]))
            for e in row["entities"]
        }
        assert got == {(e.id, e.start, e.end, e.text, e.label) for e in r.entities}


def test_bio_tags_decode_to_exactly_the_gold_spans(
    gold_only: dict[str, Any], tmp_path: Path
) -> None:
    ds = load(gold_only["out"], "entities", tmp_path / "cache")
    tag = ds["train"].features["ner_tags"].feature
    rows = rows_by_id(ds)
    misaligned = nested = 0
    for r in gold(gold_only["root"], Layer.ENTITIES):
        tokens = tokenize(r.text)
        decoded = {
            (tokens[s].start, tokens[e - 1].end, label)
            for s, e, label in spans_from_bio(names(tag, rows[r.segment_id]["ner_tags"]))
        }
        expected = set()
        for e in r.entities:
            inside = [o for o in r.entities if o is not e and o.start <= e.start and e.end <= o.end]
            on_tokens = any(t.start == e.start for t in tokens) and any(
                t.end == e.end for t in tokens
            )
            if inside:
                nested += 1  # BIO cannot nest: the outer span is the one tagged
            elif not on_tokens:
                misaligned += 1  # tagged on the tokens it overlaps: "Raqqa " → "Raqqa"
                expected.add((e.start, e.end - 1, e.label))
            else:
                expected.add((e.start, e.end, e.label))
        assert decoded == expected, r.segment_id
    assert misaligned == 1 and nested == 1
    assert gold_only["summary"].misaligned_spans == misaligned
    assert gold_only["summary"].overlapping_entities == nested


def test_events_config_has_token_offsets_and_role_classlabels(
    gold_only: dict[str, Any], ontology: Ontology, tmp_path: Path
) -> None:
    ds = load(gold_only["out"], "events", tmp_path / "cache")
    features = ds["train"].features
    assert features == features_for(ontology, "events")
    event = features["events"].feature
    assert event["type"].names == list(ontology.event_labels)
    assert event["arguments"].feature["role"].names == list(ontology.roles)
    rows = rows_by_id(ds)
    seen = 0
    for r in gold(gold_only["root"], Layer.EVENTS):
        row = rows[r.segment_id]
        assert len(row["events"]) == len(r.events)
        wanted = sorted(r.events, key=lambda e: (e.trigger.start, e.trigger.end, e.type))
        for got, want in zip(row["events"], wanted, strict=True):
            trigger = got["trigger"]
            assert event["type"].int2str(got["type"]) == want.type
            assert (trigger["start"], trigger["end"], trigger["text"]) == (
                want.trigger.start,
                want.trigger.end,
                want.trigger.text,
            )
            # token_end is exclusive: the trigger is tokens[token_start:token_end]
            covered = row["tokens"][trigger["token_start"] : trigger["token_end"]]
            assert " ".join(covered) == want.trigger.text
            args = [
                (
                    event["arguments"].feature["role"].int2str(a["role"]),
                    a["start"],
                    a["end"],
                    a["text"],
                )
                for a in got["arguments"]
            ]
            assert args == sorted((a.role, a.start, a.end, a.text) for a in want.arguments)
            seen += 1
    assert seen >= 10


def test_stance_config_labels_come_from_the_ontology(
    gold_only: dict[str, Any], ontology: Ontology, tmp_path: Path
) -> None:
    ds = load(gold_only["out"], "stance", tmp_path / "cache")
    label = ds["train"].features["label"]
    assert label.names == list(ontology.stance_label_names)
    got = {
        (row["segment_id"], row["target"], label.int2str(row["label"]))
        for split in ds
        for row in ds[split]
    }
    want = {(r.segment_id, r.target, r.label) for r in gold(gold_only["root"], Layer.STANCE)}
    assert got == want and len(want) >= 8


def test_no_document_is_in_two_splits_and_every_config_agrees(
    gold_only: dict[str, Any], tmp_path: Path
) -> None:
    split_of: dict[str, str] = {}
    for config in ("entities", "events", "stance"):
        ds = load(gold_only["out"], config, tmp_path / config)
        assert set(ds) == {"train", "validation", "test"}
        for split in ds:
            for doc in ds[split]["document_id"]:
                assert split_of.setdefault(doc, split) == split, doc
    assert set(split_of) == set(ARTICLES)
    assert gold_only["summary"].documents == {"train": 4, "validation": 1, "test": 1}


def test_splits_are_deterministic_from_the_seed() -> None:
    docs = [f"doc-{i:02d}" for i in range(20)]
    first = assign_splits(docs, seed=7)
    assert first == assign_splits(reversed(docs), seed=7)
    assert list(first.values()).count("train") == 16
    assert any(assign_splits(docs, seed=s) != first for s in range(8, 12))
    assert split_counts(5, (0.8, 0.1, 0.1)) == (3, 1, 1)
    assert split_counts(10, (0.5, 0.5, 0)) == (5, 5, 0)
    assert set(assign_splits(docs[:4]).values()) == {"train"}


def test_fewer_than_five_documents_are_all_train_and_the_card_says_so(
    tmp_path: Path, ontology: Ontology
) -> None:
    write_gold(tmp_path / "annotations", ontology, docs=["doc-a", "doc-b"])
    summary = publish(tmp_path / "annotations", tmp_path / "export", ontology)
    assert summary.documents == {"train": 2}
    ds = load(tmp_path / "export", "entities", tmp_path / "cache")
    assert list(ds) == ["train"]
    card = (tmp_path / "export" / "README.md").read_text(encoding="utf-8")
    assert "This release has 2 documents, fewer than 5, so everything is in `train`" in card


# ---- the card ----------------------------------------------------------------------------------


def front_matter(folder: Path) -> dict[str, Any]:
    text = (folder / "README.md").read_text(encoding="utf-8")
    m = re.match(r"^---\n(.*?)\n---\n", text, re.S)
    assert m, "the card has no YAML front matter"
    data: dict[str, Any] = yaml.safe_load(m[1])
    return data


def test_card_yaml_parses_names_every_config_and_its_data_files(
    gold_only: dict[str, Any],
) -> None:
    meta = front_matter(gold_only["out"])
    assert meta["license"] and meta["language"] == ["en"]
    assert "token-classification" in meta["task_categories"]
    assert "named-entity-recognition" in meta["task_ids"]
    configs = {c["config_name"]: c for c in meta["configs"]}
    assert list(configs) == ["entities", "events", "stance"]  # no per-annotator records here
    assert configs["entities"]["default"] is True
    for name, config in configs.items():
        for entry in config["data_files"]:
            files = list(gold_only["out"].glob(entry["path"]))
            assert [f.name for f in files] == [f"{entry['split']}-00000-of-00001.parquet"], name
    infos = {i["config_name"]: i for i in meta["dataset_info"]}
    assert set(infos) == set(configs)
    for name, info in infos.items():
        sizes = {s["name"]: s["num_examples"] for s in info["splits"]}
        assert sizes == gold_only["summary"].rows[name]


def test_card_dataset_info_is_the_features_written(
    gold_only: dict[str, Any], ontology: Ontology
) -> None:
    card = DatasetCard.load(gold_only["out"] / "README.md")
    infos = DatasetInfosDict.from_dataset_card_data(card.data)
    for config, info in infos.items():
        assert info.features == features_for(ontology, config)


def test_card_is_what_dataset_card_renders(gold_only: dict[str, Any]) -> None:
    # The card is written as text; huggingface_hub must read it and write it back the same.
    text = (gold_only["out"] / "README.md").read_text(encoding="utf-8")
    assert str(DatasetCard(text)) == text
    assert DatasetCard(text).data.to_dict()["configs"]


def test_card_prose_reports_what_users_need(gold_only: dict[str, Any]) -> None:
    card = (gold_only["out"] / "README.md").read_text(encoding="utf-8")
    for config in ("entities", "events", "stance"):
        assert f'load_dataset("export", "{config}")' in card
    assert "**Spans off token boundaries: 1.**" in card
    seg = next(s for s in segment_article("doc-c", ARTICLES["doc-c"]).segments if "Raqqa" in s.text)
    start = seg.text.index("Raqqa ")
    assert f"| entities | {seg.segment_id} | {start} | {start + 6} | GPE | Raqqa |" in card
    assert "**Unresolved conflicts left out of the gold configs: 0**" in card
    assert "| Conflict.Attack | Attacker, Target, Instrument, Place |" in card
    assert "| ISIS | 5 | 0 | 0 |" not in card  # ISIS is judged "against", never "favor"
    assert re.search(r"\| ISIS \| 0 \| \d+ \| 0 \|", card)


def test_publishing_twice_gives_identical_files(tmp_path: Path, ontology: Ontology) -> None:
    write_gold(tmp_path / "annotations", ontology)
    publish(tmp_path / "annotations", tmp_path / "export", ontology)
    first = files_bytes(tmp_path / "export")
    publish(tmp_path / "annotations", tmp_path / "export", ontology)
    assert files_bytes(tmp_path / "export") == first
    assert any(name.endswith(".parquet") for name in first)
    # and from a fresh process with another string-hash seed (set order changes with it)
    other = tmp_path / "elsewhere" / "export"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "newsanno",
            "dataset",
            "publish",
            "--annotations",
            str(tmp_path / "annotations"),
            "--out",
            str(other),
            "--ontology",
            str(REPO / "schema" / "ontology.json"),
        ],
        env={**os.environ, "PYTHONHASHSEED": "12345"},
        check=True,
        capture_output=True,
    )
    assert files_bytes(other) == first


def test_a_changed_ontology_changes_the_card_and_the_loaded_classlabels(
    tmp_path: Path, ontology: Ontology
) -> None:
    raw = ontology.to_dict()
    raw["entity_types"].insert(1, {"name": "MISC", "description": "Anything else with a name."})
    raw["stance"]["labels"].append({"name": "unclear", "description": "Cannot tell."})
    changed = Ontology.from_dict(raw)
    write_gold(tmp_path / "annotations", ontology)
    publish(tmp_path / "annotations", tmp_path / "export", ontology)
    before = load(tmp_path / "export", "entities", tmp_path / "cache-before")
    assert "B-MISC" not in before["train"].features["ner_tags"].feature.names
    publish(tmp_path / "annotations", tmp_path / "export", changed)

    meta = front_matter(tmp_path / "export")
    entities_info = next(i for i in meta["dataset_info"] if i["config_name"] == "entities")
    tags = next(f for f in entities_info["features"] if f["name"] == "ner_tags")
    assert list(tags["list"]["class_label"]["names"].values()) == list(changed.bio_tags)
    after = load(tmp_path / "export", "entities", tmp_path / "cache-after")
    tag = after["train"].features["ner_tags"].feature
    assert tag.names[:5] == ["O", "B-PER", "I-PER", "B-MISC", "I-MISC"]
    # the ids moved with the names: every row decodes to the same tags as before
    old_tag = before["train"].features["ner_tags"].feature
    assert [names(tag, r) for r in after["train"]["ner_tags"]] == [
        names(old_tag, r) for r in before["train"]["ner_tags"]
    ]
    stance = load(tmp_path / "export", "stance", tmp_path / "cache-stance")
    assert stance["train"].features["label"].names == ["favor", "against", "none", "unclear"]


# ---- per-annotator records, adjudication, agreement, conflicts --------------------------------


@pytest.fixture(scope="module")
def two_annotators(tmp_path_factory: pytest.TempPathFactory, ontology: Ontology) -> dict[str, Any]:
    """Two annotators who agree on everything but the stance toward non-ISIS targets (a tie:
    a conflict per such task). No gold yet: publishing adjudicates first."""
    root = tmp_path_factory.mktemp("two")
    annotations = root / "annotations"
    one, two = corpus(ontology, "annotator-1"), corpus(ontology, "annotator-2")
    for layer in LAYERS:
        write_records(annotations / f"{layer}.jsonl", one[layer] + two[layer])
    summary = publish(annotations, root / "export", ontology, seeds_dir=None)
    return {"root": root, "out": root / "export", "summary": summary, "records": (one, two)}


def test_publish_adjudicates_when_gold_is_missing(two_annotators: dict[str, Any]) -> None:
    annotations = two_annotators["root"] / "annotations"
    assert two_annotators["summary"].adjudicated
    assert all((annotations / "gold" / f"{layer}.jsonl").is_file() for layer in LAYERS)


def test_conflicts_are_left_out_of_gold_and_counted_on_the_card(
    two_annotators: dict[str, Any], tmp_path: Path
) -> None:
    one, _ = two_annotators["records"]
    disputed = {(r.segment_id, r.target) for r in one[Layer.STANCE] if r.target != "ISIS"}
    summary = two_annotators["summary"]
    assert summary.conflicts == len(disputed) > 0
    ds = load(two_annotators["out"], "stance", tmp_path / "cache")
    got = {(row["segment_id"], row["target"]) for split in ds for row in ds[split]}
    assert got == {(r.segment_id, r.target) for r in one[Layer.STANCE]} - disputed
    card = (two_annotators["out"] / "README.md").read_text(encoding="utf-8")
    assert (
        f"**Unresolved conflicts left out of the gold configs: {len(disputed)}** (stance " in card
    )


def test_annotations_config_keeps_every_record_as_imported(
    two_annotators: dict[str, Any], tmp_path: Path
) -> None:
    ds = load(two_annotators["out"], "annotations", tmp_path / "cache")
    assert ds["train"].features == features_for(
        Ontology.load(REPO / "schema" / "ontology.json"), "annotations"
    )
    rows = [row for split in ds for row in ds[split]]
    one, two = two_annotators["records"]
    records = [r for layer in LAYERS for r in one[layer] + two[layer]]
    assert len(rows) == len(records)
    by_key = {(r.layer, r.annotator, str(r.annotation_id)): r for r in records}
    for row in rows:
        r = by_key[(row["layer"], row["annotator"], row["annotation_id"])]
        assert json.loads(row["record"]) == r.to_dict()
        assert (row["created_at"], row["lead_time"], row["model_version"]) == (
            r.created_at,
            r.lead_time,
            r.model_version,
        )
    # split by document like the gold configs
    for split in ds:
        gold_docs = set(
            load(two_annotators["out"], "entities", tmp_path / split)[split]["document_id"]
        )
        assert set(ds[split]["document_id"]) == gold_docs


def test_card_carries_the_agreement_figures(two_annotators: dict[str, Any]) -> None:
    card = (two_annotators["out"] / "README.md").read_text(encoding="utf-8")
    assert "| entities | span F1, exact (start, end, label) | 1.000 |" in card
    assert "| events | trigger F1 (span and type) | 1.000 |" in card
    assert "| stance | percent agreement |" in card
    assert "2 annotators took part" in card


def test_gold_that_is_fresh_is_not_adjudicated_again(
    two_annotators: dict[str, Any], tmp_path: Path, ontology: Ontology
) -> None:
    annotations = two_annotators["root"] / "annotations"
    summary = publish(annotations, tmp_path / "export", ontology)
    assert not summary.adjudicated


# ---- errors: one line, and the previous export untouched ----------------------------------------


@pytest.fixture
def published(tmp_path: Path, ontology: Ontology) -> Path:
    write_gold(tmp_path / "annotations", ontology, docs=["doc-a"])
    publish(tmp_path / "annotations", tmp_path / "export", ontology)
    return tmp_path


def invoke(*args: str) -> Any:
    return runner.invoke(app, ["dataset", "publish", *args])


def error_line(result: Any) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_missing_annotations_folder(published: Path) -> None:
    before = files_bytes(published / "export")
    result = invoke("--annotations", str(published / "nope"), "--out", str(published / "export"))
    assert result.exit_code == 1
    assert error_line(result) == (
        f"Error: {published / 'nope'}: no such folder. Import annotations first "
        "(newsanno annotations import), or pass --annotations DIR."
    )
    assert files_bytes(published / "export") == before


def test_nothing_to_publish(published: Path) -> None:
    empty = published / "empty"
    empty.mkdir()
    before = files_bytes(published / "export")
    result = invoke("--annotations", str(empty), "--out", str(published / "export"))
    assert result.exit_code == 1
    assert error_line(result) == (
        f"Error: nothing to publish: {empty} has no annotation records. "
        "Import them first (newsanno annotations import)."
    )
    assert files_bytes(published / "export") == before


def test_records_that_fail_validation_name_file_line_and_field(
    published: Path, ontology: Ontology
) -> None:
    path = published / "annotations" / "gold" / "entities.jsonl"
    lines = path.read_text(encoding="utf-8").splitlines()
    bad = json.loads(lines[0])
    bad["entities"][1]["label"] = "PERSON"
    lines[0] = json.dumps(bad)
    bad = json.loads(lines[1])
    bad["entities"][0]["end"] = len(bad["text"]) + 5
    lines[1] = json.dumps(bad)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    before = files_bytes(published / "export")
    result = invoke(
        "--annotations", str(published / "annotations"), "--out", str(published / "export")
    )
    assert result.exit_code == 1
    labels = list(ontology.entity_labels)
    assert error_line(result) == (
        f"Error: {path}:1 entities/1/label: 'PERSON' is not one of {labels!r} (and 1 more "
        f"problem). Fix the records (newsanno annotations validate {path} lists them all); "
        "nothing was published."
    )
    assert files_bytes(published / "export") == before
    with pytest.raises(PublishError):
        publish(published / "annotations", published / "export", ontology)


def test_bad_split_ratios(published: Path) -> None:
    result = invoke("--annotations", str(published / "annotations"), "--split-ratios", "0.8,0.3")
    assert result.exit_code == 1
    assert error_line(result) == (
        "Error: --split-ratios '0.8,0.3': give three numbers train,validation,test, e.g. "
        "0.8,0.1,0.1."
    )


def test_cli_publishes_and_prints_the_summary(tmp_path: Path, ontology: Ontology) -> None:
    write_gold(tmp_path / "annotations", ontology)
    out = tmp_path / "export"
    result = invoke(
        "--annotations",
        str(tmp_path / "annotations"),
        "--out",
        str(out),
        "--seed",
        "3",
        "--split-ratios",
        "0.5,0.25,0.25",
    )
    assert result.exit_code == 0, result.output
    assert f"Dataset written to {out}/" in result.output
    assert re.search(r"entities\s*│\s*\d+\s*│\s*\d+\s*│\s*\d+", result.output)
    assert "spans off token boundaries: 1" in result.output
    assert "unresolved conflicts left out: 0" in result.output
    assert "cut 0.5/0.25/0.25 (train/validation/test)" in (out / "README.md").read_text()


def test_cli_defaults_are_the_workspace_folders(
    tmp_path: Path, ontology: Ontology, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_gold(tmp_path / "annotations", ontology, docs=["doc-a"])
    monkeypatch.chdir(tmp_path)
    result = invoke()
    assert result.exit_code == 0, result.output
    assert "Dataset written to export/" in result.output
    ds = load(tmp_path / "export", "entities", tmp_path / "cache")
    assert ds["train"].num_rows == len(gold(tmp_path, Layer.ENTITIES))


# ---- the Hub upload (faked: there is no network here) ------------------------------------------


class FakeHub:
    """Records the calls huggingface_hub's HfApi would receive; uploads nothing."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []

    def create_repo(self, *args: Any, **kwargs: Any) -> str:
        self.calls.append(("create_repo", args, kwargs))
        return f"https://huggingface.co/datasets/{args[0]}"

    def update_repo_settings(self, *args: Any, **kwargs: Any) -> None:
        self.calls.append(("update_repo_settings", args, kwargs))

    def upload_folder(self, *args: Any, **kwargs: Any) -> None:
        self.calls.append(("upload_folder", args, kwargs))


def test_push_to_hub_creates_the_repo_and_uploads_the_folder(published: Path) -> None:
    hub = FakeHub()
    url = push_to_hub(published / "export", "me/news", private=True, api=hub)
    assert url == "https://huggingface.co/datasets/me/news"
    assert hub.calls == [
        ("create_repo", ("me/news",), {"repo_type": "dataset", "private": True, "exist_ok": True}),
        ("update_repo_settings", ("me/news",), {"private": True, "repo_type": "dataset"}),
        (
            "upload_folder",
            (),
            {
                "repo_id": "me/news",
                "repo_type": "dataset",
                "folder_path": str(published / "export"),
                "commit_message": "Publish the dataset with newsanno",
                "delete_patterns": ["data/**"],
            },
        ),
    ]
    public = FakeHub()
    push_to_hub(published / "export", "me/news", private=False, api=public)
    assert [c[0] for c in public.calls] == ["create_repo", "upload_folder"]
    assert public.calls[0][2]["private"] is False


def test_push_to_hub_errors_are_one_line_and_keep_the_folder(published: Path) -> None:
    from huggingface_hub.errors import LocalTokenNotFoundError

    class NoToken(FakeHub):
        def create_repo(self, *args: Any, **kwargs: Any) -> str:
            raise LocalTokenNotFoundError("Token is required")

    out = published / "export"
    with pytest.raises(PublishError) as caught:
        push_to_hub(out, "me/news", api=NoToken())
    assert str(caught.value) == (
        "no Hugging Face token: set HF_TOKEN or run 'hf auth login'. "
        f"{out}/ is written; push it again with --push-to-hub me/news."
    )


def test_cli_push_in_offline_mode_says_so(published: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The real HfApi, stopped by huggingface_hub's own offline switch before any request.
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    out = published / "export"
    result = invoke(
        "--annotations",
        str(published / "annotations"),
        "--out",
        str(out),
        "--push-to-hub",
        "me/news",
    )
    assert result.exit_code == 1
    assert error_line(result) == (
        "Error: cannot push to the Hub while HF_HUB_OFFLINE is set: unset it. "
        f"{out}/ is written; push it again with --push-to-hub me/news."
    )
    assert (out / "README.md").is_file()


def test_push_to_hub_refuses_a_folder_without_a_card(tmp_path: Path) -> None:
    with pytest.raises(PublishError, match="no dataset card"):
        push_to_hub(tmp_path, "me/news", api=FakeHub())


# ---- BIO, as a property -------------------------------------------------------------------------

WORDS = st.sampled_from(
    ["ISIS", "fighters", "took", "Deir", "Ezzor", "U.S.", "Mr.", "🙂", "al-Assad", ",", "said"]
)


@settings(max_examples=60, deadline=None)
@given(words=st.lists(WORDS, min_size=1, max_size=12), data=st.data())
def test_bio_round_trips_any_token_aligned_spans(words: list[str], data: st.DataObject) -> None:
    text = " ".join(words)
    tokens = tokenize(text)
    # non-overlapping runs of whole tokens, each with a label
    cuts = sorted(data.draw(st.sets(st.integers(0, len(tokens)), max_size=6)) | {0, len(tokens)})
    spans = []
    for s, e in itertools.pairwise(cuts):
        if e > s and data.draw(st.booleans()):
            label = data.draw(st.sampled_from(["PER", "ORG", "GPE"]))
            spans.append((tokens[s].start, tokens[e - 1].end, label))
    tags, issues = bio_tags(tokens, spans)
    assert issues == []
    decoded = [(tokens[s].start, tokens[e - 1].end, label) for s, e, label in spans_from_bio(tags)]
    assert decoded == sorted(spans)


def test_bio_reports_a_span_off_token_boundaries_and_still_tags_it() -> None:
    tokens = [Token(0, 4, "ISIS"), Token(5, 13, "fighters")]
    tags, issues = bio_tags(tokens, [(0, 3, "ORG")], "doc:0-13")
    assert tags == ["B-ORG", "O"]
    assert [(i.kind, i.start, i.end, i.text) for i in issues] == [("misaligned", 0, 3, "ISIS")]


def test_issues_are_listed_entities_first_though_rows_are_built_side_by_side(
    ontology: Ontology,
) -> None:
    # Regression: publish builds entities and events rows sentence by sentence (to tokenize
    # each sentence once); the card still lists the entities' issues first, as before.
    rows = _Rows(ontology)
    label, kind = ontology.entity_labels[0], ontology.event_labels[0]

    def entity_gold(i: int) -> dict[str, Any]:
        text = f"ISIS fighters attacked town {i}"
        span = {"id": f"e{i}", "start": 0, "end": 3, "text": "ISI", "label": label}
        return {"segment_id": f"doc:{i}-{i + 1}", "document_id": "doc", "text": text,
                "entities": [span]}  # fmt: skip

    def event_gold(i: int) -> dict[str, Any]:
        text = f"ISIS fighters attacked town {i}"
        trigger = {"start": 14, "end": 20, "text": "attack"}
        event = {"id": f"v{i}", "type": kind, "trigger": trigger, "arguments": []}
        return {"segment_id": f"doc:{i}-{i + 1}", "document_id": "doc", "text": text,
                "events": [event]}  # fmt: skip

    for i in range(3):
        rows.entities(entity_gold(i))
        rows.events(event_gold(i))
    assert [(x.layer, x.segment_id) for x in rows.issues] == [
        *(("entities", f"doc:{i}-{i + 1}") for i in range(3)),
        *(("events", f"doc:{i}-{i + 1}") for i in range(3)),
    ]
    for i in range(3, 2 * MAX_LISTED):
        rows.entities(entity_gold(i))
        rows.events(event_gold(i))
    assert rows.counts["misaligned"] == 4 * MAX_LISTED
    assert [(x.layer, x.segment_id) for x in rows.issues] == [
        ("entities", f"doc:{i}-{i + 1}") for i in range(MAX_LISTED)
    ]


def test_the_card_counts_are_the_same_whichever_pass_takes_them(
    tmp_path: Path, ontology: Ontology
) -> None:
    # Regression: right after an import, publish counts the records while the adjudication
    # reads them; with fresh gold (or records the import did not vouch for) a pass of its own
    # counts them. Same folder either way.
    from newsanno.importer import import_annotations
    from newsanno.validate import CHECKED_FILE

    exports = sorted((Path(__file__).parent / "data" / "exports").glob("live-*.json"))
    annotations = tmp_path / "annotations"
    import_annotations(exports, annotations, ontology)
    counted_while_adjudicating = publish(annotations, tmp_path / "one" / "export", ontology)
    assert counted_while_adjudicating.adjudicated
    fresh_gold = publish(annotations, tmp_path / "two" / "export", ontology)
    assert not fresh_gold.adjudicated
    (annotations / CHECKED_FILE).unlink()  # nothing vouched for: checked, counted, adjudicated
    (annotations / "gold" / ".inputs.json").unlink()
    checked_first = publish(annotations, tmp_path / "three" / "export", ontology)
    assert checked_first.adjudicated
    one = files_bytes(tmp_path / "one" / "export")
    assert "README.md" in one and any(name.endswith(".parquet") for name in one)
    assert files_bytes(tmp_path / "two" / "export") == one
    assert files_bytes(tmp_path / "three" / "export") == one
