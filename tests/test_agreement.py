"""Agreement figures against values computed by hand and textbook examples."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from newsanno.agreement import (
    LayerTally,
    agreement_report,
    cohen_kappa,
    exact_matches,
    krippendorff_alpha,
    load_and_measure,
    relaxed_matches,
)
from newsanno.cli import app
from newsanno.layers import Layer
from newsanno.records import Argument, Entity, Event, Record, Span, write_records

runner = CliRunner()
TEXT = "Syrian forces attacked Deir Ezzor on Friday, the ministry said."


def stance(seg: int, annotator: str, label: str | None, target: str = "ISIS", **kw) -> Record:
    return Record(
        layer=Layer.STANCE,
        segment_id=f"doc:{seg}-{seg + 10}",
        document_id="doc",
        text=TEXT,
        annotator=annotator,
        annotation_id=kw.pop("annotation_id", f"{annotator}-{seg}-{target}"),
        target=target,
        label=label,
        **kw,
    )


def ents(seg: int, annotator: str, *spans: tuple[int, int, str], **kw) -> Record:
    return Record(
        layer=Layer.ENTITIES,
        segment_id=f"doc:{seg}-{seg + 10}",
        document_id="doc",
        text=TEXT,
        annotator=annotator,
        annotation_id=kw.pop("annotation_id", f"{annotator}-{seg}"),
        entities=tuple(
            Entity(f"{annotator}{i}", s, e, TEXT[s:e], label)
            for i, (s, e, label) in enumerate(spans)
        ),
        **kw,
    )


def evs(
    seg: int, annotator: str, *events: tuple[int, int, str, list[tuple[str, int, int]]]
) -> Record:
    return Record(
        layer=Layer.EVENTS,
        segment_id=f"doc:{seg}-{seg + 10}",
        document_id="doc",
        text=TEXT,
        annotator=annotator,
        annotation_id=f"{annotator}-{seg}",
        events=tuple(
            Event(
                f"{annotator}{i}",
                etype,
                Span(s, e, TEXT[s:e]),
                tuple(Argument(role, a, b, TEXT[a:b], "GPE") for role, a, b in args),
            )
            for i, (s, e, etype, args) in enumerate(events)
        ),
    )


# --- stance ----------------------------------------------------------------------------------


def test_krippendorff_2011_worked_example_nominal_with_missing_values() -> None:
    """Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", example C: four
    observers, twelve units, missing values; nominal alpha = 0.743."""
    rows = {
        "A": [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
        "B": [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
        "C": [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
        "D": [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
    }
    records = [
        stance(unit * 100, coder, f"v{value}")
        for coder, values in rows.items()
        for unit, value in enumerate(values)
        if value is not None
    ]
    report = agreement_report({Layer.STANCE: records})
    alpha = report[Layer.STANCE].figures["krippendorff_alpha"].value
    assert alpha is not None and round(alpha, 3) == 0.743
    # unit 12 has one value only: not an item
    assert report[Layer.STANCE].items == 11
    assert report[Layer.STANCE].tasks == 12
    assert report[Layer.STANCE].annotators == 4


def test_cohen_kappa_textbook_example() -> None:
    """Wikipedia's Cohen's kappa example: 50 items, 20 yes/yes, 5 yes/no, 10 no/yes, 15 no/no:
    p_o = 0.7, p_e = 0.5, kappa = 0.4."""
    pairs = [("yes", "yes")] * 20 + [("yes", "no")] * 5 + [("no", "yes")] * 10 + [("no", "no")] * 15
    a, b = zip(*pairs, strict=True)
    assert cohen_kappa(a, b).value == pytest.approx(0.4)

    records = [stance(i * 100, "A", x) for i, (x, _) in enumerate(pairs)]
    records += [stance(i * 100, "B", y) for i, (_, y) in enumerate(pairs)]
    fig = agreement_report({Layer.STANCE: records})[Layer.STANCE].figures
    assert fig["cohen_kappa"].value == pytest.approx(0.4)
    assert fig["percent_agreement"].value == pytest.approx(0.7)


def test_stance_hand_computed_three_annotators() -> None:
    """Three tasks: (favor, favor, against), (none, none, none), (against, favor, —).

    Pairs: A-B agree on 2 of 3, A-C on 1 of 2, B-C on 1 of 2 → 4/7 pairs agree.
    Kappa A-B: labels A=(favor, none, against), B=(favor, none, favor): p_o = 2/3,
    p_e = (1/3·2/3) + (1/3·1/3) + (1/3·0) = 1/3 → kappa = (2/3 − 1/3) / (2/3) = 0.5.
    Kappa A-C over (favor, none) vs (against, none): p_o = 1/2; marginals A={favor .5, none .5},
    C={against .5, none .5} → p_e = .25 → kappa = (.5 − .25) / .75 = 1/3.
    Kappa B-C over (favor, none) vs (against, none): the same, 1/3. Mean = (0.5 + 1/3 + 1/3) / 3.
    """
    records = [
        stance(0, "A", "favor"), stance(0, "B", "favor"), stance(0, "C", "against"),
        stance(100, "A", "none"), stance(100, "B", "none"), stance(100, "C", "none"),
        stance(200, "A", "against"), stance(200, "B", "favor"),
    ]  # fmt: skip
    layer = agreement_report({Layer.STANCE: records})[Layer.STANCE]
    assert layer.figures["percent_agreement"].value == pytest.approx(4 / 7)
    assert layer.figures["cohen_kappa"].value == pytest.approx((0.5 + 1 / 3 + 1 / 3) / 3)
    by_pair = {(p.a, p.b): p for p in layer.pairs}
    assert by_pair[("A", "B")].items == 3
    assert by_pair[("A", "B")].figures["cohen_kappa"].value == pytest.approx(0.5)
    assert by_pair[("A", "C")].figures["percent_agreement"].value == pytest.approx(0.5)
    # alpha by hand: coincidences over 8 pairable values
    # unit 1: favor,favor,against (m=3); unit 2: none×3 (m=3); unit 3: against,favor (m=2)
    # o(f,f)=2/2=1, o(f,a)=2/2+1=2 (unit1: 2 pairs/2; unit3: 1 pair/1) → o(a,f)=2, o(n,n)=6/2=3
    # n_f=3, n_a=2, n_n=3, n=8; D_o = (o_fa+o_af)/n = 4/8
    # D_e = (n_f·n_a + n_a·n_f + n_f·n_n + n_n·n_f + n_a·n_n + n_n·n_a) / (n(n−1)) = 42/56
    # alpha = 1 − (4/8)/(42/56) = 1/3
    assert layer.figures["krippendorff_alpha"].value == pytest.approx(1 / 3)


def test_perfect_and_total_disagreement() -> None:
    same = [stance(i, a, lab) for i, lab in [(0, "favor"), (100, "against")] for a in "AB"]
    fig = agreement_report({Layer.STANCE: same})[Layer.STANCE].figures
    assert fig["krippendorff_alpha"].value == pytest.approx(1.0)
    assert fig["cohen_kappa"].value == pytest.approx(1.0)
    assert fig["percent_agreement"].value == 1.0

    opposite = [stance(0, "A", "favor"), stance(0, "B", "against"),
                stance(100, "A", "against"), stance(100, "B", "favor")]  # fmt: skip
    fig = agreement_report({Layer.STANCE: opposite})[Layer.STANCE].figures
    assert fig["percent_agreement"].value == 0.0
    # p_o = 0, p_e = 0.5 → kappa = −1; alpha: D_o = 1, D_e = 4·... = 8/12 → 1 − 1.5 = −0.5
    assert fig["cohen_kappa"].value == pytest.approx(-1.0)
    assert fig["krippendorff_alpha"].value == pytest.approx(-0.5)


def test_single_annotator_gives_nulls_with_reasons_not_nan() -> None:
    records = [stance(0, "A", "favor"), stance(100, "A", "against")]
    report = agreement_report({Layer.STANCE: records})
    out = report.to_dict()
    assert out["stance"] == {
        "krippendorff_alpha": None,
        "cohen_kappa": None,
        "percent_agreement": None,
        "items": 0,
        "reason": {
            "krippendorff_alpha": "no task has two or more annotators",
            "cohen_kappa": "no task has two or more annotators",
            "percent_agreement": "no task has two or more annotators",
        },
    }
    assert report[Layer.STANCE].tasks == 2 and report[Layer.STANCE].annotators == 1
    assert out["entities"]["reason"]["span_f1"] == "no entities records"
    json.dumps(out, allow_nan=False)  # no NaN anywhere


def test_one_label_only_is_null_with_reason() -> None:
    records = [stance(i, a, "none") for i in (0, 100) for a in "AB"]
    out = agreement_report({Layer.STANCE: records}).to_dict()["stance"]
    assert out["krippendorff_alpha"] is None and out["cohen_kappa"] is None
    assert "only one label was ever used ('none')" in out["reason"]["krippendorff_alpha"]
    assert "one and the same label" in out["reason"]["cohen_kappa"]
    assert out["percent_agreement"] == 1.0 and out["items"] == 2
    json.dumps(out, allow_nan=False)


def test_missing_labels_are_missing_values() -> None:
    """A record without a label is a missing value; the task is an item only if two labelled it."""
    records = [
        stance(0, "A", "favor"), stance(0, "B", None),
        stance(100, "A", "favor"), stance(100, "B", "against"),
        stance(200, "A", "against"), stance(200, "B", "against"),
    ]  # fmt: skip
    layer = agreement_report({Layer.STANCE: records})[Layer.STANCE]
    assert layer.items == 2
    assert layer.figures["percent_agreement"].value == pytest.approx(0.5)


def test_ground_truth_and_superseded_records_do_not_count() -> None:
    records = [
        stance(0, "A", "favor", annotation_id=1, updated_at="2024-01-01T00:00:00Z"),
        stance(0, "A", "against", annotation_id=2, updated_at="2024-02-01T00:00:00Z"),
        stance(0, "B", "against"),
        stance(0, "reviewer", "favor", ground_truth=True),
    ]
    layer = agreement_report({Layer.STANCE: records})[Layer.STANCE]
    assert layer.annotators == 2
    assert layer.figures["percent_agreement"].value == 1.0


@settings(max_examples=60, deadline=None)
@given(
    labels=st.lists(st.sampled_from(["favor", "against", "none"]), min_size=2, max_size=25),
    coders=st.integers(min_value=2, max_value=5),
)
def test_alpha_is_one_for_identical_coders(labels: list[str], coders: int) -> None:
    units = [{f"c{c}": lab for c in range(coders)} for lab in labels]
    fig = krippendorff_alpha(units)
    if len(set(labels)) < 2:
        assert fig.value is None and fig.reason
    else:
        assert fig.value == pytest.approx(1.0)


@settings(max_examples=60, deadline=None)
@given(
    data=st.lists(
        st.tuples(*(st.sampled_from(["a", "b", "c", None]) for _ in range(3))),
        min_size=1,
        max_size=25,
    ),
    perm=st.permutations(["x", "y", "z"]),
)
def test_alpha_is_invariant_under_relabelling(data: list[tuple], perm: list[str]) -> None:
    rename = dict(zip(["a", "b", "c"], perm, strict=True))
    units = [{f"c{i}": v for i, v in enumerate(row) if v is not None} for row in data]
    renamed = [{c: rename[v] for c, v in u.items()} for u in units]
    before, after = krippendorff_alpha(units), krippendorff_alpha(renamed)
    assert (before.value is None) == (after.value is None)
    if before.value is not None:
        assert after.value == pytest.approx(before.value)
        assert not math.isnan(before.value)


# --- entities --------------------------------------------------------------------------------


def test_span_f1_exact_and_relaxed_by_hand() -> None:
    """A: [0,6) NORP, [23,34) GPE, [38,44) DATE; B: [0,13) NORP, [23,34) GPE, [38,44) GPE.

    Exact: 1 shared span of 3 vs 3 → F1 = 2·1 / (3 + 3) = 1/3.
    Relaxed: NORP overlaps NORP, GPE matches GPE; DATE vs GPE differ in label → 2 matches,
    F1 = 2·2 / 6 = 2/3.
    """
    records = [
        ents(0, "A", (0, 6, "NORP"), (23, 34, "GPE"), (38, 44, "DATE")),
        ents(0, "B", (0, 13, "NORP"), (23, 34, "GPE"), (38, 44, "GPE")),
    ]
    layer = agreement_report({Layer.ENTITIES: records})[Layer.ENTITIES]
    assert layer.figures["span_f1"].value == pytest.approx(1 / 3)
    assert layer.figures["relaxed_f1"].value == pytest.approx(2 / 3)
    assert layer.items == 1


def test_span_f1_micro_averages_over_every_pair_and_task() -> None:
    """Task 1 (A, B, C): A={x}, B={x}, C={} → pairs A-B tp1; A-C fp1; B-C fp1.
    Task 2 (A, B): A={y, z}, B={y} → tp 1, fp 1.
    Totals: tp=2, fp+fn=3 → F1 = 4 / 7. Task 3 has one annotator: not counted."""
    x, y, z = (0, 6, "NORP"), (23, 34, "GPE"), (38, 44, "DATE")
    records = [
        ents(0, "A", x), ents(0, "B", x), ents(0, "C"),
        ents(100, "A", y, z), ents(100, "B", y),
        ents(200, "A", x),
    ]  # fmt: skip
    layer = agreement_report({Layer.ENTITIES: records})[Layer.ENTITIES]
    assert layer.figures["span_f1"].value == pytest.approx(4 / 7)
    assert (layer.tasks, layer.annotators, layer.items) == (3, 3, 2)
    by_pair = {(p.a, p.b): p for p in layer.pairs}
    assert by_pair[("A", "B")].figures["span_f1"].value == pytest.approx(2 * 2 / (2 * 2 + 1))
    assert by_pair[("A", "C")].figures["span_f1"].value == 0.0
    assert by_pair[("A", "B")].items == 2


def test_entities_perfect_total_and_empty() -> None:
    same = [ents(0, a, (0, 6, "NORP")) for a in "AB"]
    assert agreement_report({Layer.ENTITIES: same})[Layer.ENTITIES].figures["span_f1"].value == 1.0
    apart = [ents(0, "A", (0, 6, "NORP")), ents(0, "B", (23, 34, "GPE"))]
    figs = agreement_report({Layer.ENTITIES: apart})[Layer.ENTITIES].figures
    assert figs["span_f1"].value == 0.0 and figs["relaxed_f1"].value == 0.0
    empty = [ents(0, "A"), ents(0, "B")]
    out = agreement_report({Layer.ENTITIES: empty}).to_dict()["entities"]
    assert out["span_f1"] is None and out["items"] == 1
    assert out["reason"]["span_f1"] == "no annotator marked any span in the tasks they share"


def test_relaxed_matching_is_one_to_one() -> None:
    """One long span overlapping two short ones matches only one of them."""
    assert relaxed_matches([(0, 20, "PER")], [(0, 5, "PER"), (10, 15, "PER")]) == 1
    # a greedy match of (0,10) to (5,15) would leave (12,20) alone; the best matching has 2
    assert relaxed_matches([(0, 10, "X"), (8, 20, "X")], [(5, 9, "X"), (12, 20, "X")]) == 2
    assert relaxed_matches([(0, 5, "X")], [(5, 9, "X")]) == 0  # touching is not overlapping


# --- events ----------------------------------------------------------------------------------


def test_trigger_and_argument_f1_by_hand() -> None:
    """A: attacked/Attack {Attacker [0,13), Target [23,34)}, said/Statement {}.
    B: attacked/Attack {Attacker [0,13), Place [23,34)}, Friday/Die {Victim [0,6)}.
    Triggers: 1 shared of 2 vs 2 → F1 = 0.5.
    Arguments under the shared trigger only: A {Attacker, Target}, B {Attacker, Place}
    → tp 1, fp 1, fn 1 → F1 = 0.5; B's Victim (unshared trigger) does not count."""
    attack = (14, 22, "Conflict.Attack")
    records = [
        evs(0, "A", (*attack, [("Attacker", 0, 13), ("Target", 23, 34)]),
            (58, 62, "Contact.Statement", [])),
        evs(0, "B", (*attack, [("Attacker", 0, 13), ("Place", 23, 34)]),
            (38, 44, "Life.Die", [("Victim", 0, 6)])),
    ]  # fmt: skip
    figs = agreement_report({Layer.EVENTS: records})[Layer.EVENTS].figures
    assert figs["trigger_f1"].value == pytest.approx(0.5)
    assert figs["argument_f1"].value == pytest.approx(0.5)


def test_argument_f1_null_without_a_shared_trigger() -> None:
    records = [
        evs(0, "A", (14, 22, "Conflict.Attack", [("Attacker", 0, 13)])),
        evs(0, "B", (14, 22, "Life.Die", [("Victim", 0, 6)])),
    ]
    out = agreement_report({Layer.EVENTS: records}).to_dict()["events"]
    assert out == {
        "trigger_f1": 0.0,
        "argument_f1": None,
        "items": 1,
        "reason": {"argument_f1": "no argument under a trigger that two annotators share"},
    }


# --- files and CLI ---------------------------------------------------------------------------


def write_fixture(annotations: Path) -> None:
    write_records(annotations / "stance.jsonl", [
        stance(0, "A", "favor"), stance(0, "B", "favor"),
        stance(100, "A", "against"), stance(100, "B", "none"),
    ])  # fmt: skip
    write_records(annotations / "entities.jsonl", [
        ents(0, "A", (0, 6, "NORP")), ents(0, "B", (0, 6, "NORP")),
    ])  # fmt: skip


def test_load_and_measure_reads_the_record_files(tmp_path: Path) -> None:
    write_fixture(tmp_path)
    out = load_and_measure(tmp_path).to_dict()
    assert list(out) == ["stance", "entities", "events"]
    assert out["stance"]["percent_agreement"] == 0.5
    assert out["entities"]["span_f1"] == 1.0
    assert out["events"]["reason"]["trigger_f1"] == "no events records"


def test_cli_json(tmp_path: Path) -> None:
    write_fixture(tmp_path)
    result = runner.invoke(
        app, ["annotations", "agreement", "--annotations", str(tmp_path), "--json"]
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out == load_and_measure(tmp_path).to_dict()
    assert set(out["stance"]) == {
        "krippendorff_alpha", "cohen_kappa", "percent_agreement", "items"
    }  # fmt: skip


def test_cli_tables(tmp_path: Path) -> None:
    write_fixture(tmp_path)
    result = runner.invoke(app, ["annotations", "agreement", "--annotations", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "Krippendorff's alpha" in result.stdout
    assert "no events records" in result.stdout
    assert "A" in result.stdout and "span F1" in result.stdout


def test_cli_missing_folder(tmp_path: Path) -> None:
    result = runner.invoke(app, ["annotations", "agreement", "--annotations", str(tmp_path / "no")])
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        f"Error: {tmp_path / 'no'}/: no record files (entities.jsonl, events.jsonl, "
        "stance.jsonl). Run 'newsanno annotations import' first."
    )


def test_cli_broken_line_is_named(tmp_path: Path) -> None:
    (tmp_path / "stance.jsonl").write_text('{"layer": "stance"}\n', encoding="utf-8")
    result = runner.invoke(app, ["annotations", "agreement", "--annotations", str(tmp_path)])
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        f"Error: {tmp_path / 'stance.jsonl'}:1: missing field 'segment_id'. Check it with "
        f"'newsanno annotations validate {tmp_path / 'stance.jsonl'}'."
    )


_span_sets = st.sets(
    st.tuples(st.integers(0, 6), st.integers(0, 6), st.sampled_from(["PER", "ORG"])), max_size=4
)


@settings(max_examples=150, deadline=None)
@given(_span_sets, _span_sets, st.booleans())
def test_span_tally_is_what_the_matchings_find(
    a: set[tuple[int, int, str]], b: set[tuple[int, int, str]], same: bool
) -> None:
    """Identical span sets (the common case, decided at once) and any others are tallied with
    the exact and relaxed matchings' counts."""
    if same:
        b = set(a)
    tally = LayerTally(Layer.ENTITIES)
    tally.add_spans({"A": a, "B": b})
    first, second = tally.first[("A", "B")], tally.second[("A", "B")]
    exact, relaxed = exact_matches(a, b), relaxed_matches(a, b)
    assert (first.tp, first.fp, first.fn) == (exact, len(a) - exact, len(b) - exact)
    assert (second.tp, second.fp, second.fn) == (relaxed, len(a) - relaxed, len(b) - relaxed)
