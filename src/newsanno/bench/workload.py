"""A deterministic synthetic workload: articles → tasks → a Label Studio full-JSON export.

Articles are made of news-like sentences built from templates whose slots are filled from a
small vocabulary (names, places, organisations, weapons, vehicles, dates), the ontology's stance
targets' aliases and event triggers, with an emoji now and then. Every slot knows the label (and
the event role) of what it put in the text, so the generator knows the gold spans of every
sentence. The articles go through the real `tasks build` code; the tasks are then "annotated" by
two simulated annotators each and written as Label Studio 1.23 full-JSON exports, one per layer,
in exactly the shape Label Studio writes (see ../shared/notes/labelstudio.md): the annotators
mostly agree, some skip, a few per mille of annotations are invalid (unknown label, span past the
text, wrong span text, role not allowed, argument without relation, choice that does not exist,
no choice) and a few count offsets in UTF-16 code units after an emoji (realignable).

Labels, event types and roles come from the ontology: a vocabulary entry or a template whose
label the ontology lacks is left unannotated or skipped, never invented.

Everything is streamed: articles are regenerated from their index when their tasks are
annotated, and the export is written task by task. Same seed and scale, same bytes.
"""

from __future__ import annotations

import random
import re
import string
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from ..articles import Article
from ..gazetteer import Gazetteer
from ..labelconfig import (
    ARGUMENT_CONTROL,
    ENTITY_CONTROL,
    STANCE_CONTROL,
    TEXT,
    TRIGGER_CONTROL,
)
from ..layers import LAYERS, Layer
from ..ontology import Ontology
from ..records import iter_jsonl
from ..tasks import BuildSummary, build_tasks

BASE_ENTITY_TASKS = 20_000  # entity tasks (sentences) at scale 1
ANNOTATORS_PER_TASK = 2
ANNOTATOR_POOL = tuple(range(2, 10))  # Label Studio user ids; 1 is the admin who made the projects
PROJECT_IDS = {Layer.ENTITIES: 1, Layer.EVENTS: 2, Layer.STANCE: 3}

# Rates per annotation (per entity/argument for the span noise).
SKIP_RATE = 0.01
INVALID_RATE = 0.003  # "a few per mille": each one must end up in quarantine
UTF16_RATE = 0.25  # of the annotations of sentences that have an astral emoji before a span
GROUND_TRUTH_RATE = 0.005
MISS_SPAN, RELABEL_SPAN, TRIM_SPAN = 0.03, 0.02, 0.015  # second annotator; first gets a third
STANCE_DISAGREE = 0.1
EMOJI_RATE = 0.04

# ---- vocabulary ------------------------------------------------------------------------------

# Surface forms by entity label. "PERN" are nominal mentions of people: PER only as event
# arguments (the ontology says so), unannotated in the entities layer.
VOCAB: dict[str, tuple[str, ...]] = {
    "PER": (
        "Bashar al-Assad",
        "Vladimir Putin",
        "Amina Haddad",
        "Omar Khalil",
        "Lina Saleh",
        "Yusuf Demir",
        "Sarah Mitchell",
        "Karim Nasser",
        "Mariam Aziz",
        "John Reyes",
        "Elena Petrova",
        "Hassan Mahmoud",
        "Nour el-Din Zaki",
        "Ahmed Farouk",
        "Dmitry Volkov",
        "Rania Khoury",
        "Mustafa Bali",
        "Leila Darwish",
        "Tom Whitaker",
        "Salim Idris",
    ),
    "PERN": ("civilians", "fighters", "soldiers", "residents", "children", "aid workers"),
    "NORP": (
        "Syrian",
        "Russian",
        "Iraqi",
        "Iranian",
        "Kurdish",
        "Turkish",
        "American",
        "Lebanese",
    ),
    "ORG": (
        "ISIS",
        "Daesh",
        "Syrian Democratic Forces",
        "SDF",
        "Syrian Arab Army",
        "World Food Programme",
        "Red Crescent",
        "United Nations",
        "Kremlin",
        "Reuters",
        "Hezbollah",
        "White Helmets",
        "Syrian Observatory for Human Rights",
        "NATO",
    ),
    "GPE": (
        "Syria",
        "Deir Ezzor",
        "Raqqa",
        "Aleppo",
        "Damascus",
        "Homs",
        "Idlib",
        "Mosul",
        "Baghdad",
        "Moscow",
        "Washington",
        "US",
        "U.S.",
        "Russia",
        "Turkey",
        "Iraq",
        "Palmyra",
        "Manbij",
        "Qamishli",
        "Hasakah",
        "Tehran",
        "Beirut",
        "Ankara",
    ),
    "LOC": (
        "Euphrates Valley",
        "Euphrates",
        "Mediterranean",
        "Golan Heights",
        "Tigris",
        "Syrian Desert",
        "Orontes",
        "Jazira plain",
    ),
    "FAC": (
        "Tabqa Dam",
        "Kuweires Airbase",
        "al-Nuri Mosque",
        "Tishrin Dam",
        "Bab al-Hawa crossing",
        "Hmeimim air base",
        "Al-Omar oil field",
        "Raqqa National Hospital",
    ),
    "DATE": ("April 2016", "2011", "2017", "September", "the start of the war", "October 2017"),
    "WEA": (
        "airstrikes",
        "rockets",
        "mortar shells",
        "barrel bombs",
        "artillery",
        "car bomb",
        "drones",
        "sniper fire",
    ),
    "VEH": ("aircraft", "convoy", "helicopters", "trucks", "tanks", "buses"),
}

# Dates with the word that goes before them ({WHEN}); only the date is the DATE span.
WHEN: tuple[tuple[str, str], ...] = (
    ("on ", "Friday"),
    ("on ", "Thursday"),
    ("on ", "Monday"),
    ("", "last week"),
    ("", "last month"),
    ("in ", "April 2016"),
    ("in ", "2017"),
    ("in ", "September"),
    ("on ", "Sunday"),
    ("", "this year"),
    ("in ", "October 2017"),
    ("on ", "Wednesday"),
    ("", "on Tuesday night"),
)

# Event triggers by (event type, form): v = past-tense verb, n = noun.
TRIGGERS: dict[tuple[str, str], tuple[str, ...]] = {
    ("Conflict.Attack", "v"): ("attacked", "shelled", "bombed", "struck", "raided"),
    ("Conflict.Attack", "n"): ("attack", "bombing", "assault", "offensive", "shelling"),
    ("Conflict.Besiege", "v"): ("besieged", "encircled", "surrounded", "blockaded"),
    ("Conflict.Demonstrate", "v"): ("protested", "rallied", "marched", "demonstrated"),
    ("Transaction.TransferControl", "v"): ("captured", "seized", "liberated", "retook"),
    ("Transaction.TransferControl", "n"): ("capture", "fall", "recapture", "seizure"),
    ("Life.Die", "v"): ("killed",),
    ("Life.Die", "n"): ("deaths",),
    ("Life.Injure", "v"): ("wounded", "injured", "hurt"),
    ("Movement.Transport", "v"): ("evacuated", "moved", "transported", "ferried", "flew"),
    ("Contact.Statement", "v"): ("said", "announced", "reported", "stated", "told reporters"),
}

# Slots: {LABEL} an entity; {LABEL:Role} argument of event 0, {LABEL:Role@1} of event 1;
# {!Type} trigger of event 0 (verb), {!Type/n@1} noun trigger of event 1; {TARGET} an alias of a
# stance target; {NUM} a number (not an entity).
TEMPLATES: tuple[str, ...] = (
    "{PER}, a spokesman for the {ORG}, spoke to reporters in {GPE} {WHEN}.",
    "The {NORP} delegation arrived in {GPE} {WHEN} for talks with the {ORG}.",
    "Residents of {GPE} described long queues for bread and fuel near the {FAC}.",
    "Water levels on the {LOC} have fallen sharply since {DATE}, farmers near {GPE} say.",
    "{ORG} officials met {PER} in {GPE} to discuss aid routes through the {LOC}.",
    "Satellite images show damage around the {FAC} east of {GPE}.",
    "The {ORG} has not commented on the reports from {GPE}.",
    "{PER} has led the {ORG} since {DATE}.",
    "Analysts say {TARGET} has little room to manoeuvre in {GPE}.",
    "{TARGET} praised the work of the {ORG} in {GPE} {WHEN}.",
    "Many in {GPE} blame {TARGET} for the shortages that followed the fighting.",
    "{ORG:Attacker} {!Conflict.Attack} positions in {GPE:Place} with {WEA:Instrument} {WHEN}.",
    "{NORP} {WEA:Instrument} {!Conflict.Attack} the {FAC:Target} near {GPE:Place} {WHEN}.",
    "{ORG:Attacker} fighters {!Conflict.Besiege} {GPE:Target} for more than {NUM} weeks.",
    "Thousands of people {!Conflict.Demonstrate} in {GPE:Place} against {ORG:Target} {WHEN}.",
    "The {ORG:Recipient} {!Transaction.TransferControl} {GPE:Territory} from {ORG:Giver} "
    "{WHEN}, state media {!Contact.Statement@1}.",
    "At least {NUM} {PERN:Victim} were {!Life.Die} in {GPE:Place} when {WEA:Instrument} hit a "
    "market, the {ORG:Speaker@1} {!Contact.Statement@1}.",
    "{NUM} {PERN:Victim} were {!Life.Injure} by {WEA:Instrument} fired by {ORG:Agent} near the "
    "{FAC:Place}.",
    "The {ORG:Agent} {!Movement.Transport} {PERN:Artifact} from {GPE:Origin} to "
    "{GPE:Destination} by {VEH:Vehicle}.",
    "{PER:Speaker} {!Contact.Statement} in {GPE:Place} that the {ORG} would not withdraw.",
    '"We will not leave {GPE}," {PER:Speaker} {!Contact.Statement} {WHEN}.',
    "The {!Conflict.Attack/n} on the {FAC:Target} {!Life.Die@1} {NUM} {PERN:Victim@1}.",
    "The {!Transaction.TransferControl/n} of {GPE:Territory} to the {ORG:Recipient} ended a "
    "siege of {NUM} months.",
    "{NORP} {VEH:Vehicle} {!Movement.Transport} {PERN:Artifact} out of {GPE:Origin} to "
    "{GPE:Destination} {WHEN}.",
    "Protesters {!Conflict.Demonstrate} outside the {FAC:Place} against {TARGET}.",
    "{ORG:Attacker} and {NORP} forces {!Conflict.Besiege} the {FAC:Target} near the {LOC:Place}.",
    "{TARGET} {!Contact.Statement} that {ORG:Attacker@1} had {!Conflict.Attack@1} "
    "{GPE:Target@1} with {WEA:Instrument@1}.",
    "The {!Life.Die/n} of {NUM} {PERN:Victim} in {GPE:Place} drew condemnation from {TARGET}.",
    "{PER:Speaker} of the {ORG} {!Contact.Statement} that {TARGET} was losing ground.",
    "Officials in {GPE} said the {ORG} is sending {VEH} with food and medicine.",
)

HEADLINE_TEMPLATES = (
    "{ORG} {!Transaction.TransferControl} {GPE} from {ORG}",
    "{NUM} {PERN:Victim} {!Life.Die} by {WEA:Instrument} in {GPE:Place}",
    "{TARGET} faces pressure over {GPE}",
    "Aid reaches {GPE} after weeks of fighting",
    "{PER} warns of new fighting near the {LOC}",
)

EMOJI = ("🔴", "📍", "🇸🇾", "🚨", "📷")  # astral: one code point, two UTF-16 units each (🇸🇾: two)
AGENCIES = ("NWS", "Example Wire", "Newsdesk")
_SLOT = re.compile(
    r"\{(?P<trigger>!)?(?P<name>[\w.]+)(?:/(?P<form>[vn]))?(?::(?P<role>\w+))?"
    r"(?:@(?P<event>\d))?\}"
)

# The entity label of each stance-target alias, when the vocabulary knows it (others are text).
_ALIAS_LABEL = {form: label for label, forms in VOCAB.items() if label != "PERN" for form in forms}
_ALIAS_LABEL.update(
    {
        "Islamic State": "ORG",
        "ISIL": "ORG",
        "Syrian army": "ORG",
        "Syrian military": "ORG",
        "America": "GPE",
        "Russians": "NORP",
        "Assad": "PER",
        "Syrian Defense ministry": "ORG",
        "Syria's Defense Ministry": "ORG",
    }
)


# ---- gold ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Mention:
    """A gold span in document offsets."""

    start: int
    end: int
    label: str  # entity type, or event type for a trigger
    kind: str  # "entity" | "nominal" (PER only as an argument) | "trigger"
    event: int | None = None  # index of the event it belongs to (trigger or argument)
    role: str | None = None


@dataclass
class GoldArticle:
    article: Article
    mentions: list[Mention]
    sentences: int


@dataclass
class Vocabulary:
    """The templates and forms that the ontology allows."""

    ontology: Ontology
    templates: tuple[str, ...] = ()
    headlines: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()

    @classmethod
    def for_ontology(cls, ontology: Ontology) -> Vocabulary:
        v = cls(ontology)
        v.templates = tuple(t for t in TEMPLATES if v._fits(t))
        v.headlines = tuple(t for t in HEADLINE_TEMPLATES if v._fits(t))
        v.aliases = tuple(a for t in ontology.stance_targets for a in (t.name, *t.aliases))
        return v

    def _fits(self, template: str) -> bool:
        """A template fits when the ontology has its event types and their roles."""
        types: dict[int, str] = {}
        for m in _SLOT.finditer(template):
            if m["trigger"]:
                types[int(m["event"] or 0)] = m["name"]
        for m in _SLOT.finditer(template):
            if m["trigger"]:
                if m["name"] not in self.ontology.roles_by_event:
                    return False
            elif m["role"]:
                event_type = types.get(int(m["event"] or 0))
                if m["role"] not in self.ontology.roles_by_event.get(event_type or "", ()):
                    return False
        return True

    def entity_label(self, label: str) -> str | None:
        if label == "PERN":
            label = "PER"
        return label if label in self.ontology.entity_labels else None


def _fill(
    template: str,
    rng: random.Random,
    vocab: Vocabulary,
    offset: int,
    event_base: int,
    mentions: list[Mention],
) -> tuple[str, int]:
    """The sentence for `template`, appending its gold mentions (document offsets) to `mentions`.
    Returns the sentence and how many events it holds."""
    out: list[str] = []
    pos = offset
    last = 0
    events: set[int] = set()
    for m in _SLOT.finditer(template):
        literal = template[last : m.start()]
        if out and out[-1].endswith(".") and literal.startswith("."):
            literal = literal[1:]  # "from U.S.." → "from U.S."
        out.append(literal)
        pos += len(literal)
        last = m.end()
        event = int(m["event"] or 0)
        if m["trigger"]:
            word = rng.choice(TRIGGERS[(m["name"], m["form"] or "v")])
            mentions.append(Mention(pos, pos + len(word), m["name"], "trigger", event_base + event))
            events.add(event)
        elif m["name"] == "NUM":
            word = str(rng.randint(2, 90))
        elif m["name"] == "WHEN":
            before, date = rng.choice(WHEN)
            if date.startswith("on "):  # "on Tuesday night": the DATE is "Tuesday night"
                before, date = "on ", date[3:]
            word = before + date
            label = vocab.entity_label("DATE")
            if label:
                at = pos + len(before)
                mentions.append(Mention(at, at + len(date), label, "entity"))
        elif m["name"] == "TARGET":
            word = rng.choice(vocab.aliases)
            label = vocab.entity_label(_ALIAS_LABEL.get(word, ""))
            if label:
                mentions.append(Mention(pos, pos + len(word), label, "entity"))
        else:
            word = rng.choice(VOCAB[m["name"]])
            label = vocab.entity_label(m["name"])
            kind = "nominal" if m["name"] == "PERN" else "entity"
            if label and (kind == "entity" or m["role"]):
                mentions.append(
                    Mention(
                        pos,
                        pos + len(word),
                        label,
                        kind,
                        event_base + event if m["role"] else None,
                        m["role"],
                    )
                )
        out.append(word)
        pos += len(word)
    tail = template[last:]
    if out and out[-1].endswith(".") and tail.startswith("."):
        tail = tail[1:]
    out.append(tail)
    text = "".join(out)
    return text[0].upper() + text[1:], len(events)


def make_article(index: int, seed: int, vocab: Vocabulary) -> GoldArticle:
    """Article number `index`: a headline, a dateline, and 2-5 paragraphs of 1-4 sentences."""
    rng = random.Random(f"newsanno-bench:{seed}:{index}")
    mentions: list[Mention] = []
    events = 0
    parts: list[str] = []
    headline, n = _fill(rng.choice(vocab.headlines), rng, vocab, 0, events, mentions)
    events += n
    parts.append(headline + "\n\n")
    pos = len(headline) + 2
    lead = f"({rng.choice(AGENCIES)}) "
    parts.append(lead)
    pos += len(lead)
    sentences = 1
    for p in range(rng.randint(2, 5)):
        for s in range(rng.randint(1, 4)):
            if s:
                parts.append(" ")
                pos += 1
            if rng.random() < EMOJI_RATE and not (p == 0 and s == 0):
                mark = rng.choice(EMOJI) + " "
                parts.append(mark)
                pos += len(mark)
            sentence, n = _fill(rng.choice(vocab.templates), rng, vocab, pos, events, mentions)
            events += n
            parts.append(sentence)
            pos += len(sentence)
            sentences += 1
        parts.append("\n")
        pos += 1
    text = "".join(parts)
    doc = f"nws-{seed}-{index:07d}"
    return GoldArticle(Article(doc, text, Path(f"{doc}.txt")), mentions, sentences)


def iter_articles(count: int, seed: int, vocab: Vocabulary) -> Iterator[GoldArticle]:
    for i in range(count):
        yield make_article(i, seed, vocab)


def articles_for(entity_tasks: int, seed: int, vocab: Vocabulary) -> int:
    """How many articles hold at least `entity_tasks` sentences."""
    total = n = 0
    while total < entity_tasks:
        total += make_article(n, seed, vocab).sentences
        n += 1
    return n


def articles_at(scale: float, seed: int, vocab: Vocabulary) -> int:
    """How many articles make a workload of `scale` (1 = BASE_ENTITY_TASKS sentences)."""
    wanted = max(1, round(BASE_ENTITY_TASKS * scale))
    # A sentence that ends in "U.S." runs into the next one (as in real news): plan 1% more.
    return articles_for(round(wanted * 1.01), seed, vocab)


def gazetteer(ontology: Ontology) -> Gazetteer:
    """Pre-annotations that know two thirds of the vocabulary (so they help, imperfectly)."""
    mentions = [
        (form, label)
        for label, forms in VOCAB.items()
        if label != "PERN"
        for i, form in enumerate(forms)
        if i % 3 != 2
    ]
    return Gazetteer.build(ontology, mentions)


# ---- the export ------------------------------------------------------------------------------


@dataclass
class LayerCounts:
    tasks: int = 0
    annotations: int = 0
    skipped: int = 0
    invalid: int = 0
    utf16: int = 0  # annotations with offsets in UTF-16 code units
    utf16_spans: int = 0  # spans whose offsets that changed (what the importer realigns)
    invalid_kinds: dict[str, int] = field(default_factory=dict)

    @property
    def valid(self) -> int:
        return self.annotations - self.skipped - self.invalid


@dataclass
class Workload:
    """What `generate` wrote and what an import of it must find."""

    root: Path
    scale: float
    seed: int
    articles: int
    sentences: int
    build_seconds: float
    layers: dict[str, LayerCounts]

    @property
    def tasks_dir(self) -> Path:
        return self.root / "tasks"

    def export(self, layer: Layer | str) -> Path:
        return self.root / "exports" / f"{layer}.json"

    @property
    def exports(self) -> list[Path]:
        return [self.export(layer) for layer in LAYERS if str(layer) in self.layers]

    def to_dict(self) -> dict[str, Any]:
        return {
            "scale": self.scale,
            "seed": self.seed,
            "articles": self.articles,
            "sentences": self.sentences,
            "tasks_build_seconds": self.build_seconds,
            "layers": {
                name: {
                    "tasks": c.tasks,
                    "annotations": c.annotations,
                    "skipped": c.skipped,
                    "invalid": c.invalid,
                    "valid": c.valid,
                    "utf16": c.utf16,
                    "utf16_spans": c.utf16_spans,
                    "invalid_kinds": dict(sorted(c.invalid_kinds.items())),
                }
                for name, c in self.layers.items()
            },
        }


class _Ids:
    """Label Studio's instance-wide counters."""

    def __init__(self) -> None:
        self.task = 0
        self.annotation = 0
        self.prediction = 0


_ALNUM = string.ascii_letters + string.digits
_T0 = datetime(2025, 3, 3, 8, 0, 0, tzinfo=UTC)


def _stamp(seconds: float) -> str:
    return (_T0 + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _region_id(rng: random.Random) -> str:
    return "".join(rng.choices(_ALNUM, k=10))


def _utf16(text: str, index: int) -> int:
    return index + sum(1 for ch in text[:index] if ord(ch) > 0xFFFF)


class _Annotator:
    """Turns a task's gold into one annotator's Label Studio result."""

    def __init__(self, ontology: Ontology, rng: random.Random) -> None:
        self.ontology = ontology
        self.rng = rng

    def _span(self, text: str, start: int, end: int, label: str, noise: float) -> tuple | None:
        r = self.rng.random()
        if r < MISS_SPAN * noise:
            return None
        r -= MISS_SPAN * noise
        if r < RELABEL_SPAN * noise:
            label = self.rng.choice([x for x in self.ontology.entity_labels if x != label])
        elif r < (RELABEL_SPAN + TRIM_SPAN) * noise and " " in text[start:end]:
            start = text.index(" ", start) + 1
        return start, end, label

    def entities(self, text: str, gold: list[Mention], noise: float) -> list[dict[str, Any]]:
        result = []
        for m in gold:
            span = self._span(text, m.start, m.end, m.label, noise)
            if span:
                result.append(_labels(self.rng, ENTITY_CONTROL, text, *span))
        return result

    def events(self, text: str, gold: list[Mention], noise: float) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = []
        relations = []
        triggers: dict[int, tuple[str, str]] = {}
        for m in gold:
            if m.kind == "trigger":
                if self.rng.random() < MISS_SPAN * noise:
                    continue
                region = _labels(self.rng, TRIGGER_CONTROL, text, m.start, m.end, m.label)
                result.append(region)
                triggers[m.event or 0] = (region["id"], m.label)
        for m in gold:
            if m.kind == "trigger" or m.event not in triggers:
                continue
            trigger_id, event_type = triggers[m.event]
            role = m.role or ""
            r = self.rng.random()
            if r < MISS_SPAN * noise:
                continue
            if r < (MISS_SPAN + RELABEL_SPAN) * noise:
                others = [x for x in self.ontology.roles_by_event[event_type] if x != role]
                role = self.rng.choice(others) if others else role
            region = _labels(self.rng, ARGUMENT_CONTROL, text, m.start, m.end, m.label)
            result.append(region)
            relations.append(
                {
                    "from_id": trigger_id,
                    "to_id": region["id"],
                    "type": "relation",
                    "direction": "right",
                    "labels": [role],
                }
            )
        return result + relations

    def stance(self, label: str) -> list[dict[str, Any]]:
        return [
            {
                "id": _region_id(self.rng),
                "from_name": STANCE_CONTROL,
                "to_name": TEXT,
                "type": "choices",
                "value": {"choices": [label]},
            }
        ]


def _labels(
    rng: random.Random, control: str, text: str, start: int, end: int, label: str
) -> dict[str, Any]:
    return {
        "id": _region_id(rng),
        "from_name": control,
        "to_name": TEXT,
        "type": "labels",
        "value": {"start": start, "end": end, "text": text[start:end], "labels": [label]},
    }


def _break(
    layer: Layer, result: list[dict[str, Any]], text: str, rng: random.Random, ontology: Ontology
) -> tuple[list[dict[str, Any]], str]:
    """Make one annotation invalid in a way the importer must quarantine; returns the kind."""
    spans = [r for r in result if r.get("type") == "labels"]
    if layer is Layer.STANCE:
        if rng.random() < 0.5:
            return [], "no_choice"
        result[0]["value"]["choices"] = ["neutral-ish"]
        return result, "unknown_choice"
    kinds = ["unknown_label", "span_past_text", "text_mismatch"]
    relations = [r for r in result if r.get("type") == "relation"]
    if layer is Layer.EVENTS and relations:
        kinds += ["role_not_allowed", "argument_without_relation"]
    if not spans:
        spans = [
            _labels(
                rng,
                ENTITY_CONTROL if layer is Layer.ENTITIES else ARGUMENT_CONTROL,
                text,
                0,
                min(4, len(text)),
                ontology.entity_labels[0],
            )
        ]
        result = spans + result
        if layer is Layer.EVENTS:
            return result, "argument_without_relation"
    kind = rng.choice(kinds)
    value = rng.choice(spans)["value"]
    if kind == "unknown_label":
        value["labels"] = ["PERSON"]
    elif kind == "span_past_text":
        value["end"] = len(text) + 7
    elif kind == "text_mismatch":
        value["text"] = value["text"].swapcase() + "x"
    elif kind == "role_not_allowed":
        relation = rng.choice(relations)
        trigger = next(r for r in spans if r.get("id") == relation["from_id"])
        allowed = set(ontology.roles_by_event[trigger["value"]["labels"][0]])
        relation["labels"] = [next(r for r in ontology.roles if r not in allowed)]
    else:  # argument_without_relation
        relation = rng.choice(relations)
        result = [r for r in result if r is not relation]
    return result, kind


def _to_utf16(result: list[dict[str, Any]], text: str) -> int:
    """Count offsets in UTF-16 code units, as old exports did; returns how many spans moved."""
    moved = 0
    for r in result:
        value = r.get("value", {})
        if "start" in value:
            start, end = _utf16(text, value["start"]), _utf16(text, value["end"])
            moved += (start, end) != (value["start"], value["end"])
            value["start"], value["end"] = start, end
    return moved


class _ExportWriter:
    """Streams one layer's tasks into a Label Studio full-JSON export."""

    def __init__(
        self, path: Path, layer: Layer, ontology: Ontology, ids: _Ids, seed: int, vocab: Vocabulary
    ) -> None:
        self.path = path
        self.layer = layer
        self.ontology = ontology
        self.ids = ids
        self.seed = seed
        self.vocab = vocab
        self.counts = LayerCounts()
        self.rng = random.Random(f"newsanno-bench-export:{seed}:{layer}")
        self.annotator = _Annotator(ontology, self.rng)
        self.project = PROJECT_IDS[layer]
        self._doc: tuple[str, GoldArticle] | None = None

    def _gold(self, document_id: str) -> GoldArticle:
        if self._doc is None or self._doc[0] != document_id:
            index = int(document_id.rsplit("-", 1)[1])
            self._doc = (document_id, make_article(index, self.seed, self.vocab))
        return self._doc[1]

    def write(self, tasks_file: Path) -> LayerCounts:
        with open(self.path, "wb") as out:
            out.write(b"[")
            for n, (_, task) in enumerate(iter_jsonl(tasks_file)):
                if n:
                    out.write(b",\n")
                out.write(orjson.dumps(self._task(task, n + 1)))
            out.write(b"]\n")
        return self.counts

    def _task(self, task: dict[str, Any], inner_id: int) -> dict[str, Any]:
        ids, rng, counts = self.ids, self.rng, self.counts
        ids.task += 1
        counts.tasks += 1
        data = task["data"]
        text: str = data["text"]
        doc_start: int = data["doc_start"]
        gold = [
            Mention(m.start - doc_start, m.end - doc_start, m.label, m.kind, m.event, m.role)
            for m in self._gold(data["document_id"]).mentions
            if m.start >= doc_start and m.end <= data["doc_end"]
        ]
        t_created = ids.task * 0.5
        prediction: dict[str, Any] = {}
        prediction_ids = []
        for p in task.get("predictions", ()):
            ids.prediction += 1
            prediction = {
                "id": ids.prediction,
                "result": p["result"],
                "model_version": p["model_version"],
                "created_ago": "0\xa0minutes",
                "score": None,
                "cluster": None,
                "neighbors": None,
                "mislabeling": 0.0,
                "created_at": _stamp(t_created),
                "updated_at": _stamp(t_created),
                "model": None,
                "model_run": None,
                "task": ids.task,
                "project": self.project,
            }
            prediction_ids.append(ids.prediction)
        annotators = rng.sample(ANNOTATOR_POOL, ANNOTATORS_PER_TASK)
        stance = self._stance_label(data) if self.layer is Layer.STANCE else ""
        has_emoji_before = (
            any(ord(ch) > 0xFFFF for m in gold for ch in text[: m.start])
            and self.layer is not Layer.STANCE
        )
        annotations = []
        for k, user in enumerate(annotators):
            ids.annotation += 1
            counts.annotations += 1
            noise = 1.0 if k else 1 / 3
            cancelled = rng.random() < SKIP_RATE
            result: list[dict[str, Any]] = []
            if cancelled:
                counts.skipped += 1
            else:
                if self.layer is Layer.ENTITIES:
                    result = self.annotator.entities(
                        text, [m for m in gold if m.kind == "entity"], noise
                    )
                elif self.layer is Layer.EVENTS:
                    result = self.annotator.events(
                        text, [m for m in gold if m.event is not None], noise
                    )
                else:
                    label = stance
                    if k and rng.random() < STANCE_DISAGREE:
                        label = rng.choice(
                            [s for s in self.ontology.stance_label_names if s != stance]
                        )
                    result = self.annotator.stance(label)
                if rng.random() < INVALID_RATE:
                    result, kind = _break(self.layer, result, text, rng, self.ontology)
                    counts.invalid += 1
                    counts.invalid_kinds[kind] = counts.invalid_kinds.get(kind, 0) + 1
                elif has_emoji_before and rng.random() < UTF16_RATE:
                    moved = _to_utf16(result, text)
                    counts.utf16 += moved > 0
                    counts.utf16_spans += moved
            created = t_created + 60 + 37 * k + rng.random() * 30
            parent = prediction_ids[0] if prediction_ids and rng.random() < 0.6 else None
            annotations.append(
                {
                    "id": ids.annotation,
                    "completed_by": user,
                    "result": result,
                    "was_cancelled": cancelled,
                    "ground_truth": (not cancelled) and rng.random() < GROUND_TRUTH_RATE,
                    "created_at": _stamp(created),
                    "updated_at": _stamp(created + rng.random() * 5),
                    "draft_created_at": None,
                    "lead_time": None if cancelled else round(4 + rng.random() * 80, 3),
                    "prediction": prediction,
                    "result_count": len(result),
                    "unique_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                    "import_id": None,
                    "last_action": None,
                    "bulk_created": False,
                    "task": ids.task,
                    "project": self.project,
                    "updated_by": user,
                    "parent_prediction": parent,
                    "parent_annotation": None,
                    "last_created_by": None,
                }
            )
        done = [a for a in annotations if not a["was_cancelled"]]
        return {
            "id": ids.task,
            "annotations": annotations,
            "drafts": [],
            "predictions": prediction_ids,
            "data": data,
            "meta": task.get("meta", {}),
            "created_at": _stamp(t_created),
            "updated_at": annotations[-1]["updated_at"],
            "allow_skip": True,
            "inner_id": inner_id,
            "total_annotations": len(done),
            "cancelled_annotations": len(annotations) - len(done),
            "total_predictions": len(prediction_ids),
            "comment_count": 0,
            "unresolved_comment_count": 0,
            "last_comment_updated_at": None,
            "project": self.project,
            "updated_by": annotators[-1],
            "comment_authors": [],
        }

    def _stance_label(self, data: dict[str, Any]) -> str:
        names = self.ontology.stance_label_names
        h = random.Random(f"{data['segment_id']}|{data['target']}").random()
        # favour "against" and "none", as conflict news does
        weights = [0.2, 0.45, 0.35] if len(names) == 3 else [1 / len(names)] * len(names)
        acc = 0.0
        for name, w in zip(names, weights, strict=True):
            acc += w
            if h < acc:
                return name
        return names[-1]


def generate(
    root: Path,
    ontology: Ontology,
    scale: float = 1.0,
    seed: int = 0,
    layers: Sequence[Layer] = LAYERS,
) -> Workload:
    """Write `root/tasks/` (through `tasks build`) and `root/exports/<layer>.json` for `layers`."""
    import time

    root = Path(root)
    vocab = Vocabulary.for_ontology(ontology)
    n_articles = articles_at(scale, seed, vocab)
    articles = (g.article for g in iter_articles(n_articles, seed, vocab))
    t = time.perf_counter()
    summary: BuildSummary = build_tasks(articles, ontology, gazetteer(ontology), root / "tasks")
    build_seconds = time.perf_counter() - t
    (root / "exports").mkdir(parents=True, exist_ok=True)
    ids = _Ids()
    counts: dict[str, LayerCounts] = {}
    for layer in layers:
        writer = _ExportWriter(
            root / "exports" / f"{layer}.json", layer, ontology, ids, seed, vocab
        )
        counts[str(layer)] = writer.write(root / "tasks" / f"{layer}.jsonl")
    workload = Workload(
        root, scale, seed, summary.articles, summary.sentences, build_seconds, counts
    )
    (root / "workload.json").write_bytes(
        orjson.dumps(workload.to_dict(), option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2)
    )
    return workload
