"""Adjudication: majority gold, ground truth first, conflicts, files and staleness."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from newsanno.adjudicate import adjudicate, adjudicate_layer, gold_is_stale, read_conflicts
from newsanno.cli import app
from newsanno.layers import Layer
from newsanno.records import (
    Argument,
    Entity,
    Event,
    Record,
    Source,
    Span,
    dumps_line,
    read_records,
    write_records,
)

runner = CliRunner()
TEXT = "Syrian forces attacked Deir Ezzor on Friday, the ministry said."
SEG = "doc:0-64"


def rec(layer: Layer, annotator: str, annotation_id: int, **kw) -> Record:
    return Record(
        layer=layer,
        segment_id=kw.pop("segment_id", SEG),
        document_id="doc",
        text=TEXT,
        annotator=annotator,
        annotation_id=annotation_id,
        created_at=kw.pop("created_at", f"2024-01-0{annotation_id % 9 + 1}T00:00:00Z"),
        updated_at=kw.pop("updated_at", f"2024-01-0{annotation_id % 9 + 1}T00:00:00Z"),
        lead_time=3.5,
        source=Source("http://ls", 1, 100 + annotation_id),
        **kw,
    )


def ent(s: int, e: int, label: str, eid: str) -> Entity:
    return Entity(eid, s, e, TEXT[s:e], label)


def ev(s: int, e: int, etype: str, eid: str, *args: tuple[str, int, int, str]) -> Event:
    return Event(
        eid,
        etype,
        Span(s, e, TEXT[s:e]),
        tuple(Argument(role, a, b, TEXT[a:b], et) for role, a, b, et in args),
    )


SYRIAN, DEIR, FRIDAY = (0, 6), (23, 33), (37, 43)
ATTACK = (14, 22)


def test_one_annotator_is_gold_as_it_is() -> None:
    r = rec(Layer.ENTITIES, "annotator-1", 5, entities=(ent(*SYRIAN, "NORP", "e1"),))
    outcome, gold, conflicts = adjudicate_layer(Layer.ENTITIES, [r])
    assert not conflicts and outcome.single == 1
    (g,) = gold
    assert g.entities == r.entities
    assert g.annotator == "gold" and g.annotation_id == f"gold:{SEG}"
    assert g.ground_truth is True and g.lead_time is None and g.model_version is None
    assert g.source == r.source and g.updated_at == r.updated_at == g.created_at


def test_entities_majority_of_three() -> None:
    """Syrian: 3/3 → gold; Deir Ezzor GPE 2/3 → gold (its id from the first annotator by
    annotation id), LOC 1/3 loses; Friday 1/3 → not gold, and not a conflict."""
    records = [
        rec(Layer.ENTITIES, "c", 7, entities=(ent(*SYRIAN, "NORP", "c1"), ent(*DEIR, "GPE", "c2"))),
        rec(Layer.ENTITIES, "a", 3, entities=(ent(*SYRIAN, "NORP", "a1"), ent(*DEIR, "LOC", "a2"),
                                              ent(*FRIDAY, "DATE", "a3"))),
        rec(Layer.ENTITIES, "b", 5, entities=(ent(*SYRIAN, "NORP", "b1"), ent(*DEIR, "GPE", "b2"))),
    ]  # fmt: skip
    outcome, (g,), conflicts = adjudicate_layer(Layer.ENTITIES, records)
    assert not conflicts and outcome.majority == 1
    assert [(e.id, e.start, e.end, e.label) for e in g.entities] == [
        ("a1", *SYRIAN, "NORP"),
        ("b2", *DEIR, "GPE"),
    ]
    assert g.source == records[1].source  # annotation 3 is the first
    assert g.updated_at == "2024-01-08T00:00:00Z"  # the latest of the inputs (annotation 7)


def test_two_annotators_disagreeing_on_a_span_is_a_tie() -> None:
    records = [
        rec(Layer.ENTITIES, "a", 1, entities=(ent(*SYRIAN, "NORP", "a1"), ent(*DEIR, "GPE", "a2"))),
        rec(Layer.ENTITIES, "b", 2, entities=(ent(*SYRIAN, "NORP", "b1"),)),
    ]  # fmt: skip
    outcome, gold, (c,) = adjudicate_layer(Layer.ENTITIES, records)
    assert gold == [] and outcome.conflicts == 1
    assert c.reasons == ("entity GPE 'Deir Ezzor' [23:33] was marked by 1 of 2 annotators (a tie)",)
    assert [v.annotator for v in c.versions] == ["a", "b"]


def test_a_region_everyone_marked_with_different_labels_is_a_conflict() -> None:
    records = [
        rec(Layer.ENTITIES, name, i, entities=(ent(*DEIR, label, f"{name}1"),))
        for i, (name, label) in enumerate([("a", "GPE"), ("b", "LOC"), ("c", "FAC")], 1)
    ]
    _, gold, (c,) = adjudicate_layer(Layer.ENTITIES, records)
    assert gold == []
    assert c.reasons[0].startswith(
        "3 of 3 annotators marked overlapping text but none of the variants has a majority"
    )


def test_stance_majority_tie_and_split() -> None:
    def st(annotator: str, i: int, label: str, target: str = "ISIS") -> Record:
        return rec(Layer.STANCE, annotator, i, target=target, label=label)

    outcome, gold, conflicts = adjudicate_layer(
        Layer.STANCE,
        [
            st("a", 1, "against"), st("b", 2, "against"), st("c", 3, "none"),  # majority
            st("a", 4, "favor", "Russia"), st("b", 5, "against", "Russia"),  # tie
            st("a", 6, "favor", "US"), st("b", 7, "against", "US"), st("c", 8, "none", "US"),
        ],
    )  # fmt: skip
    assert (outcome.majority, outcome.conflicts) == (1, 2)
    (g,) = gold
    assert (g.target, g.label, g.annotation_id) == ("ISIS", "against", f"gold:{SEG}:ISIS")
    assert [c.target for c in conflicts] == ["Russia", "US"]
    assert conflicts[0].reasons == (
        "no stance label has a majority of 2 annotators (against ×1, favor ×1)",
    )


def test_ground_truth_wins_over_the_majority() -> None:
    records = [
        rec(Layer.STANCE, "a", 1, target="ISIS", label="favor"),
        rec(Layer.STANCE, "b", 2, target="ISIS", label="favor"),
        rec(Layer.STANCE, "reviewer", 9, target="ISIS", label="against", ground_truth=True),
    ]
    outcome, (g,), conflicts = adjudicate_layer(Layer.STANCE, records)
    assert not conflicts and outcome.ground_truth == 1
    assert g.label == "against"


def test_ground_truth_of_a_reviewer_who_also_annotated_wins() -> None:
    """The reviewer's own earlier-updated ground truth still wins over their plain record."""
    records = [
        rec(Layer.STANCE, "a", 1, target="ISIS", label="favor"),
        rec(Layer.STANCE, "b", 2, target="ISIS", label="none"),
        rec(Layer.STANCE, "b", 3, target="ISIS", label="against", ground_truth=True,
            updated_at="2023-01-01T00:00:00Z"),
    ]  # fmt: skip
    outcome, (g,), conflicts = adjudicate_layer(Layer.STANCE, records)
    assert not conflicts and outcome.ground_truth == 1 and outcome.tasks == 1
    assert g.label == "against"
    assert g.updated_at == "2024-01-03T00:00:00Z"  # the latest input: b's plain record


def test_events_majority_with_arguments() -> None:
    """Attack trigger 3/3 → gold; Attacker 3/3 → gold; Target 2/3 → gold; Place 1/3 → not.
    Die trigger 1/3 → not gold."""
    attacker = ("Attacker", *SYRIAN, "NORP")
    target = ("Target", *DEIR, "GPE")
    place = ("Place", *DEIR, "GPE")
    records = [
        rec(Layer.EVENTS, "a", 1, events=(ev(*ATTACK, "Conflict.Attack", "a1", attacker, target),)),
        rec(Layer.EVENTS, "b", 2, events=(ev(*ATTACK, "Conflict.Attack", "b1", target, attacker),
                                          ev(*FRIDAY, "Life.Die", "b2"))),
        rec(Layer.EVENTS, "c", 3, events=(ev(*ATTACK, "Conflict.Attack", "c1", attacker, place),)),
    ]  # fmt: skip
    _, (g,), conflicts = adjudicate_layer(Layer.EVENTS, records)
    assert not conflicts
    (event,) = g.events
    assert event.id == "a1" and event.type == "Conflict.Attack"
    assert [(a.role, a.start, a.end) for a in event.arguments] == [
        ("Attacker", *SYRIAN),
        ("Target", *DEIR),
    ]


def test_events_argument_tie_is_a_conflict() -> None:
    records = [
        rec(Layer.EVENTS, "a", 1, events=(ev(*ATTACK, "Conflict.Attack", "a1",
                                              ("Target", *DEIR, "GPE")),)),
        rec(Layer.EVENTS, "b", 2, events=(ev(*ATTACK, "Conflict.Attack", "b1",
                                              ("Place", *DEIR, "GPE")),)),
    ]  # fmt: skip
    _, gold, (c,) = adjudicate_layer(Layer.EVENTS, records)
    assert gold == []
    assert c.reasons == (
        "argument Place 'Deir Ezzor' [23:33] of Conflict.Attack 'attacked' was marked by 1 of 2 "
        "annotators (a tie)",
        "argument Target 'Deir Ezzor' [23:33] of Conflict.Attack 'attacked' was marked by 1 of 2 "
        "annotators (a tie)",
    )


# --- files -----------------------------------------------------------------------------------


def workspace(tmp_path: Path) -> Path:
    ann = tmp_path / "annotations"
    write_records(ann / "entities.jsonl", [
        rec(Layer.ENTITIES, "a", 1, entities=(ent(*SYRIAN, "NORP", "a1"),)),
        rec(Layer.ENTITIES, "b", 2, entities=(ent(*SYRIAN, "NORP", "b1"),)),
        rec(Layer.ENTITIES, "a", 3, segment_id="doc:70-90", entities=(ent(*DEIR, "GPE", "x"),)),
        rec(Layer.ENTITIES, "b", 4, segment_id="doc:70-90"),
    ])  # fmt: skip
    write_records(ann / "stance.jsonl", [
        rec(Layer.STANCE, "a", 5, target="ISIS", label="against"),
    ])  # fmt: skip
    return ann


def test_adjudicate_writes_gold_and_conflicts(tmp_path: Path) -> None:
    ann = workspace(tmp_path)
    assert gold_is_stale(ann)
    summary = adjudicate(ann)
    assert summary.rows() == [
        ("entities", 2, 1, 0, 0, 1, 1),
        ("events", 0, 0, 0, 0, 0, 0),
        ("stance", 1, 1, 0, 1, 0, 0),
    ]
    gold = read_records(ann / "gold" / "entities.jsonl")
    assert [(g.segment_id, [e.label for e in g.entities]) for g in gold] == [(SEG, ["NORP"])]
    assert read_records(ann / "gold" / "events.jsonl") == []
    (line,) = (ann / "conflicts.jsonl").read_text(encoding="utf-8").splitlines()
    conflict = json.loads(line)
    assert conflict["segment_id"] == "doc:70-90" and conflict["layer"] == "entities"
    assert [a["annotator"] for a in conflict["annotations"]] == ["a", "b"]
    assert read_conflicts(ann)[0].versions[0].entities[0].label == "GPE"
    assert not gold_is_stale(ann)


def test_adjudicate_is_deterministic(tmp_path: Path) -> None:
    ann = workspace(tmp_path)
    adjudicate(ann)
    first = {p.name: p.read_bytes() for p in sorted((ann / "gold").iterdir())}
    first["conflicts"] = (ann / "conflicts.jsonl").read_bytes()
    adjudicate(ann)
    again = {p.name: p.read_bytes() for p in sorted((ann / "gold").iterdir())}
    again["conflicts"] = (ann / "conflicts.jsonl").read_bytes()
    assert first == again


def test_gold_goes_stale_when_records_change(tmp_path: Path) -> None:
    ann = workspace(tmp_path)
    adjudicate(ann)
    assert not gold_is_stale(ann)
    write_records(ann / "events.jsonl", [rec(Layer.EVENTS, "a", 8)])
    assert gold_is_stale(ann)
    adjudicate(ann)
    assert not gold_is_stale(ann)
    os.remove(ann / "gold" / "stance.jsonl")
    assert gold_is_stale(ann)


def test_a_failed_adjudication_leaves_the_old_gold(tmp_path: Path) -> None:
    ann = workspace(tmp_path)
    adjudicate(ann)
    before = (ann / "gold" / "entities.jsonl").read_bytes()
    (ann / "stance.jsonl").write_text("not json\n", encoding="utf-8")
    with pytest.raises(Exception, match="stance.jsonl:1: not valid JSON"):
        adjudicate(ann)
    assert (ann / "gold" / "entities.jsonl").read_bytes() == before
    assert sorted(p.name for p in ann.iterdir()) == [
        "conflicts.jsonl", "entities.jsonl", "gold", "stance.jsonl",
    ]  # fmt: skip


def test_cli_adjudicate(tmp_path: Path) -> None:
    ann = workspace(tmp_path)
    result = runner.invoke(app, ["annotations", "adjudicate", "--annotations", str(ann)])
    assert result.exit_code == 0, result.output
    assert "1 conflict in" in result.stdout and "newsanno review create" in result.stdout
    assert (ann / "gold" / "entities.jsonl").is_file()


def test_cli_adjudicate_unknown_policy(tmp_path: Path) -> None:
    ann = workspace(tmp_path)
    result = runner.invoke(
        app, ["annotations", "adjudicate", "--annotations", str(ann), "--policy", "coin"]
    )
    assert result.exit_code == 1
    assert (
        result.stderr.strip() == "Error: Unknown adjudication policy 'coin'. Use one of: majority."
    )
    assert not (ann / "gold").exists()


def test_records_vouched_for_are_decided_the_same_straight_from_their_dicts(
    tmp_path: Path,
) -> None:
    # Regression: for an entities file the import vouched for, tasks without ground truth or a
    # second record of an annotator are decided from the dicts (agreements, majorities and
    # conflicts alike); every other task goes the general way. Gold, conflicts and agreement
    # must be the same bytes as without that shortcut.
    def seg(i: int) -> str:
        return f"doc:{i * 100}-{i * 100 + 64}"

    syrian, deir, friday = (
        ent(*SYRIAN, "GPE", "a"),
        ent(*DEIR, "LOC", "b"),
        ent(*FRIDAY, "DATE", "c"),
    )
    records = [
        # 0: two annotators, the same spans listed in another order (gold: sorted, a's ids)
        rec(Layer.ENTITIES, "annotator-1", 11, segment_id=seg(0), entities=(deir, syrian)),
        rec(Layer.ENTITIES, "annotator-2", 12, segment_id=seg(0),
            entities=(ent(*SYRIAN, "GPE", "x"), ent(*DEIR, "LOC", "y"))),
        # 1: one annotator, no spans at all
        rec(Layer.ENTITIES, "annotator-1", 13, segment_id=seg(1)),
        # 2: the same span twice in one record
        rec(Layer.ENTITIES, "annotator-1", 14, segment_id=seg(2),
            entities=(syrian, ent(*SYRIAN, "GPE", "dup"))),
        rec(Layer.ENTITIES, "annotator-2", 15, segment_id=seg(2), entities=(syrian,)),
        # 3: a disagreement (a tie: a conflict)
        rec(Layer.ENTITIES, "annotator-1", 16, segment_id=seg(3), entities=(syrian, friday)),
        rec(Layer.ENTITIES, "annotator-2", 17, segment_id=seg(3), entities=(syrian,)),
        # 4: ground truth among agreeing annotators
        rec(Layer.ENTITIES, "annotator-1", 18, segment_id=seg(4), entities=(deir,)),
        rec(Layer.ENTITIES, "annotator-2", 19, segment_id=seg(4), entities=(deir,)),
        rec(Layer.ENTITIES, "reviewer-1", 20, segment_id=seg(4), entities=(friday,),
            ground_truth=True),
        # 5: an annotator with two records (the later counts), string and int ids, no dates
        rec(Layer.ENTITIES, "annotator-1", 21, segment_id=seg(5), entities=(friday,),
            updated_at=None, created_at=None),
        rec(Layer.ENTITIES, "annotator-1", 22, segment_id=seg(5), entities=(deir,)),
        rec(Layer.ENTITIES, "annotator-2", 7, segment_id=seg(5), entities=(deir,)),
        # 6: three annotators agreeing, the earliest annotation id not the first annotator
        *(
            rec(Layer.ENTITIES, f"annotator-{k}", aid, segment_id=seg(6),
                entities=(ent(*FRIDAY, "DATE", f"f{k}"),))
            for k, aid in ((1, 31), (2, 30), (3, 32))
        ),
        # 7: three annotators, two of them mark one span more (a majority: gold, with the id of
        # the earliest annotation that has it)
        rec(Layer.ENTITIES, "annotator-1", 41, segment_id=seg(7), entities=(syrian,)),
        rec(Layer.ENTITIES, "annotator-2", 42, segment_id=seg(7),
            entities=(syrian, ent(*DEIR, "LOC", "d2"))),
        rec(Layer.ENTITIES, "annotator-3", 43, segment_id=seg(7),
            entities=(ent(*DEIR, "LOC", "d3"), syrian)),
        # 8: three annotators, the same words with three labels (a region: a conflict)
        *(
            rec(Layer.ENTITIES, f"annotator-{k}", 50 + k, segment_id=seg(8),
                entities=(ent(*SYRIAN, label, f"s{k}"),))
            for k, label in ((1, "GPE"), (2, "NORP"), (3, "LOC"))
        ),
        # 9: three annotators, one marks a span the others did not (not gold, not a conflict)
        rec(Layer.ENTITIES, "annotator-1", 61, segment_id=seg(9), entities=(friday,)),
        rec(Layer.ENTITIES, "annotator-2", 62, segment_id=seg(9), entities=(friday, deir)),
        rec(Layer.ENTITIES, "annotator-3", 63, segment_id=seg(9), entities=(friday,)),
    ]  # fmt: skip
    outputs = []
    for vouched in ((), (Layer.ENTITIES,)):
        folder = tmp_path / ("vouched" if vouched else "plain")
        write_records(folder / "entities.jsonl", records)
        summary = adjudicate(folder, vouched=vouched)
        outputs.append(
            (
                [(o.single, o.majority, o.conflicts, o.ground_truth) for o in summary.layers],
                {
                    name: (folder / name).read_bytes()
                    for name in ("gold/entities.jsonl", "gold/agreement.json", "conflicts.jsonl")
                },
            )
        )
    assert outputs[0] == outputs[1]
    gold = read_records(tmp_path / "vouched" / "gold" / "entities.jsonl")
    assert [g.segment_id for g in gold] == [seg(i) for i in (0, 1, 2, 4, 5, 6, 7, 9)]
    assert [e.id for e in gold[0].entities] == ["a", "b"]  # annotator-1's ids, in text order
    assert [e.id for e in gold[5].entities] == ["f2"]  # the earliest annotation id's
    assert [e.id for e in gold[6].entities] == ["a", "d2"]
    assert [e.id for e in gold[7].entities] == ["c"]
    conflicts = read_conflicts(tmp_path / "vouched")
    assert [c.segment_id for c in conflicts] == [seg(3), seg(8)]
    assert "none of the variants has a majority" in conflicts[1].reasons[0]


def test_a_file_out_of_task_order_lists_each_conflict_once(tmp_path: Path) -> None:
    # Written by hand out of task order: the task-by-task pass finds a conflict, then meets a
    # task again and starts over on the whole file. The conflicts it had written are dropped.
    def seg(i: int) -> str:
        return f"doc:{i * 100}-{i * 100 + 64}"

    syrian, deir = ent(*SYRIAN, "NORP", "s"), ent(*DEIR, "GPE", "d")
    lines = [
        rec(Layer.ENTITIES, "a", 1, segment_id=seg(0), entities=(syrian, deir)),
        rec(Layer.ENTITIES, "b", 2, segment_id=seg(0), entities=(syrian,)),  # a tie: conflict
        rec(Layer.ENTITIES, "a", 3, segment_id=seg(1), entities=(deir,)),
        rec(Layer.ENTITIES, "b", 4, segment_id=seg(0), entities=(syrian,)),  # seg(0) again
    ]
    ann = tmp_path / "annotations"
    ann.mkdir()
    (ann / "entities.jsonl").write_bytes(b"".join(dumps_line(r.to_dict()) for r in lines))
    summary = adjudicate(ann)
    (c,) = read_conflicts(ann)
    assert c.segment_id == seg(0) and summary.total_conflicts == 1
    assert [r.segment_id for r in read_records(ann / "gold" / "entities.jsonl")] == [seg(1)]
