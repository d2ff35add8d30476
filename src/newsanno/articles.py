"""Seed articles: one UTF-8 `.txt` per article (its stem is the document id) and optional
`<stem>.json` metadata (title, source, url, published, license, captions)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import SeedError


@dataclass(frozen=True)
class Article:
    document_id: str
    text: str
    path: Path
    metadata: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)

    @property
    def captions(self) -> tuple[str, ...]:
        return tuple(self.metadata.get("captions", ()))


def read_article(path: Path) -> Article:
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SeedError(
            f"{path}: not UTF-8 ({exc.reason} at byte {exc.start}). Save the article as UTF-8."
        ) from None
    if text.startswith("\ufeff"):
        raise SeedError(f"{path}: starts with a byte-order mark. Save it as UTF-8 without BOM.")
    meta_path = path.with_suffix(".json")
    metadata: dict[str, Any] = {}
    if meta_path.is_file():
        try:
            metadata = json.loads(meta_path.read_text(encoding="utf-8"))
        except UnicodeDecodeError as exc:
            raise SeedError(f"{meta_path}: not UTF-8 (byte {exc.start}).") from None
        except json.JSONDecodeError as exc:
            raise SeedError(
                f"{meta_path}:{exc.lineno}: not valid JSON ({exc.msg}). Fix the metadata file."
            ) from None
        if not isinstance(metadata, dict):
            raise SeedError(f"{meta_path}: metadata must be a JSON object.")
    return Article(path.stem, text, path, metadata)


def load_articles(seeds: Path) -> list[Article]:
    """Every article in `seeds`, sorted by document id."""
    seeds = Path(seeds)
    if not seeds.is_dir():
        raise SeedError(f"{seeds}: no such folder. Put one UTF-8 .txt file per article there.")
    paths = sorted(p for p in seeds.glob("*.txt") if p.is_file())
    if not paths:
        raise SeedError(
            f"{seeds}: no .txt articles found. Put one UTF-8 .txt file per article there."
        )
    return [read_article(p) for p in paths]
