"""Articles → sentences with exact character offsets into the file text.

spaCy's rule-based English tokenizer (no model download) does the tokens — it knows "U.S.",
"Mr." and emoji — and its `sentencizer` the sentence boundaries. Tokens for the dataset's BIO
columns come from the same tokenizer (`tokenize`), so spans and tokens agree.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

Section = Literal["headline", "caption", "body"]

# Lines of a news page that are not annotation material.
_WIDGET_MARKERS = frozenset({"JUST WATCHED", "MUST WATCH", "RELATED", "READ MORE", "ADVERTISEMENT"})
_DURATION = re.compile(r"^(?P<title>.*\S)\s+\d{1,2}:\d{2}(?::\d{2})?$")
_PAGE_TITLE = re.compile(r"^.+\s[-|–—]\s[A-Z][\w.&' ]{0,40}$")
# "(CNN)", "(Reuters)", "(Example Wire)" glued to the start of the first sentence, with an
# optional dash after it.
_DATELINE = re.compile(r"^\((?P<source>[A-Z][\w.&' -]{0,40})\)\s*(?:[-–—]\s*)?")
_QUOTES = frozenset({'"', "“", "”", "'", "‘", "’", "«", "»"})


@dataclass(frozen=True)
class Segment:
    """A sentence: `article.text[start:end] == text`."""

    document_id: str
    start: int
    end: int
    text: str
    section: Section

    @property
    def segment_id(self) -> str:
        return f"{self.document_id}:{self.start}-{self.end}"


@dataclass(frozen=True)
class Line:
    start: int
    end: int  # exclusive, without the line break
    text: str


@dataclass(frozen=True)
class Segmentation:
    segments: tuple[Segment, ...]
    dropped_lines: tuple[Line, ...]  # boilerplate, with offsets, for the summary and tests


@lru_cache(maxsize=1)
def _nlp() -> Any:
    import spacy

    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    nlp.add_pipe("newsanno_opening_quotes", after="sentencizer")
    return nlp


def _register_components() -> None:
    from spacy.language import Language

    if "newsanno_opening_quotes" in Language.factories:
        return

    @Language.component("newsanno_opening_quotes")
    def opening_quotes(doc: Any) -> Any:
        # The sentencizer keeps a quote after "." with the sentence before it. That is right for
        # a closing quote ('… said."') but wrong for an opening one ('Friday. "We …'): a quote
        # with a space before it and none after it opens the next sentence.
        for i in range(2, len(doc)):
            tok, quote, prev = doc[i], doc[i - 1], doc[i - 2]
            if (
                tok.is_sent_start
                and quote.text in _QUOTES
                and prev.whitespace_
                and not quote.whitespace_
            ):
                quote.is_sent_start = True
                tok.is_sent_start = False
        return doc


def split_lines(text: str) -> list[Line]:
    """Lines with their offsets; `\\r\\n`, `\\r` and `\\n` all end a line and are not part of it."""
    lines, pos = [], 0
    for m in re.finditer(r"\r\n|\r|\n", text):
        lines.append(Line(pos, m.start(), text[pos : m.start()]))
        pos = m.end()
    lines.append(Line(pos, len(text), text[pos:]))
    return lines


def boilerplate(lines: list[Line]) -> set[int]:
    """Indexes of lines that are page furniture rather than article text."""
    drop: set[int] = set()
    stripped = [line.text.strip() for line in lines]
    nonblank = [i for i, s in enumerate(stripped) if s]
    if not nonblank:
        return drop
    # The page-title line ("Headline - CNN") at the top.
    first = nonblank[0]
    if _PAGE_TITLE.match(stripped[first]):
        drop.add(first)
    # Video widgets: the markers, titles with a duration, and every line repeating such a title.
    widget_titles: set[str] = set()
    for i in nonblank:
        s = stripped[i]
        if s.upper() in _WIDGET_MARKERS:
            drop.add(i)
        m = _DURATION.match(s)
        if m:
            drop.add(i)
            widget_titles.add(m["title"])
    # Repeated lines: a line said twice is a widget or a teaser, not article text.
    counts = Counter(stripped[i] for i in nonblank)
    for i in nonblank:
        if stripped[i] in widget_titles or counts[stripped[i]] > 1:
            drop.add(i)
    return drop


def segment_article(document_id: str, text: str, captions: Iterable[str] = ()) -> Segmentation:
    """Split an article's text into sentences, dropping boilerplate lines.

    The first kept line before the line that carries the dateline is the headline; kept lines
    between them are photo captions, as are lines listed in `captions` (from the metadata).
    """
    nlp = _nlp()
    lines = split_lines(text)
    drop = boilerplate(lines)
    caption_set = {c.strip() for c in captions}
    kept = [i for i, line in enumerate(lines) if line.text.strip() and i not in drop]
    dateline_at = next((i for i in kept if _DATELINE.match(lines[i].text.lstrip())), None)

    segments: list[Segment] = []
    for n, i in enumerate(kept):
        line = lines[i]
        section: Section = "body"
        if line.text.strip() in caption_set:
            section = "caption"
        elif dateline_at is not None and i < dateline_at:
            section = "headline" if n == 0 else "caption"
        offset = line.start
        body = line.text
        lead = len(body) - len(body.lstrip())
        m = _DATELINE.match(body[lead:])
        if m:
            lead += m.end()
        body_start = offset + lead
        content = body[lead:]
        if section != "body":
            sentences = [(0, len(content))]
        else:
            doc = nlp(content)
            sentences = [(s.start_char, s.end_char) for s in doc.sents]
        for s, e in sentences:
            piece = content[s:e]
            s += len(piece) - len(piece.lstrip())
            e -= len(piece) - len(piece.rstrip())
            if e <= s:
                continue
            start, end = body_start + s, body_start + e
            segments.append(Segment(document_id, start, end, text[start:end], section))
    return Segmentation(tuple(segments), tuple(lines[i] for i in sorted(drop)))


@dataclass(frozen=True)
class Token:
    start: int
    end: int
    text: str


def tokenize(text: str) -> list[Token]:
    """Tokens with character offsets (end-exclusive), whitespace dropped."""
    from spacy.attrs import IDX, IS_SPACE, LENGTH

    doc = _nlp().tokenizer(text)
    # to_array avoids building a spaCy Token object per token (3x faster on news sentences).
    return [
        Token(start, start + length, text[start : start + length])
        for start, length, is_space in doc.to_array([IDX, LENGTH, IS_SPACE]).tolist()
        if not is_space
    ]


def token_offsets(text: str) -> tuple[list[int], list[int]]:
    """The starts and ends of `tokenize(text)`, without a `Token` per token (publish's rows)."""
    from spacy.attrs import IDX, IS_SPACE, LENGTH

    a = _nlp().tokenizer(text).to_array([IDX, LENGTH, IS_SPACE])
    a = a[a[:, 2] == 0]
    starts = a[:, 0]
    return starts.tolist(), (starts + a[:, 1]).tolist()


# Texts tokenized together are joined by this: whitespace, so no token can span two texts.
_JOIN = "\n\n"


def token_offsets_many(texts: Sequence[str]) -> list[tuple[list[int], list[int]]]:
    """`token_offsets` of each text, made with one call of the tokenizer for all of them.

    spaCy's tokenizer first cuts its input at whitespace and then tokenizes each run of
    non-space characters on its own, so texts joined by a blank line give each text's tokens,
    shifted by where it starts (whitespace tokens are dropped, as in `tokenize`). One `Doc` for
    many sentences instead of one per sentence: about twice as fast on news sentences.
    """
    from spacy.attrs import IDX, IS_SPACE, LENGTH

    if not texts:
        return []
    a = _nlp().tokenizer(_JOIN.join(texts)).to_array([IDX, LENGTH, IS_SPACE])
    a = a[a[:, 2] == 0]
    starts: list[int] = a[:, 0].tolist()
    ends: list[int] = (a[:, 0] + a[:, 1]).tolist()
    out = []
    base = first = 0
    for text in texts:
        end = base + len(text)
        last = bisect_left(starts, end, first)
        out.append(([s - base for s in starts[first:last]], [e - base for e in ends[first:last]]))
        base, first = end + len(_JOIN), last
    return out


_register_components()
