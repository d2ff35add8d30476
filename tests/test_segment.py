"""Segmentation: exact offsets, boilerplate, and the traps of news text."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from newsanno.segment import (
    segment_article,
    split_lines,
    token_offsets,
    token_offsets_many,
    tokenize,
)


def sentences(text: str, **kw: object) -> list[str]:
    return [s.text for s in segment_article("doc", text, **kw).segments]  # type: ignore[arg-type]


def test_abbreviations_do_not_break_sentences() -> None:
    text = "The U.S. and the U.N. met Mr. Smith on Friday. Talks went on."
    assert sentences(text) == [
        "The U.S. and the U.N. met Mr. Smith on Friday.",
        "Talks went on.",
    ]


def test_quote_with_attribution_is_one_sentence() -> None:
    text = '"We liberated the city," the ministry said. It gave no figures.'
    assert sentences(text) == ['"We liberated the city," the ministry said.', "It gave no figures."]


def test_opening_quote_starts_the_next_sentence() -> None:
    text = 'Troops arrived on Friday. "We will stay," a commander said.'
    assert sentences(text) == ["Troops arrived on Friday.", '"We will stay," a commander said.']


def test_dashes_and_emoji_keep_offsets() -> None:
    text = "Raqqa -- the de facto capital 🙂 -- fell last month. Civilians fled — many on foot."
    seg = segment_article("doc", text)
    assert [s.text for s in seg.segments] == [
        "Raqqa -- the de facto capital 🙂 -- fell last month.",
        "Civilians fled — many on foot.",
    ]
    for s in seg.segments:
        assert text[s.start : s.end] == s.text


def test_dateline_is_cut_off() -> None:
    for source in ("CNN", "Reuters", "Example Wire"):
        text = f"Headline here\n\n({source})The army took the city. It was over."
        segs = segment_article("doc", text).segments
        body = [s for s in segs if s.section == "body"]
        assert body[0].text == "The army took the city."
        assert segs[0].section == "headline"


def test_video_widget_and_repeated_lines_are_dropped() -> None:
    text = (
        "Page title - CNN\n\n"
        "Real headline\n\n"
        "(CNN)First sentence.\n"
        "Some video title\n"
        "    JUST WATCHED\n\n"
        "    Some video title\n\n"
        "MUST WATCH\n\n"
        "Some video title 03:15\n"
        "Second paragraph sentence.\n"
    )
    seg = segment_article("doc", text)
    assert [s.text for s in seg.segments] == [
        "Real headline",
        "First sentence.",
        "Second paragraph sentence.",
    ]
    dropped = {line.text.strip() for line in seg.dropped_lines}
    assert dropped == {
        "Page title - CNN",
        "Some video title",
        "JUST WATCHED",
        "MUST WATCH",
        "Some video title 03:15",
    }


def test_captions_are_kept_and_marked() -> None:
    text = "Headline\n\nA photo caption.\n\n(CNN)Body one. Body two.\nTroops stand in a square.\n"
    seg = segment_article("doc", text, captions=["Troops stand in a square."])
    assert [(s.section, s.text) for s in seg.segments] == [
        ("headline", "Headline"),
        ("caption", "A photo caption."),
        ("body", "Body one."),
        ("body", "Body two."),
        ("caption", "Troops stand in a square."),
    ]


def test_crlf_is_kept_as_it_is() -> None:
    text = "Headline\r\n\r\n(CNN)One here. Two there.\r\nThree.\r\n"
    for s in segment_article("doc", text).segments:
        assert text[s.start : s.end] == s.text
        assert "\r" not in s.text and "\n" not in s.text
    assert [(ln.start, ln.end) for ln in split_lines("a\r\nb\n\nc")] == [
        (0, 1),
        (3, 4),
        (5, 5),
        (6, 7),
    ]


def test_tokens_split_possessives_and_hyphens() -> None:
    assert [t.text for t in tokenize("ISIS' defeat, US-backed Syria's")] == [
        "ISIS",
        "'",
        "defeat",
        ",",
        "US",
        "-",
        "backed",
        "Syria",
        "'s",
    ]


news_alphabet = st.sampled_from(
    list("abc XYZ.,;:!?\"'()-–—\r\n\t")
    + ["U.S.", "Mr.", "🙂", "👍🏽", "é", "(CNN)", "JUST WATCHED", "03:15"]
)


@settings(max_examples=200, deadline=None)
@given(st.lists(news_alphabet, max_size=60).map("".join))
def test_every_segment_is_an_exact_slice(text: str) -> None:
    seg = segment_article("doc", text)
    previous_end = 0
    for s in seg.segments:
        assert text[s.start : s.end] == s.text
        assert s.text == s.text.strip() and s.text
        assert s.start >= previous_end
        previous_end = s.end


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=80))
def test_tokens_are_exact_slices(text: str) -> None:
    for t in tokenize(text):
        assert text[t.start : t.end] == t.text and t.text.strip()


@given(st.one_of(st.text(max_size=80), st.lists(news_alphabet, max_size=60).map("".join)))
def test_token_offsets_are_those_of_tokenize(text: str) -> None:
    """Publish's offsets-only tokenization gives exactly `tokenize`'s tokens."""
    starts, ends = token_offsets(text)
    assert list(zip(starts, ends, strict=True)) == [(t.start, t.end) for t in tokenize(text)]


texts = st.one_of(st.text(max_size=60), st.lists(news_alphabet, max_size=40).map("".join))


@settings(max_examples=200, deadline=None)
@given(st.lists(texts, max_size=8))
def test_texts_tokenized_together_get_their_own_tokens(batch: list[str]) -> None:
    """Sentences tokenized in one call (publish's rows) get exactly the tokens each gets alone,
    whatever they start or end with (spaces, quotes, emoji, dashes, nothing at all)."""
    assert token_offsets_many(batch) == [token_offsets(text) for text in batch]


def test_texts_tokenized_together_edge_cases() -> None:
    batch = ["", "U.S. Sen. Smith said: ", " \n", "He left.\n\n", "'We won,' she said 😀", "—"]
    assert token_offsets_many(batch) == [token_offsets(text) for text in batch]
    assert token_offsets_many([]) == []
