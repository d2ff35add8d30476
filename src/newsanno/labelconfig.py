"""Label Studio labeling configs, generated from the ontology (never written by hand).

Control names are part of the contract with the import step:
entities — `label` (Labels); events — `trigger` (Labels, event types), `argument` (Labels, entity
types) and Relations whose labels are roles; stance — `stance` (Choices). All point at `text`.
"""

from __future__ import annotations

from xml.sax.saxutils import quoteattr

from .layers import Layer
from .ontology import Ontology

TEXT = "text"
ENTITY_CONTROL = "label"
TRIGGER_CONTROL = "trigger"
ARGUMENT_CONTROL = "argument"
STANCE_CONTROL = "stance"

_PALETTE = (
    "#e6194b",
    "#3cb44b",
    "#4363d8",
    "#f58231",
    "#911eb4",
    "#42d4f4",
    "#f032e6",
    "#bfef45",
    "#469990",
    "#9a6324",
    "#800000",
    "#808000",
    "#000075",
    "#fabed4",
    "#ffd8b1",
    "#aaffc3",
)


def _color(index: int) -> str:
    """Colours by position: distinct within a control, stable when labels are appended."""
    return _PALETTE[index % len(_PALETTE)]


def _labels(name: str, items: list[tuple[str, str]]) -> list[str]:
    out = [f'  <Labels name="{name}" toName="{TEXT}" showInline="true">']
    for i, (value, hint) in enumerate(items):
        out.append(
            f"    <Label value={quoteattr(value)} background={quoteattr(_color(i))} "
            f"hint={quoteattr(hint)}/>"
        )
    out.append("  </Labels>")
    return out


_CONTEXT_STYLE = (
    "background: #f4f4f4; color: #666; padding: 4px 10px; border-left: 3px solid #ccc; "
    "font-size: 0.9em"
)


def _context(which: str, title: str, margin: str) -> list[str]:
    """A neighbouring sentence, greyed and titled so it cannot be taken for the sentence."""
    return [
        f'  <View style="{_CONTEXT_STYLE}; {margin}">',
        f'    <Header value="{title} (do not annotate)" size="6"/>',
        f'    <Text name="context_{which}" value="$context_{which}" selectionEnabled="false"/>',
        "  </View>",
    ]


# The previous sentence above the task's sentence, the next one right below it: reading order.
_CONTEXT_BEFORE = _context("before", "Previous sentence", "margin-bottom: 8px")
_CONTEXT_AFTER = _context("after", "Next sentence", "margin-top: 8px")
_SENTENCE = f'  <Text name="{TEXT}" value="$text"/>'


def label_config(layer: Layer, ontology: Ontology) -> str:
    lines = ["<View>"]
    lines += _CONTEXT_BEFORE
    if layer is Layer.ENTITIES:
        lines.append('  <Header value="Mark every entity mention in the sentence"/>')
        lines += _labels(ENTITY_CONTROL, [(e.name, e.description) for e in ontology.entity_types])
        lines += [_SENTENCE, *_CONTEXT_AFTER]
    elif layer is Layer.EVENTS:
        lines.append(
            '  <Header value="Mark each event trigger, its arguments, and link trigger → argument '
            "with the argument's role\"/>"
        )
        lines.append('  <Header value="Triggers (event types)" size="6"/>')
        lines += _labels(
            TRIGGER_CONTROL,
            [
                (e.name, f"{e.description} Roles: {', '.join(e.roles)}.")
                for e in ontology.event_types
            ],
        )
        lines.append('  <Header value="Arguments (entity types)" size="6"/>')
        lines += _labels(ARGUMENT_CONTROL, [(e.name, e.description) for e in ontology.entity_types])
        lines.append("  <Relations>")
        for role in ontology.roles:
            lines.append(f"    <Relation value={quoteattr(role)}/>")
        lines.append("  </Relations>")
        lines += [_SENTENCE, *_CONTEXT_AFTER]
    else:
        lines.append('  <Header value="Stance of this sentence toward:"/>')
        lines.append('  <Header value="$target" size="3"/>')
        lines.append(_SENTENCE)
        lines.append(
            f'  <Choices name="{STANCE_CONTROL}" toName="{TEXT}" choice="single-radio" '
            'required="true" showInline="true">'
        )
        for label in ontology.stance_labels:
            lines.append(
                f"    <Choice value={quoteattr(label.name)} hint={quoteattr(label.description)}/>"
            )
        lines.append("  </Choices>")
        lines += _CONTEXT_AFTER
    lines.append("</View>")
    return "\n".join(lines) + "\n"
