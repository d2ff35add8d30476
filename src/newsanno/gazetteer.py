"""Pre-annotations for entity tasks: a gazetteer built from the seeds' gold mentions, plus date
rules. Labels come from the ontology; a mention whose label the ontology lacks is ignored."""

from __future__ import annotations

import hashlib
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property

from .ontology import Ontology

_MONTHS = "January|February|March|April|May|June|July|August|September|October|November|December"
_DAYS = "Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday"
DATE_RULES = (
    rf"(?:{_MONTHS})(?:\s+\d{{1,2}})?(?:,?\s+(?:19|20)\d\d)?",
    rf"(?:{_DAYS})",
    r"(?:19|20)\d\d",
    r"(?:last|next|this)\s+(?:week|month|year)",
)


@dataclass(frozen=True)
class Match:
    start: int
    end: int
    label: str


@dataclass(frozen=True)
class Gazetteer:
    entries: tuple[tuple[str, str], ...]  # (surface form, label), sorted
    date_label: str | None

    @classmethod
    def build(cls, ontology: Ontology, mentions: Iterable[tuple[str, str]] = ()) -> Gazetteer:
        """`mentions` are (text, label) pairs from gold annotations; each surface form gets its
        most frequent label (ties broken by name, so the result is deterministic)."""
        votes: dict[str, Counter[str]] = defaultdict(Counter)
        allowed = set(ontology.entity_labels)
        for text, label in mentions:
            if label in allowed and text.strip():
                votes[text][label] += 1
        entries = tuple(
            sorted((text, min(c, key=lambda lab: (-c[lab], lab))) for text, c in votes.items())
        )
        return cls(entries, "DATE" if "DATE" in allowed else None)

    @cached_property
    def model_version(self) -> str:
        blob = repr((self.entries, self.date_label, DATE_RULES)).encode()
        return f"newsanno-gazetteer-{hashlib.sha256(blob).hexdigest()[:8]}"

    @cached_property
    def _pattern(self) -> re.Pattern[str]:
        # Known surface forms first, longest first, so "September this year" beats the month
        # rule and "Deir Ezzor province" beats "Deir Ezzor"; the date rules come last.
        alts = sorted((re.escape(text) for text, _ in self.entries), key=lambda a: (-len(a), a))
        if self.date_label:
            alts += list(DATE_RULES)
        if not alts:
            return re.compile(r"(?!x)x")
        return re.compile(r"(?<!\w)(?:" + "|".join(alts) + r")(?!\w)")

    @cached_property
    def _labels(self) -> dict[str, str]:
        return dict(self.entries)

    def find(self, text: str) -> list[Match]:
        """Non-overlapping matches, leftmost-longest."""
        out = []
        for m in self._pattern.finditer(text):
            label = self._labels.get(m.group()) or self.date_label
            if label:
                out.append(Match(m.start(), m.end(), label))
        return out
