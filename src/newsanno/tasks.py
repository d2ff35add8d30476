"""`newsanno tasks build`: articles → Label Studio tasks and labeling configs, per layer."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .articles import Article
from .errors import TasksError
from .gazetteer import Gazetteer
from .labelconfig import ENTITY_CONTROL, TEXT, label_config
from .layers import LAYERS, Layer
from .ontology import Ontology
from .records import dumps_line, iter_jsonl
from .segment import Segment, segment_article
from .workspace import atomic_dir


@dataclass
class BuildSummary:
    articles: int = 0
    sentences: int = 0
    boilerplate_lines: int = 0
    captions: int = 0
    tasks: dict[str, int] = field(default_factory=lambda: {str(layer): 0 for layer in LAYERS})
    predictions: int = 0
    out: Path | None = None

    def rows(self) -> list[tuple[str, str]]:
        return [
            ("articles", str(self.articles)),
            ("sentences", str(self.sentences)),
            ("captions (kept, marked)", str(self.captions)),
            ("boilerplate lines dropped", str(self.boilerplate_lines)),
            *((f"{layer} tasks", str(n)) for layer, n in self.tasks.items()),
            ("pre-annotated entity spans", str(self.predictions)),
        ]


def _alias_pattern(aliases: Iterable[str]) -> re.Pattern[str]:
    alts = sorted({re.escape(a) for a in aliases}, key=lambda a: (-len(a), a))
    return re.compile(r"(?<![\w.])(?:" + "|".join(alts) + r")(?!\w)")


def targets_mentioned(text: str, ontology: Ontology) -> list[str]:
    """Stance targets named in `text` by name or alias (case-sensitive, whole words)."""
    return [
        t.name for t in ontology.stance_targets if _alias_pattern((t.name, *t.aliases)).search(text)
    ]


def region_id(*parts: object) -> str:
    return hashlib.sha1(repr(parts).encode()).hexdigest()[:10]


def _task_data(seg: Segment, before: str, after: str) -> dict[str, Any]:
    return {
        "text": seg.text,
        "document_id": seg.document_id,
        "segment_id": seg.segment_id,
        "doc_start": seg.start,
        "doc_end": seg.end,
        "section": seg.section,
        "context_before": before,
        "context_after": after,
    }


def entity_prediction(seg: Segment, gazetteer: Gazetteer) -> dict[str, Any] | None:
    result = [
        {
            "id": region_id(seg.segment_id, m.start, m.end, m.label),
            "from_name": ENTITY_CONTROL,
            "to_name": TEXT,
            "type": "labels",
            "value": {
                "start": m.start,
                "end": m.end,
                "text": seg.text[m.start : m.end],
                "labels": [m.label],
            },
        }
        for m in gazetteer.find(seg.text)
    ]
    if not result:
        return None
    return {"model_version": gazetteer.model_version, "result": result}


def iter_tasks(
    articles: Iterable[Article], ontology: Ontology, gazetteer: Gazetteer, summary: BuildSummary
) -> Iterator[tuple[Layer, dict[str, Any]]]:
    meta = {"ontology": ontology.fingerprint}
    for article in articles:
        seg = segment_article(article.document_id, article.text, article.captions)
        summary.articles += 1
        summary.boilerplate_lines += len(seg.dropped_lines)
        segments = seg.segments
        for i, s in enumerate(segments):
            summary.sentences += 1
            summary.captions += s.section == "caption"
            before = segments[i - 1].text if i > 0 else ""
            after = segments[i + 1].text if i + 1 < len(segments) else ""
            data = _task_data(s, before, after)
            entity_task: dict[str, Any] = {"data": data, "meta": {**meta, "layer": "entities"}}
            prediction = entity_prediction(s, gazetteer)
            if prediction:
                entity_task["predictions"] = [prediction]
                summary.predictions += len(prediction["result"])
            yield Layer.ENTITIES, entity_task
            yield Layer.EVENTS, {"data": data, "meta": {**meta, "layer": "events"}}
            for target in targets_mentioned(s.text, ontology):
                yield (
                    Layer.STANCE,
                    {
                        "data": {**data, "target": target},
                        "meta": {**meta, "layer": "stance"},
                    },
                )


def build_tasks(
    articles: Iterable[Article], ontology: Ontology, gazetteer: Gazetteer, out: Path
) -> BuildSummary:
    """Write `<layer>.jsonl` and `<layer>.xml` for every layer into `out`, atomically."""
    summary = BuildSummary(out=Path(out))
    with atomic_dir(Path(out)) as tmp:
        with ExitStack() as stack:
            files = {
                layer: stack.enter_context(open(tmp / f"{layer}.jsonl", "wb")) for layer in LAYERS
            }
            for layer, task in iter_tasks(articles, ontology, gazetteer, summary):
                files[layer].write(dumps_line(task))
                summary.tasks[str(layer)] += 1
        for layer in LAYERS:
            (tmp / f"{layer}.xml").write_text(label_config(layer, ontology), encoding="utf-8")
    return summary


def read_tasks(path: Path) -> list[dict[str, Any]]:
    """Tasks from a `<layer>.jsonl`; a broken line is named."""
    if not Path(path).is_file():
        raise TasksError(f"{path}: no such file. Run 'newsanno tasks build' first.")
    tasks = []
    for lineno, task in _iter_task_lines(Path(path)):
        if not isinstance(task, dict) or not isinstance(task.get("data"), dict):
            raise TasksError(f"{path}:{lineno}: a task must be an object with a 'data' object.")
        tasks.append(task)
    return tasks


def _iter_task_lines(path: Path) -> Iterator[tuple[int, Any]]:
    try:
        yield from iter_jsonl(path)
    except Exception as exc:  # InvalidAnnotations from iter_jsonl: say it as a tasks problem
        raise TasksError(str(exc)) from None


def gazetteer_for(seeds: Path, ontology: Ontology) -> Gazetteer:
    """The gazetteer from the gold entity mentions in `seeds/*.annotations.jsonl`."""
    mentions: list[tuple[str, str]] = []
    for path in sorted(Path(seeds).glob("*.annotations.jsonl")):
        try:
            for _, raw in iter_jsonl(path):
                for e in raw.get("entities", ()) if isinstance(raw, dict) else ():
                    mentions.append((e.get("text", ""), e.get("label", "")))
        except Exception as exc:
            raise TasksError(f"{exc} (gold annotations are read for pre-annotations)") from None
    return Gazetteer.build(ontology, mentions)
