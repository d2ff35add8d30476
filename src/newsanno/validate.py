"""Validation of annotation records: the layer's JSON Schema, then the ontology's rules.

The schema (`Ontology.record_schema(layer)`, the files in `schema/`) says what a record looks like;
the rules say what the schema cannot: a role must belong to its event type, a span must lie inside
the text (`0 <= start < end <= len(text)`) and `text[start:end]` must equal the span's text.

`RecordChecker` checks one record dict and is shared with the import step. `validate_files` checks
canonical record files (JSON Lines) and Label Studio full-JSON export files and returns every
problem, each with its file, line and path, e.g.

    annotations/entities.jsonl:12 entities/0/end: 58 is past the end of the text (52)

jsonschema is the source of every schema message. When `jsonschema_rs` is installed, it answers
"is this record valid?" first (about 100 times faster) and jsonschema only runs on records that
fail.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import orjson

from .errors import InvalidAnnotations
from .layers import LAYERS, Layer
from .ontology import Ontology

ROOT = "(root)"
_LAYER_OF: dict[str, Layer] = {str(layer): layer for layer in LAYERS}
# In an annotations folder: the sha256 of each record file `annotations import` wrote with every
# record checked, and the checker's fingerprint (see `RecordChecker.fingerprint`).
CHECKED_FILE = ".checked.json"


def checked_files(folder: Path, checker: RecordChecker) -> dict[str, str]:
    """File name → sha256 of the record files of `folder` recorded as checked under `checker`
    (empty when none, or when the checks have changed since)."""
    try:
        raw = orjson.loads((Path(folder) / CHECKED_FILE).read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return {}
    if not isinstance(raw, dict) or raw.get("checker") != checker.fingerprint:
        return {}
    files = raw.get("files")
    return {k: v for k, v in files.items() if isinstance(v, str)} if isinstance(files, dict) else {}


@dataclass(frozen=True, order=True)
class Problem:
    """One problem, where it is: `FILE:LINE path: message`."""

    file: str
    line: int
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line} {self.path}: {self.message}"


def _fast_validator(schema: dict[str, Any]) -> Callable[[Any], bool] | None:
    """A compiled "is it valid?" check from `jsonschema_rs` when it is installed, else None."""
    try:
        import jsonschema_rs  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        return None
    return jsonschema_rs.validator_for(schema).is_valid  # type: ignore[no-any-return]


def _path(parts: Iterable[Any]) -> str:
    return "/".join(str(p) for p in parts) or ROOT


def _quote(s: str) -> str:
    return orjson.dumps(s).decode()


class RecordChecker:
    """Checks record dicts against the layer's JSON Schema and the ontology's rules."""

    def __init__(self, ontology: Ontology, *, fast: bool = True) -> None:
        self.ontology = ontology
        self._schemas = {layer: ontology.record_schema(layer) for layer in LAYERS}
        self._validators = {
            layer: jsonschema.Draft202012Validator(schema)
            for layer, schema in self._schemas.items()
        }
        self._fast = {
            layer: (_fast_validator(schema) if fast else None)
            for layer, schema in self._schemas.items()
        }

    @property
    def fingerprint(self) -> str:
        """A digest of everything the checks depend on (schemas, roles per event type): a file
        checked under the same fingerprint needs no second check while its bytes are the same."""
        rules = {
            "schemas": {str(k): v for k, v in self._schemas.items()},
            "roles_by_event": self.ontology.roles_by_event,
        }
        return hashlib.sha256(orjson.dumps(rules, option=orjson.OPT_SORT_KEYS)).hexdigest()

    def problems(self, record: Any) -> list[tuple[str, str]]:
        """Every (path, message) wrong with `record`; empty when it is valid."""
        if not isinstance(record, dict):
            return [(ROOT, f"a record must be a JSON object, not {type(record).__name__}")]
        raw_layer = record.get("layer")
        layer = _LAYER_OF.get(raw_layer) if isinstance(raw_layer, str) else None
        if layer is None:
            if "layer" not in record:
                return [(ROOT, "'layer' is a required property")]
            choices = ", ".join(str(layer) for layer in LAYERS)
            return [("layer", f"{raw_layer!r} is not one of {choices}")]
        out = self.schema_problems(layer, record)
        out += self.rule_problems(layer, record)
        return out

    def schema_problems(self, layer: Layer, record: dict[str, Any]) -> list[tuple[str, str]]:
        fast = self._fast[layer]
        if fast is not None and fast(record):
            return []
        errors = self._validators[layer].iter_errors(record)
        found = [(_path(e.absolute_path), e.message) for e in errors]
        return sorted(found, key=lambda pm: _path_key(pm[0]))

    def rule_problems(self, layer: Layer, record: dict[str, Any]) -> list[tuple[str, str]]:
        text = record.get("text")
        if not isinstance(text, str):
            return []  # the schema has said so
        out: list[tuple[str, str]] = []
        if layer is Layer.ENTITIES:
            entities = record.get("entities")
            if not isinstance(entities, list):
                return out
            n = len(text)
            for i, entity in enumerate(entities):
                if not isinstance(entity, dict):
                    continue
                # the common case at once: int offsets inside the text that say its text
                start, end, span_text = entity.get("start"), entity.get("end"), entity.get("text")
                if (
                    type(start) is int
                    and type(end) is int
                    and 0 <= start < end <= n
                    and (not isinstance(span_text, str) or text[start:end] == span_text)
                ):
                    continue
                out += _span_problems(text, entity, f"entities/{i}")
        elif layer is Layer.EVENTS:
            roles_by_event = self.ontology.roles_by_event
            for i, event in _items(record.get("events")):
                out += _span_problems(text, event.get("trigger"), f"events/{i}/trigger")
                allowed = roles_by_event.get(event.get("type"))  # type: ignore[arg-type]
                for k, arg in _items(event.get("arguments")):
                    where = f"events/{i}/arguments/{k}"
                    out += _span_problems(text, arg, where)
                    role = arg.get("role")
                    if allowed is not None and isinstance(role, str) and role not in allowed:
                        out.append(
                            (
                                f"{where}/role",
                                f"{role!r} is not a role of {event['type']} "
                                f"(allowed: {', '.join(allowed)})",
                            )
                        )
        return out


def _items(value: Any) -> Iterator[tuple[int, dict[str, Any]]]:
    if isinstance(value, list):
        for i, item in enumerate(value):
            if isinstance(item, dict):
                yield i, item


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _span_problems(text: str, span: Any, where: str) -> list[tuple[str, str]]:
    """A span lies inside the text, is not empty, and its text is what the offsets say."""
    if not isinstance(span, dict):
        return []
    start, end, span_text = span.get("start"), span.get("end"), span.get("text")
    if not (isinstance(start, int) and isinstance(end, int)):
        return []  # the schema has said so
    if isinstance(start, bool) or isinstance(end, bool):
        return []
    if start < 0:
        return []  # the schema has said so
    if start >= end:
        return [(f"{where}/end", f"end {end} must be greater than start {start}")]
    if end > len(text):
        return [(f"{where}/end", f"{end} is past the end of the text ({len(text)})")]
    if isinstance(span_text, str) and text[start:end] != span_text:
        return [
            (
                f"{where}/text",
                f"text[{start}:{end}] is {_quote(text[start:end])}, not {_quote(span_text)}",
            )
        ]
    return []


def _path_key(path: str) -> tuple[Any, ...]:
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in path.split("/"))


# ---- files ---------------------------------------------------------------------------------


def _first_byte(path: Path) -> bytes:
    with open(path, "rb") as fh:
        while chunk := fh.read(4096):
            stripped = chunk.lstrip(b"\xef\xbb\xbf \t\r\n")
            if stripped:
                return stripped[:1]
    return b""


def validate_files(paths: Sequence[Path], ontology: Ontology) -> list[Problem]:
    """Every problem in the given record files and Label Studio export files, in file order.

    A file whose first character is `[` is read as a Label Studio full-JSON export and checked the
    way `annotations import` would convert it; any other file as canonical records, one per line.
    """
    checker = RecordChecker(ontology)
    problems: list[Problem] = []
    for path in paths:
        path = Path(path)
        if not path.is_file():
            raise InvalidAnnotations(
                f"{path}: no such file. Name record files (annotations/*.jsonl) or export files."
            )
        if _first_byte(path) == b"[":
            from .importer import check_export

            problems += check_export(path, ontology, checker)
        else:
            problems += check_record_file(path, checker)
    return problems


def check_record_file(path: Path, checker: RecordChecker) -> list[Problem]:
    """Problems of a JSON Lines file of canonical records (a quarantine file's lines count too)."""
    name = str(path)
    out: list[Problem] = []
    seen: dict[Any, int] = {}
    with open(path, "rb") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                record = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                reason = str(exc).split(": line ")[0]
                column = exc.colno if exc.lineno == 1 else len(line.rstrip(b"\r\n")) + 1
                out.append(
                    Problem(name, lineno, ROOT, f"not valid JSON ({reason} at column {column})")
                )
                continue
            if isinstance(record, dict) and set(record) == {"record", "errors"}:
                for error in record["errors"] or ["quarantined"]:
                    out.append(Problem(name, lineno, "(quarantined)", str(error)))
                continue
            for where, message in checker.problems(record):
                out.append(Problem(name, lineno, where, message))
            if isinstance(record, dict):
                key = (record.get("layer"), orjson.dumps(record.get("annotation_id")))
                if record.get("annotation_id") is not None and key in seen:
                    out.append(
                        Problem(
                            name,
                            lineno,
                            "annotation_id",
                            f"{record['annotation_id']} appears twice (first on line {seen[key]})",
                        )
                    )
                seen.setdefault(key, lineno)
    return out
