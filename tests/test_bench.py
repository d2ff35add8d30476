"""Smoke of the benchmark code (not a timed test): the synthetic workload is a Label Studio
1.23 full-JSON export that the real importer accepts with the counts the generator expects, and
a tiny `python -m newsanno.bench` run writes every figure."""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import pytest

from newsanno.bench import workload
from newsanno.bench.__main__ import main
from newsanno.bench.run import TARGETS, floor
from newsanno.importer import import_annotations
from newsanno.layers import LAYERS
from newsanno.ontology import Ontology
from newsanno.tasks import read_tasks

# Keys of a task and of an annotation in a full-JSON export of Label Studio 1.23.2 (taken from a
# real export of a project with a prediction, a skip and annotations by two users).
TASK_KEYS = {
    "id", "annotations", "drafts", "predictions", "data", "meta", "created_at", "updated_at",
    "allow_skip", "inner_id", "total_annotations", "cancelled_annotations", "total_predictions",
    "comment_count", "unresolved_comment_count", "last_comment_updated_at", "project",
    "updated_by", "comment_authors",
}  # fmt: skip
ANNOTATION_KEYS = {
    "id", "completed_by", "result", "was_cancelled", "ground_truth", "created_at", "updated_at",
    "draft_created_at", "lead_time", "prediction", "result_count", "unique_id", "import_id",
    "last_action", "bulk_created", "task", "project", "updated_by", "parent_prediction",
    "parent_annotation", "last_created_by",
}  # fmt: skip
PREDICTION_KEYS = {
    "id", "result", "model_version", "created_ago", "score", "cluster", "neighbors",
    "mislabeling", "created_at", "updated_at", "model", "model_run", "task", "project",
}  # fmt: skip
CONTROLS = {"entities": {"label"}, "events": {"trigger", "argument"}, "stance": {"stance"}}


@pytest.fixture(scope="module")
def ontology() -> Ontology:
    return Ontology.load()


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory, ontology: Ontology) -> workload.Workload:
    """100 entity tasks, with invalid annotations and UTF-16 offsets made frequent enough that
    every kind shows up."""
    mp = pytest.MonkeyPatch()
    mp.setattr(workload, "INVALID_RATE", 0.06)
    mp.setattr(workload, "EMOJI_RATE", 0.4)
    try:
        return workload.generate(tmp_path_factory.mktemp("wl"), ontology, scale=0.005, seed=3)
    finally:
        mp.undo()


def test_workload_has_the_tasks_of_tasks_build(small: workload.Workload) -> None:
    counts = small.to_dict()["layers"]
    assert counts["entities"]["tasks"] >= 100
    for layer in LAYERS:
        tasks = read_tasks(small.tasks_dir / f"{layer}.jsonl")
        export = orjson.loads(small.export(layer).read_bytes())
        assert len(export) == len(tasks) == counts[str(layer)]["tasks"]
        assert [t["data"] for t in export] == [t["data"] for t in tasks]
        assert (small.tasks_dir / f"{layer}.xml").is_file()


@pytest.mark.parametrize("layer", [str(layer) for layer in LAYERS])
def test_workload_export_has_label_studio_shape(small: workload.Workload, layer: str) -> None:
    export = orjson.loads(small.export(layer).read_bytes())
    inner_ids = [t["inner_id"] for t in export]
    assert inner_ids == list(range(1, len(export) + 1))
    for task in export:
        assert set(task) == TASK_KEYS
        assert len(task["annotations"]) == 2
        assert len({a["completed_by"] for a in task["annotations"]}) == 2
        for a in task["annotations"]:
            assert set(a) == ANNOTATION_KEYS
            assert a["task"] == task["id"]
            assert a["prediction"] == {} or set(a["prediction"]) == PREDICTION_KEYS
            if a["parent_prediction"] is not None:
                assert a["parent_prediction"] in task["predictions"]
            if a["was_cancelled"]:
                assert a["result"] == []
            for r in a["result"]:
                if r["type"] == "relation":
                    assert set(r) == {"from_id", "to_id", "type", "direction", "labels"}
                    assert r["direction"] == "right"
                    continue
                assert set(r) == {"id", "from_name", "to_name", "type", "value"}
                assert r["to_name"] == "text"
                assert r["from_name"] in CONTROLS[layer]
                assert r["type"] == ("choices" if layer == "stance" else "labels")


def test_workload_is_deterministic(
    small: workload.Workload, tmp_path: Path, ontology: Ontology
) -> None:
    mp = pytest.MonkeyPatch()
    mp.setattr(workload, "INVALID_RATE", 0.06)
    mp.setattr(workload, "EMOJI_RATE", 0.4)
    try:
        again = workload.generate(tmp_path, ontology, scale=0.005, seed=3)
    finally:
        mp.undo()
    for layer in LAYERS:
        assert again.export(layer).read_bytes() == small.export(layer).read_bytes()


def test_importer_accepts_the_workload_with_the_expected_counts(
    small: workload.Workload, tmp_path: Path, ontology: Ontology
) -> None:
    expected = small.to_dict()["layers"]
    assert sum(c["invalid"] for c in expected.values()) > 0  # quarantine is exercised
    assert sum(c["utf16_spans"] for c in expected.values()) > 0  # and realignment
    summary = import_annotations(small.exports, tmp_path / "annotations", ontology)
    for layer in LAYERS:
        got, want = summary.counts[str(layer)], expected[str(layer)]
        assert got.read == want["annotations"]
        assert got.skipped == want["skipped"]
        assert got.quarantined == want["invalid"], layer
        assert got.valid == want["valid"]
        assert got.realigned == want["utf16_spans"]
    quarantine = (tmp_path / "annotations" / "quarantine.jsonl").read_text().splitlines()
    assert len(quarantine) == sum(c["invalid"] for c in expected.values())


def test_floor_writes_one_row_per_submitted_annotation(
    small: workload.Workload, tmp_path: Path
) -> None:
    import pyarrow.parquet as pq

    expected = small.to_dict()["layers"]["entities"]
    rows = floor(small.export("entities"), tmp_path / "floor.parquet")
    assert rows == expected["annotations"] - expected["skipped"]
    assert pq.read_table(tmp_path / "floor.parquet").num_rows == rows


def test_quick_bench_writes_every_figure(tmp_path: Path) -> None:
    out, report = tmp_path / "benchmarks", tmp_path / "BENCHMARKS.md"
    argv = ["--quick", "--skip-server", "--scale", "0.005", "--out", str(out)]
    assert main([*argv, "--report", str(report)]) == 0
    results = json.loads((out / "results.json").read_text())
    assert set(results) >= {"scale", "stages", "comparisons"}
    assert set(results["comparisons"]) == set(TARGETS)
    assert results["comparisons"]["push_vs_raw_import"] is None  # --skip-server
    for name in ("import_publish_vs_converter", "import_publish_vs_floor", "memory_growth_4x"):
        assert results["comparisons"][name] > 0
    stages = results["stages"]
    for stage in ("tasks_build", "validate", "agreement"):
        assert stages[stage]["seconds"] > 0
    assert stages["tasks_build"]["sentences"] == results["scale"]["sentences"]
    assert stages["validate"]["problems"] == 0  # what the import wrote is valid
    assert stages["memory"]["annotations_nx"] > 3 * stages["memory"]["annotations_1x"]
    assert results["scale"]["entity_tasks"] >= 100
    keys = list(json.loads((out / "results.json").read_text(), object_pairs_hook=list))
    assert [k for k, _ in keys] == sorted(k for k, _ in keys)
    text = report.read_text()
    for name in TARGETS:
        assert f"`{name}`" in text
    assert not (out / "work").exists()  # the big files are removed
    again = tmp_path / "again.md"
    assert main(["--render-only", "--out", str(out), "--report", str(again)]) == 0
    assert again.read_text() == text  # the report is a function of results.json
