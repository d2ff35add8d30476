"""Gold annotations of the seed article, written as data, and the code that turns them into records.

The annotations below follow `schema/GUIDELINES.md`. They name spans by their surface string;
every offset is computed here from the strings (never typed by hand). A string that is not found
on token boundaries, or that occurs more than once without an occurrence index, stops the script.

Per sentence (found by an unambiguous prefix of its text):
- entities: (surface, label) or (surface, label, occurrence) — the flat named-mention layer;
- events: (event type, trigger, [(role, argument, entity type[, occurrence]), ...]), where the
  trigger is a string or (string, occurrence);
- stance: (target, label) for every stance task of the sentence, and only those.

Run it from the repository root; it rewrites `seeds/<stem>.annotations.jsonl`:

    .venv/bin/python scripts/seed_gold.py          # writes the file
    .venv/bin/python scripts/seed_gold.py --show   # prints each sentence, spans bracketed
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import jsonschema

from newsanno.articles import read_article
from newsanno.layers import LAYERS, Layer
from newsanno.ontology import Ontology
from newsanno.records import (
    Argument,
    Entity,
    Event,
    Record,
    Span,
    dumps_line,
    record_sort_key,
)
from newsanno.segment import Segment, segment_article, tokenize
from newsanno.tasks import targets_mentioned
from newsanno.workspace import write_atomic

ROOT = Path(__file__).resolve().parent.parent
DOCUMENT_ID = "cnn-2017-11-03-deir-ezzor"
ARTICLE = ROOT / "seeds" / f"{DOCUMENT_ID}.txt"
OUTPUT = ROOT / "seeds" / f"{DOCUMENT_ID}.annotations.jsonl"
ONTOLOGY = ROOT / "schema" / "ontology.json"
ANNOTATOR = "seed-gold"

Ref = str | tuple[str, int]  # a surface string, or (string, occurrence index) when it repeats
EntitySpec = tuple[str, str] | tuple[str, str, int]
ArgSpec = tuple[str, str, str] | tuple[str, str, str, int]
EventSpec = tuple[str, Ref, Sequence[ArgSpec]]

ATTACK = "Conflict.Attack"
BESIEGE = "Conflict.Besiege"
DEMONSTRATE = "Conflict.Demonstrate"
TRANSFER = "Transaction.TransferControl"
DIE = "Life.Die"
INJURE = "Life.Injure"
TRANSPORT = "Movement.Transport"
STATEMENT = "Contact.Statement"


@dataclass(frozen=True)
class Gold:
    prefix: str
    entities: Sequence[EntitySpec] = ()
    events: Sequence[EventSpec] = ()
    stance: Sequence[tuple[str, str]] = ()


# fmt: off
GOLD: tuple[Gold, ...] = (
    Gold(
        "ISIS ousted from last major city in Syria",  # headline
        entities=[("ISIS", "ORG"), ("Syria", "GPE")],
        events=[
            (TRANSFER, "ousted", [
                ("Giver", "ISIS", "ORG"),
                ("Territory", "last major city", "GPE"),
                ("Place", "Syria", "GPE"),
            ]),
            (STATEMENT, "reports", [("Speaker", "state media", "ORG")]),
        ],
        stance=[("ISIS", "against")],
    ),
    Gold(
        "Smoke billows from Deir Ezzor",  # caption
        entities=[("Deir Ezzor", "GPE"), ("ISIS", "ORG"), ("Thursday", "DATE")],
        events=[
            (ATTACK, "operation", [
                ("Target", "ISIS fighters", "PER"),
                ("Place", "Deir Ezzor", "GPE"),  # the smoke rises from the operation's scene
            ]),
        ],
        stance=[("ISIS", "against")],  # the target of a military operation
    ),
    Gold(
        "The Syrian army and allied forces have taken full control",
        entities=[
            ("Syrian army", "ORG"), ("Deir Ezzor", "GPE"), ("Syrian", "NORP", 1),
            ("ISIS", "ORG"), ("Syria", "GPE"), ("Defense Ministry", "ORG"), ("Friday", "DATE"),
        ],
        events=[
            (TRANSFER, "taken full control", [
                ("Recipient", "Syrian army", "ORG"),
                ("Recipient", "allied forces", "ORG"),
                ("Territory", "Deir Ezzor", "GPE"),
                ("Giver", "ISIS", "ORG"),  # "the last major Syrian city in ISIS' hands"
            ]),
            (STATEMENT, "said", [
                ("Speaker", "Defense Ministry", "ORG"),
                ("Speaker", "state media", "ORG"),
            ]),
        ],
        stance=[("ISIS", "against"), ("Syrian government", "favor")],
    ),
    Gold(
        "\"Syria's Army in cooperation with allied forces liberated",
        entities=[
            ("Syria", "GPE"), ("Army", "ORG"), ("Deir Ezzor", "GPE"), ("ISIS", "ORG"),
            ("Syrian Defense ministry", "ORG"),
        ],
        events=[
            (TRANSFER, "liberated", [
                ("Recipient", "Army", "ORG"),
                ("Recipient", "allied forces", "ORG"),
                ("Territory", "Deir Ezzor", "GPE"),
                ("Giver", "ISIS", "ORG"),
            ]),
            (DIE, "killing", [
                ("Agent", "Army", "ORG"),
                ("Agent", "allied forces", "ORG"),
                ("Victim", "terrorists", "PER"),
                ("Victim", "foreigners", "PER"),  # "among them foreigners": part of the victims
                ("Place", "Deir Ezzor", "GPE"),  # killed in the course of taking the city
            ]),
            (STATEMENT, "said", [("Speaker", "Syrian Defense ministry", "ORG")]),
        ],
        stance=[("ISIS", "against"), ("Syrian government", "favor")],
    ),
    Gold(
        "\"The Syrian Arab Army restored security",
        entities=[
            ("Syrian Arab Army", "ORG"), ("Deir Ezzor", "GPE"), ("Daesh", "ORG"),
            ("Syrian", "NORP", 1), ("ISIS", "ORG"),
            # "Arabic" is a language here (OntoNotes LANGUAGE, not in the ontology): not marked.
        ],
        events=[
            (ATTACK, "eliminating", [
                ("Attacker", "Syrian Arab Army", "ORG"),
                ("Target", "Daesh", "ORG"),
                ("Target", "last stronghold", "FAC"),
                ("Place", "Deir Ezzor", "GPE"),  # "in it", it = the city of Deir Ezzor
            ]),
            (STATEMENT, "said", [("Speaker", "Syrian state media", "ORG")]),
        ],
        stance=[("ISIS", "against"), ("Syrian government", "favor")],
    ),
    Gold(
        "The city's seizure represents",
        entities=[("Syria", "GPE"), ("ISIS", "ORG")],
        events=[
            (TRANSFER, "seizure", [
                ("Territory", "city", "GPE"),
                ("Recipient", "government", "GPE"),  # "a gain for Syria's government"
                ("Giver", "ISIS", "ORG"),  # "a big blow for ISIS"
            ]),
        ],
        stance=[("ISIS", "against"), ("Syrian government", "favor")],
    ),
    Gold(
        "Two Syrian government enclaves",
        entities=[
            ("Syrian", "NORP", 0), ("ISIS", "ORG"), ("more than three years", "DATE"),
            ("about two months ago", "DATE"), ("Syrian military", "ORG"), ("Russian", "NORP"),
        ],
        events=[
            (BESIEGE, "besieged", [
                ("Target", "Syrian government enclaves", "LOC"),
                ("Attacker", "ISIS", "ORG"),
            ]),
            (TRANSFER, "ousted", [
                ("Giver", "terror group", "ORG"),
                ("Recipient", "Syrian military", "ORG"),
            ]),
        ],
        stance=[("ISIS", "against"), ("Syrian government", "favor"), ("Russia", "none")],
    ),
    Gold(
        "Syrian and allied forces have since battled",
        entities=[("Syrian", "NORP"), ("ISIS", "ORG")],
        events=[
            (ATTACK, "battled", [
                ("Attacker", "Syrian and allied forces", "ORG"),
                ("Target", "ISIS", "ORG"),
                ("Place", "city", "GPE"),
            ]),
            # An attempted expulsion is still an event mention (its modality is not annotated).
            (TRANSFER, "push", [
                ("Recipient", "Syrian and allied forces", "ORG"),
                ("Giver", "ISIS", "ORG"),
                ("Territory", "final holdouts", "FAC"),
                ("Place", "city", "GPE"),
            ]),
        ],
        stance=[("ISIS", "against")],
    ),
    Gold(
        "ISIS' defeat in Deir Ezzor follows",
        entities=[
            ("ISIS", "ORG", 0), ("Deir Ezzor", "GPE"), ("Raqqa", "GPE"), ("ISIS", "ORG", 1),
            ("last month", "DATE"), ("US", "GPE"),
        ],
        events=[
            # A defeat is the outcome of fighting: Conflict.Attack, the loser as Target.
            (ATTACK, "defeat", [
                ("Target", "ISIS", "ORG", 0),
                ("Place", "Deir Ezzor", "GPE"),
            ]),
            (TRANSFER, "loss", [
                ("Giver", "fighters", "PER"),
                ("Territory", "Raqqa", "GPE"),
                ("Recipient", "US-backed militias", "ORG"),
            ]),
        ],
        stance=[("ISIS", "against"), ("United States", "none")],
    ),
    Gold(
        "ISIS still holds positions",
        entities=[
            ("ISIS", "ORG"), ("Deir Ezzor province", "GPE"), ("Iraqi", "NORP"), ("Syria", "GPE"),
        ],
        events=[],  # "holds positions" is a state, not an event
        stance=[("ISIS", "none")],
    ),
    Gold(
        "Troops stand in central Deir Ezzor",  # caption
        entities=[("Deir Ezzor", "GPE"), ("ISIS", "ORG"), ("September", "DATE")],
        events=[
            (TRANSFER, "driven", [
                ("Giver", "ISIS", "ORG"),
                ("Territory", "key areas", "LOC"),
                ("Place", "Deir Ezzor", "GPE"),
            ]),
        ],
        stance=[("ISIS", "against")],
    ),
    Gold(
        "Deir Ezzor holds particular significance",
        entities=[
            ("Deir Ezzor", "GPE"), ("Syria", "GPE"), ("2011", "DATE"),
            ("Bashar al-Assad", "PER"),
        ],
        events=[
            (DEMONSTRATE, "uprising", [("Target", "Bashar al-Assad", "PER")]),
        ],
        stance=[("Syrian government", "none")],
    ),
    Gold(
        "Positioned deep in ISIS' heartland",
        entities=[("ISIS", "ORG"), ("Syrian", "NORP"), ("Raqqa", "GPE")],
        events=[],
        stance=[("ISIS", "against"), ("Syrian government", "none")],  # "the extremist group"
    ),
    Gold(
        "At the same time, the plight of the besieged Syrian forces",
        entities=[("Syrian", "NORP"), ("Syrians", "NORP")],
        events=[
            (BESIEGE, "besieged", [
                ("Target", "Syrian forces", "ORG"),
                ("Target", "civilians", "PER"),
            ]),
        ],
        stance=[],  # no target is named
    ),
    Gold(
        "From April 2016 until September this year",
        entities=[
            ("April 2016", "DATE"), ("September this year", "DATE"), ("ISIS", "ORG"),
            ("Deir Ezzor", "GPE"), ("United Nations", "ORG"), ("World Food Programme", "ORG"),
        ],
        events=[
            (BESIEGE, "siege", [
                ("Attacker", "ISIS", "ORG"),
                ("Place", "Deir Ezzor", "GPE"),
                ("Target", "people", "PER"),
                ("Target", "government enclaves", "LOC"),
            ]),
            # "use airdrops to deliver": one event; the trigger is the verb its arguments hang on.
            # The food and supplies (Artifact) have no entity type in the ontology.
            (TRANSPORT, "deliver", [
                ("Agent", "World Food Programme", "ORG"),
                ("Destination", "government enclaves", "LOC"),
            ]),
        ],
        stance=[("ISIS", "against")],
    ),
    Gold(
        "At one point, US forces accidentally bombed",
        entities=[
            ("US", "GPE"), ("Syrian", "NORP"), ("Deir Ezzor", "GPE"), ("ISIS", "ORG"),
            ("Russian air force", "ORG"),
        ],
        events=[
            (ATTACK, "bombed", [
                ("Attacker", "US forces", "ORG"),
                ("Target", "Syrian forces", "ORG"),
                ("Place", "Deir Ezzor", "GPE"),
            ]),
            (INJURE, "casualties", [  # casualties not said to be deaths
                ("Agent", "US forces", "ORG"),
                ("Victim", "Syrian forces", "ORG"),
                ("Place", "Deir Ezzor", "GPE"),
            ]),
            (ATTACK, "advances", [
                ("Attacker", "ISIS", "ORG"),
                ("Place", "Deir Ezzor", "GPE"),
            ]),
            # The Russian air force turned the ISIS advances back: a military action against ISIS.
            (ATTACK, "reversed", [
                ("Attacker", "Russian air force", "ORG"),
                ("Target", "ISIS", "ORG"),
                ("Place", "Deir Ezzor", "GPE"),
            ]),
        ],
        stance=[("ISIS", "against"), ("United States", "against"), ("Russia", "favor")],
    ),
    Gold(
        "This incident made Deir Ezzor central",
        entities=[
            ("Deir Ezzor", "GPE"), ("Russian", "NORP"), ("Assad", "PER"), ("Iranian", "NORP"),
            ("United States", "GPE"), ("ISIS", "ORG"),
        ],
        events=[
            # "incident" only points back to the bombing: anaphoric nouns are not triggers.
            (STATEMENT, "narrative", [
                ("Speaker", "Russian", "NORP"),
                ("Speaker", "Iranian", "NORP"),
            ]),
        ],
        stance=[
            ("ISIS", "none"), ("Syrian government", "none"), ("United States", "against"),
            ("Russia", "none"),
        ],
    ),
    Gold(
        "The seizure of so much of ISIS's heartland",
        entities=[
            ("ISIS", "ORG"), ("Syria", "GPE"), ("Russian", "NORP"), ("Syrian army", "ORG"),
            ("Syrian", "NORP", 1),
        ],
        events=[
            (TRANSFER, "seizure", [
                ("Giver", "ISIS", "ORG"),
                ("Territory", "heartland", "LOC"),
                ("Place", "Syria", "GPE"),
                ("Recipient", "Syrian army", "ORG"),  # the morale boost goes to the captor
            ]),
            (ATTACK, "civil war", []),
        ],
        stance=[("ISIS", "against"), ("Syrian government", "favor"), ("Russia", "none")],
    ),
    Gold(
        "At the same time, Deir Ezzor is extremely important to the Russians",
        entities=[("Deir Ezzor", "GPE"), ("Russians", "NORP"), ("Syria", "GPE"), ("ISIS", "ORG")],
        events=[
            (ATTACK, "combating", [
                ("Attacker", "Russians", "NORP"),  # "they" = the Russians
                ("Target", "ISIS", "ORG"),
                ("Place", "Syria", "GPE"),
            ]),
        ],
        stance=[("ISIS", "against"), ("Russia", "favor")],
    ),
    Gold(
        "Its capture indicates",
        entities=[
            ("Syrian", "NORP", 0), ("Syria", "GPE"), ("US", "GPE"),
            ("Syrian Democratic Forces", "ORG"), ("Raqqa", "GPE"),
        ],
        events=[
            # "Its" (Deir Ezzor) has no antecedent in the sentence: no Territory.
            (TRANSFER, "capture", [("Recipient", "Syrian government", "GPE")]),
            (TRANSFER, "took", [
                ("Recipient", "Syrian Democratic Forces", "ORG"),
                ("Territory", "Raqqa", "GPE"),
            ]),
        ],
        stance=[
            ("Syrian government", "favor"), ("United States", "none"),
            ("Syrian Democratic Forces", "against"),
        ],
    ),
    Gold("The region also holds economic importance."),
    Gold(
        "The Euphrates Valley is home",
        entities=[("Euphrates Valley", "LOC"), ("Syria", "GPE")],
    ),
)
# fmt: on


class GoldError(Exception):
    """The gold data and the article disagree: the message names the sentence and the string."""


def load_segments(article_path: Path = ARTICLE) -> list[Segment]:
    article = read_article(article_path)
    return list(segment_article(article.document_id, article.text, article.captions).segments)


def find_span(text: str, ref: Ref, what: str) -> tuple[int, int]:
    """Offsets of `ref` in `text`, on token boundaries; fails unless exactly one is meant."""
    surface, index = (ref, None) if isinstance(ref, str) else ref
    tokens = tokenize(text)
    starts = {t.start for t in tokens}
    ends = {t.end for t in tokens}
    found, pos = [], text.find(surface)
    raw = 0
    while pos != -1:
        raw += 1
        if pos in starts and pos + len(surface) in ends:
            found.append(pos)
        pos = text.find(surface, pos + 1)
    if not found:
        why = "is not on token boundaries" if raw else "is not in the sentence"
        raise GoldError(f"{what}: {surface!r} {why}: {text!r}")
    if index is None:
        if len(found) > 1:
            raise GoldError(
                f"{what}: {surface!r} occurs {len(found)} times; give an occurrence index: {text!r}"
            )
        index = 0
    elif len(found) == 1:
        raise GoldError(f"{what}: {surface!r} occurs once; drop the occurrence index: {text!r}")
    elif not 0 <= index < len(found):
        raise GoldError(f"{what}: {surface!r} occurs {len(found)} times, no index {index}.")
    start = found[index]
    return start, start + len(surface)


def match_sentences(segments: Sequence[Segment]) -> dict[str, Gold]:
    """segment_id → its gold entry; every sentence has exactly one, every entry one sentence."""
    out: dict[str, Gold] = {}
    for gold in GOLD:
        hits = [s for s in segments if s.text.startswith(gold.prefix)]
        if len(hits) != 1:
            raise GoldError(f"gold prefix {gold.prefix!r} matches {len(hits)} sentences, not 1.")
        if hits[0].segment_id in out:
            raise GoldError(f"two gold entries for sentence {hits[0].text!r}.")
        out[hits[0].segment_id] = gold
    missing = [s.text for s in segments if s.segment_id not in out]
    if missing:
        raise GoldError(f"no gold entry for sentence {missing[0]!r} (add one, even if empty).")
    return out


def entity_records(seg: Segment, gold: Gold) -> tuple[Entity, ...]:
    spans = []
    for spec in gold.entities:
        surface, label = spec[0], spec[1]
        ref: Ref = (surface, spec[2]) if len(spec) == 3 else surface  # type: ignore[misc]
        start, end = find_span(seg.text, ref, f"entity {label}")
        spans.append((start, end, label))
    spans.sort()
    for (s1, e1, _), (s2, e2, _) in zip(spans, spans[1:], strict=False):
        if s2 < e1:
            raise GoldError(
                f"entities {seg.text[s1:e1]!r} and {seg.text[s2:e2]!r} overlap: {seg.text!r}"
            )
    return tuple(
        Entity(f"e{i}", s, e, seg.text[s:e], label) for i, (s, e, label) in enumerate(spans, 1)
    )


def event_records(seg: Segment, gold: Gold, ontology: Ontology) -> tuple[Event, ...]:
    events = []
    for etype, trigger_ref, args in gold.events:
        if etype not in ontology.roles_by_event:
            raise GoldError(f"{etype!r} is not an event type of the ontology.")
        ts, te = find_span(seg.text, trigger_ref, f"{etype} trigger")
        arguments = []
        for spec in args:
            role, surface, etype_arg = spec[0], spec[1], spec[2]
            if role not in ontology.roles_by_event[etype]:
                raise GoldError(f"role {role!r} is not a role of {etype} ({seg.text!r}).")
            ref: Ref = (surface, spec[3]) if len(spec) == 4 else surface  # type: ignore[misc]
            s, e = find_span(seg.text, ref, f"{etype} {role}")
            arguments.append(Argument(role, s, e, seg.text[s:e], etype_arg))
        arguments.sort(key=lambda a: (a.start, a.end, a.role))
        events.append((ts, te, etype, tuple(arguments)))
    events.sort(key=lambda ev: (ev[0], ev[1], ev[2]))
    return tuple(
        Event(f"ev{i}", etype, Span(ts, te, seg.text[ts:te]), args)
        for i, (ts, te, etype, args) in enumerate(events, 1)
    )


def check_consistency(seg: Segment, entities: Sequence[Entity], events: Sequence[Event]) -> None:
    """One mention, one type: an argument on an entity's span has the entity's label, and an
    argument span has the same type in every event of the sentence."""
    labels = {(e.start, e.end): e.label for e in entities}
    seen: dict[tuple[int, int], str] = {}
    for ev in events:
        for a in ev.arguments:
            key = (a.start, a.end)
            if key in labels and labels[key] != a.entity_type:
                raise GoldError(
                    f"argument {a.text!r} is {a.entity_type} but the entity is {labels[key]}."
                )
            if seen.setdefault(key, a.entity_type) != a.entity_type:
                raise GoldError(f"argument {a.text!r} has two types in {seg.text!r}.")


def build_records(ontology: Ontology | None = None) -> list[Record]:
    """Every gold record of the seed article: entities and events per sentence, stance per
    (sentence, target) — validated, in file order."""
    ontology = ontology or Ontology.load(ONTOLOGY)
    segments = load_segments()
    golds = match_sentences(segments)
    records: list[Record] = []
    for seg in segments:
        gold = golds[seg.segment_id]
        common = {
            "segment_id": seg.segment_id,
            "document_id": seg.document_id,
            "text": seg.text,
            "annotator": ANNOTATOR,
            "ground_truth": True,
        }
        entities = entity_records(seg, gold)
        events = event_records(seg, gold, ontology)
        check_consistency(seg, entities, events)
        records.append(
            Record(
                layer=Layer.ENTITIES,
                annotation_id=f"seed:{seg.segment_id}",
                entities=entities,
                **common,  # type: ignore[arg-type]
            )
        )
        records.append(
            Record(
                layer=Layer.EVENTS,
                annotation_id=f"seed:{seg.segment_id}",
                events=events,
                **common,  # type: ignore[arg-type]
            )
        )
        targets = targets_mentioned(seg.text, ontology)
        labelled = dict(gold.stance)
        if len(labelled) != len(gold.stance) or sorted(labelled) != sorted(targets):
            raise GoldError(
                f"stance targets {sorted(labelled)} differ from the tasks' {sorted(targets)}: "
                f"{seg.text!r}"
            )
        for target in targets:
            if labelled[target] not in ontology.stance_label_names:
                raise GoldError(f"stance label {labelled[target]!r} is not in the ontology.")
            records.append(
                Record(
                    layer=Layer.STANCE,
                    annotation_id=f"seed:{seg.segment_id}:{target}",
                    target=target,
                    label=labelled[target],
                    **common,  # type: ignore[arg-type]
                )
            )
    for record in records:
        validate(record, ontology)
    return sorted(records, key=lambda r: (LAYERS.index(r.layer), record_sort_key(r)))


def validate(record: Record, ontology: Ontology) -> None:
    """The record schema, text slices, and role-per-event-type: what import checks, too."""
    raw = record.to_dict()
    errors = list(
        jsonschema.Draft202012Validator(ontology.record_schema(record.layer)).iter_errors(raw)
    )
    if errors:
        raise GoldError(f"{record.segment_id} {record.layer}: {errors[0].message}")
    text = record.text
    spans = [(e.start, e.end, e.text) for e in record.entities]
    for ev in record.events:
        spans.append((ev.trigger.start, ev.trigger.end, ev.trigger.text))
        for a in ev.arguments:
            spans.append((a.start, a.end, a.text))
            if a.role not in ontology.roles_by_event[ev.type]:
                raise GoldError(f"{record.segment_id}: {a.role} is not a role of {ev.type}.")
    for start, end, surface in spans:
        if text[start:end] != surface:
            raise GoldError(f"{record.segment_id}: text[{start}:{end}] is not {surface!r}.")


def render(records: Sequence[Record]) -> bytes:
    return b"".join(dumps_line(r.to_dict()) for r in records)


def show(records: Sequence[Record]) -> str:
    """Each sentence with its entity spans bracketed, its events and stance: for reviewing."""
    lines = []
    by_segment: dict[str, list[Record]] = {}
    for r in records:
        by_segment.setdefault(r.segment_id, []).append(r)
    for segment_id in sorted(by_segment, key=lambda s: record_sort_key(by_segment[s][0])):
        group = by_segment[segment_id]
        text = group[0].text
        marked = text
        for r in group:
            for e in sorted(r.entities, key=lambda e: -e.start):
                marked = f"{marked[: e.start]}[{marked[e.start : e.end]}]{e.label}{marked[e.end :]}"
        lines.append(f"\n{segment_id}\n  {marked}")
        for r in group:
            for ev in r.events:
                args = ", ".join(f"{a.role}={a.text!r}/{a.entity_type}" for a in ev.arguments)
                lines.append(f"  {ev.type} <{ev.trigger.text}> {args}")
            if r.layer is Layer.STANCE:
                lines.append(f"  stance {r.target}: {r.label}")
    return "\n".join(lines)


def main(argv: Sequence[str] = ()) -> int:
    try:
        records = build_records()
    except GoldError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    if "--show" in argv:
        print(show(records))
        return 0
    write_atomic(OUTPUT, render(records))
    counts = {str(layer): sum(r.layer is layer for r in records) for layer in LAYERS}
    print(f"{OUTPUT.relative_to(ROOT)}: {counts}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
