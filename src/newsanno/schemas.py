"""The JSON Schemas in schema/: generated from the ontology, checked for staleness by tests."""

from __future__ import annotations

from pathlib import Path

from .ontology import Ontology, dumps
from .workspace import write_atomic


def write_schemas(ontology: Ontology, out: Path) -> list[Path]:
    written = []
    for name, schema in sorted(ontology.schemas().items()):
        path = Path(out) / name
        write_atomic(path, dumps(schema))
        written.append(path)
    return written
