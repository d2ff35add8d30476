"""The ontology is the one source of every label; broken files get one clear line."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from newsanno.errors import OntologyError
from newsanno.labelconfig import label_config
from newsanno.layers import Layer
from newsanno.ontology import Ontology

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def ontology() -> Ontology:
    return Ontology.load(REPO / "schema" / "ontology.json")


def test_required_types_and_roles(ontology: Ontology) -> None:
    assert {"PER", "ORG", "GPE", "LOC", "FAC", "NORP", "DATE"} <= set(ontology.entity_labels)
    assert ontology.roles_by_event["Conflict.Attack"] == (
        "Attacker",
        "Target",
        "Instrument",
        "Place",
    )
    assert ontology.roles_by_event["Life.Die"] == ("Victim", "Agent", "Instrument", "Place")
    assert "Movement.Transport" in ontology.event_labels
    assert ontology.stance_label_names == ("favor", "against", "none")
    isis = next(t for t in ontology.stance_targets if t.name == "ISIS")
    assert {"Daesh", "Islamic State"} <= set(isis.aliases)
    assert {"Syrian government", "United States", "Russia", "Syrian Democratic Forces"} <= set(
        ontology.target_names
    )


def test_bio_tags_follow_entity_types(ontology: Ontology) -> None:
    assert ontology.bio_tags[0] == "O"
    assert ontology.bio_tags[1:3] == ("B-PER", "I-PER")
    assert len(ontology.bio_tags) == 1 + 2 * len(ontology.entity_labels)


@pytest.mark.parametrize("layer", list(Layer))
def test_generated_schemas_are_valid_2020_12(ontology: Ontology, layer: Layer) -> None:
    for schema in (ontology.record_schema(layer), ontology.task_schema(layer)):
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        assert schema["$id"].endswith(".schema.json")
        jsonschema.Draft202012Validator.check_schema(schema)


def test_a_new_label_reaches_schema_and_config(ontology: Ontology) -> None:
    raw = ontology.to_dict()
    raw["entity_types"].append({"name": "MONEY", "description": "Monetary values."})
    raw["event_types"][0]["roles"].append("Weapon")
    changed = Ontology.from_dict(raw)
    entity_enum = changed.record_schema(Layer.ENTITIES)["properties"]["entities"]["items"][
        "properties"
    ]["label"]["enum"]
    assert "MONEY" in entity_enum
    assert 'value="MONEY"' in label_config(Layer.ENTITIES, changed)
    assert '<Relation value="Weapon"/>' in label_config(Layer.EVENTS, changed)
    assert "B-MONEY" in changed.bio_tags


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "ontology.json"
    path.write_text(text, encoding="utf-8")
    return path


def test_not_json_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, '{\n  "entity_types": [\n  oops\n]}')
    with pytest.raises(OntologyError, match=rf"^{path}:3: not valid JSON"):
        Ontology.load(path)


def test_missing_field_names_the_field(tmp_path: Path, ontology: Ontology) -> None:
    raw = ontology.to_dict()
    del raw["event_types"][1]["roles"]
    path = write(tmp_path, json.dumps(raw))
    with pytest.raises(OntologyError, match=r"event_types/1: 'roles' is a required property"):
        Ontology.load(path)


def test_duplicate_label_is_refused(tmp_path: Path, ontology: Ontology) -> None:
    raw = ontology.to_dict()
    raw["entity_types"].append(dict(raw["entity_types"][0]))
    with pytest.raises(OntologyError, match="'PER' is listed twice"):
        Ontology.from_dict(raw, source="x.json")
