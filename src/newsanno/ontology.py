"""The ontology: the one source of every label.

Everything that names a label — the JSON Schemas, the Label Studio labeling configs, the dataset
Features — is generated from `schema/ontology.json` by the functions here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema

from .errors import OntologyError
from .layers import Layer

SCHEMA_BASE_URI = "https://newsanno.dev/schema"
DRAFT = "https://json-schema.org/draft/2020-12/schema"


@dataclass(frozen=True)
class EntityType:
    name: str
    description: str


@dataclass(frozen=True)
class EventType:
    name: str
    description: str
    roles: tuple[str, ...]


@dataclass(frozen=True)
class StanceLabel:
    name: str
    description: str


@dataclass(frozen=True)
class StanceTarget:
    name: str
    aliases: tuple[str, ...]


# The shape of ontology.json itself; checked on load so a broken file names its field.
_ONTOLOGY_SHAPE: dict[str, Any] = {
    "$schema": DRAFT,
    "type": "object",
    "required": ["entity_types", "event_types", "stance"],
    "properties": {
        "name": {"type": "string"},
        "version": {"type": "string"},
        "description": {"type": "string"},
        "entity_types": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["name", "description"],
                "properties": {
                    "name": {"type": "string", "pattern": r"^[A-Za-z][A-Za-z0-9_]*$"},
                    "description": {"type": "string"},
                },
            },
        },
        "event_types": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["name", "description", "roles"],
                "properties": {
                    "name": {"type": "string", "pattern": r"^[A-Za-z][A-Za-z0-9_.\-]*$"},
                    "description": {"type": "string"},
                    "roles": {
                        "type": "array",
                        "minItems": 1,
                        "items": {"type": "string", "pattern": r"^[A-Za-z][A-Za-z0-9_]*$"},
                    },
                },
            },
        },
        "stance": {
            "type": "object",
            "required": ["labels", "targets"],
            "properties": {
                "description": {"type": "string"},
                "labels": {
                    "type": "array",
                    "minItems": 2,
                    "items": {
                        "type": "object",
                        "required": ["name"],
                        "properties": {
                            "name": {"type": "string", "minLength": 1},
                            "description": {"type": "string"},
                        },
                    },
                },
                "targets": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "required": ["name", "aliases"],
                        "properties": {
                            "name": {"type": "string", "minLength": 1},
                            "aliases": {
                                "type": "array",
                                "items": {"type": "string", "minLength": 1},
                            },
                        },
                    },
                },
            },
        },
    },
}


@dataclass(frozen=True)
class Ontology:
    entity_types: tuple[EntityType, ...]
    event_types: tuple[EventType, ...]
    stance_labels: tuple[StanceLabel, ...]
    stance_targets: tuple[StanceTarget, ...]
    stance_description: str = ""
    name: str = "newsanno"
    version: str = "0"
    source: str = "ontology.json"

    # ---- loading -------------------------------------------------------------------------

    @classmethod
    def from_dict(cls, raw: Any, source: str = "ontology.json") -> Ontology:
        errors = sorted(
            jsonschema.Draft202012Validator(_ONTOLOGY_SHAPE).iter_errors(raw),
            key=lambda e: list(map(str, e.absolute_path)),
        )
        if errors:
            first = errors[0]
            where = "/".join(map(str, first.absolute_path)) or "(top level)"
            raise OntologyError(f"{source}: {where}: {first.message}. Fix the ontology file.")
        ontology = cls(
            entity_types=tuple(
                EntityType(e["name"], e["description"]) for e in raw["entity_types"]
            ),
            event_types=tuple(
                EventType(e["name"], e["description"], tuple(e["roles"]))
                for e in raw["event_types"]
            ),
            stance_labels=tuple(
                StanceLabel(s["name"], s.get("description", "")) for s in raw["stance"]["labels"]
            ),
            stance_targets=tuple(
                StanceTarget(t["name"], tuple(t["aliases"])) for t in raw["stance"]["targets"]
            ),
            stance_description=raw["stance"].get("description", ""),
            name=raw.get("name", "newsanno"),
            version=raw.get("version", "0"),
            source=source,
        )
        ontology._check_unique()
        return ontology

    @classmethod
    def load(cls, path: Path | None = None) -> Ontology:
        """Load `path`, or the workspace's `schema/ontology.json`, or the packaged default."""
        if path is None:
            path = default_ontology_path()
        try:
            text = Path(path).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise OntologyError(
                f"{path}: no such file. Create it or run from a workspace."
            ) from None
        except UnicodeDecodeError as exc:
            raise OntologyError(f"{path}: not UTF-8 ({exc.reason} at byte {exc.start}).") from None
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as exc:
            raise OntologyError(
                f"{path}:{exc.lineno}: not valid JSON ({exc.msg}, column {exc.colno})."
            ) from None
        return cls.from_dict(raw, source=str(path))

    def _check_unique(self) -> None:
        groups = {
            "entity_types": [e.name for e in self.entity_types],
            "event_types": [e.name for e in self.event_types],
            "stance/labels": [s.name for s in self.stance_labels],
            "stance/targets": [t.name for t in self.stance_targets],
        }
        for group, names in groups.items():
            seen: set[str] = set()
            for name in names:
                if name in seen:
                    raise OntologyError(f"{self.source}: {group}: {name!r} is listed twice.")
                seen.add(name)
        clash = set(groups["entity_types"]) & set(groups["event_types"])
        if clash:
            raise OntologyError(
                f"{self.source}: {sorted(clash)[0]!r} is both an entity type and an event type; "
                "Label Studio needs distinct label names."
            )
        for event in self.event_types:
            if len(set(event.roles)) != len(event.roles):
                raise OntologyError(f"{self.source}: event_types/{event.name}: a role is repeated.")

    # ---- derived label sets --------------------------------------------------------------

    @cached_property
    def entity_labels(self) -> tuple[str, ...]:
        return tuple(e.name for e in self.entity_types)

    @cached_property
    def event_labels(self) -> tuple[str, ...]:
        return tuple(e.name for e in self.event_types)

    @cached_property
    def roles_by_event(self) -> dict[str, tuple[str, ...]]:
        return {e.name: e.roles for e in self.event_types}

    @cached_property
    def roles(self) -> tuple[str, ...]:
        """Every role of any event type, in first-seen order."""
        seen: dict[str, None] = {}
        for event in self.event_types:
            for role in event.roles:
                seen.setdefault(role, None)
        return tuple(seen)

    @cached_property
    def stance_label_names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.stance_labels)

    @cached_property
    def target_names(self) -> tuple[str, ...]:
        return tuple(t.name for t in self.stance_targets)

    @cached_property
    def bio_tags(self) -> tuple[str, ...]:
        """`O`, then `B-X`, `I-X` for every entity type, in ontology order (conll2003 style)."""
        tags = ["O"]
        for label in self.entity_labels:
            tags += [f"B-{label}", f"I-{label}"]
        return tuple(tags)

    @cached_property
    def fingerprint(self) -> str:
        import hashlib

        blob = json.dumps(self.to_dict(), sort_keys=True, ensure_ascii=False).encode()
        return hashlib.sha256(blob).hexdigest()[:12]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "entity_types": [
                {"name": e.name, "description": e.description} for e in self.entity_types
            ],
            "event_types": [
                {"name": e.name, "description": e.description, "roles": list(e.roles)}
                for e in self.event_types
            ],
            "stance": {
                "description": self.stance_description,
                "labels": [
                    {"name": s.name, "description": s.description} for s in self.stance_labels
                ],
                "targets": [
                    {"name": t.name, "aliases": list(t.aliases)} for t in self.stance_targets
                ],
            },
        }

    # ---- JSON Schemas --------------------------------------------------------------------

    def record_schema(self, layer: Layer) -> dict[str, Any]:
        """JSON Schema (draft 2020-12) of one canonical annotation record of `layer`."""
        common_props: dict[str, Any] = {
            "layer": {"const": str(layer)},
            "segment_id": {"type": "string", "minLength": 1},
            "document_id": {"type": "string", "minLength": 1},
            "text": {"type": "string"},
            "annotator": {"type": "string", "minLength": 1},
            "annotation_id": {"type": ["integer", "string"]},
            "created_at": {"type": ["string", "null"]},
            "updated_at": {"type": ["string", "null"]},
            "lead_time": {"type": ["number", "null"]},
            "ground_truth": {"type": "boolean"},
            "model_version": {"type": ["string", "null"]},
            "source": {
                "type": "object",
                "required": ["url", "project_id", "task_id"],
                "properties": {
                    "url": {"type": ["string", "null"]},
                    "project_id": {"type": ["integer", "null"]},
                    "task_id": {"type": ["integer", "null"]},
                },
            },
        }
        offsets = {
            "start": {"type": "integer", "minimum": 0},
            "end": {"type": "integer", "minimum": 0},
            "text": {"type": "string", "minLength": 1},
        }
        content: dict[str, Any]
        if layer is Layer.ENTITIES:
            content = {
                "entities": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["id", "start", "end", "text", "label"],
                        "additionalProperties": False,
                        "properties": {
                            "id": {"type": "string", "minLength": 1},
                            **offsets,
                            "label": {"enum": list(self.entity_labels)},
                        },
                    },
                }
            }
        elif layer is Layer.EVENTS:
            content = {
                "events": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["id", "type", "trigger", "arguments"],
                        "additionalProperties": False,
                        "properties": {
                            "id": {"type": "string", "minLength": 1},
                            "type": {"enum": list(self.event_labels)},
                            "trigger": {
                                "type": "object",
                                "required": ["start", "end", "text"],
                                "additionalProperties": False,
                                "properties": offsets,
                            },
                            "arguments": {
                                "type": "array",
                                "items": {
                                    "type": "object",
                                    "required": ["role", "start", "end", "text", "entity_type"],
                                    "additionalProperties": False,
                                    "properties": {
                                        "role": {"enum": list(self.roles)},
                                        **offsets,
                                        "entity_type": {"enum": list(self.entity_labels)},
                                    },
                                },
                            },
                        },
                    },
                }
            }
        else:
            content = {
                "target": {"enum": list(self.target_names)},
                "label": {"enum": list(self.stance_label_names)},
            }
        props = {**common_props, **content}
        return {
            "$schema": DRAFT,
            "$id": f"{SCHEMA_BASE_URI}/{layer}.record.schema.json",
            "title": f"newsanno {layer} annotation record",
            "description": f"One annotator's {layer} annotation of one task. Label sets come from "
            f"ontology {self.name} {self.version}.",
            "type": "object",
            "required": ["layer", "segment_id", "document_id", "text", "annotator", *content],
            "properties": props,
        }

    def task_schema(self, layer: Layer) -> dict[str, Any]:
        """JSON Schema of one Label Studio task of `layer`, as `tasks build` writes it."""
        data_props: dict[str, Any] = {
            "text": {"type": "string", "minLength": 1},
            "document_id": {"type": "string", "minLength": 1},
            "segment_id": {"type": "string", "minLength": 1},
            "doc_start": {"type": "integer", "minimum": 0},
            "doc_end": {"type": "integer", "minimum": 0},
            "section": {"enum": ["headline", "caption", "body"]},
            "context_before": {"type": "string"},
            "context_after": {"type": "string"},
        }
        required = ["text", "document_id", "segment_id", "doc_start", "doc_end", "section"]
        if layer is Layer.STANCE:
            data_props["target"] = {"enum": list(self.target_names)}
            required.append("target")
        task: dict[str, Any] = {
            "$schema": DRAFT,
            "$id": f"{SCHEMA_BASE_URI}/{layer}.task.schema.json",
            "title": f"newsanno {layer} task",
            "type": "object",
            "required": ["data"],
            "properties": {
                "data": {"type": "object", "required": required, "properties": data_props},
                "meta": {"type": "object"},
            },
        }
        if layer is Layer.ENTITIES:
            task["properties"]["predictions"] = {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["model_version", "result"],
                    "properties": {
                        "model_version": {"type": "string"},
                        "result": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["from_name", "to_name", "type", "value"],
                                "properties": {
                                    "type": {"const": "labels"},
                                    "value": {
                                        "type": "object",
                                        "required": ["start", "end", "text", "labels"],
                                        "properties": {
                                            "labels": {
                                                "type": "array",
                                                "items": {"enum": list(self.entity_labels)},
                                            }
                                        },
                                    },
                                },
                            },
                        },
                    },
                },
            }
        return task

    def schemas(self) -> dict[str, dict[str, Any]]:
        """Every generated schema by its file name in schema/."""
        out: dict[str, dict[str, Any]] = {}
        for layer in Layer:
            out[f"{layer}.record.schema.json"] = self.record_schema(layer)
            out[f"{layer}.task.schema.json"] = self.task_schema(layer)
        return out


def packaged_ontology_path() -> Path:
    """The default ontology shipped in the wheel (or the repository's, in a source checkout)."""
    packaged = resources.files("newsanno") / "data" / "ontology.json"
    if packaged.is_file():
        return Path(str(packaged))
    repo = Path(__file__).resolve().parents[2] / "schema" / "ontology.json"
    return repo


def default_ontology_path(workspace: Path | None = None) -> Path:
    local = (workspace or Path.cwd()) / "schema" / "ontology.json"
    return local if local.is_file() else packaged_ontology_path()


def dumps(obj: Any) -> str:
    """Canonical pretty JSON for committed files: sorted keys, UTF-8, trailing newline."""
    return json.dumps(obj, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
