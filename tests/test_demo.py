"""`newsanno demo` from a fresh workspace reproduces the committed export/ (the seed dataset)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from huggingface_hub import DatasetCard
from typer.testing import CliRunner

from newsanno.cli import app
from newsanno.labelstudio import Client, load_projects
from newsanno.workspace import Workspace

REPO = Path(__file__).resolve().parents[1]
GOLD_CONFIGS = ("entities", "events", "stance")
# What a new Label Studio assigns afresh: ids, timestamps, the account's pseudonym, the server.
VOLATILE = {"id", "annotation_id", "created_at", "updated_at", "lead_time", "annotator", "source"}

pytestmark = pytest.mark.integration
runner = CliRunner()


def card_without_raw_sizes(path: Path) -> tuple[dict, str]:
    card = DatasetCard.load(path)
    data = card.data.to_dict()
    data["dataset_info"] = [
        info for info in data["dataset_info"] if info["config_name"] != "annotations"
    ]
    return data, card.text


def raw_rows(path: Path) -> list[dict]:
    rows = pq.read_table(path).to_pylist()
    out = []
    for row in rows:
        record = json.loads(row.pop("record"))
        out.append(
            {
                **{k: v for k, v in row.items() if k not in VOLATILE},
                "record": {k: v for k, v in record.items() if k not in VOLATILE},
            }
        )
    return sorted(out, key=lambda r: json.dumps(r, sort_keys=True))


def test_demo_from_a_fresh_workspace_reproduces_the_committed_export(
    ls_workspace: Workspace, unique_title: str, ls_client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = ls_workspace
    shutil.copytree(REPO / "seeds", ws.seeds)
    shutil.copytree(REPO / "schema", ws.schema)
    monkeypatch.chdir(ws.root)

    first = runner.invoke(app, ["demo", "--title", unique_title])
    assert first.exit_code == 0, first.output + first.stderr
    assert "log in as" in first.output and "server.json" in first.output
    password = json.loads(ws.server_file.read_text())["password"]
    assert password not in first.output

    # The gold configs are byte-identical to the committed seed dataset.
    for config in GOLD_CONFIGS:
        (made,) = (ws.export / "data" / config).glob("*.parquet")
        committed = REPO / "export" / "data" / config / made.name
        assert made.read_bytes() == committed.read_bytes(), f"{config} differs from export/"
    # tasks/ as committed, too
    for path in (REPO / "tasks").iterdir():
        assert (ws.tasks / path.name).read_bytes() == path.read_bytes()
    # The card differs only in the per-annotator config's sizes.
    assert card_without_raw_sizes(ws.export / "README.md") == card_without_raw_sizes(
        REPO / "export" / "README.md"
    )
    # The per-annotator rows differ only in what a new Label Studio assigns.
    (raw,) = (ws.export / "data" / "annotations").glob("*.parquet")
    assert raw_rows(raw) == raw_rows(REPO / "export" / "data" / "annotations" / raw.name)

    # Idempotent: a second run sends no task and no annotation.
    projects = load_projects(ws)
    counts = {layer: ls_client.task_count(ref.id) for layer, ref in projects.items()}
    annotations_before = (ws.annotations / "entities.jsonl").read_bytes()
    second = runner.invoke(app, ["demo", "--title", unique_title])
    assert second.exit_code == 0, second.output + second.stderr
    assert load_projects(ws) == projects
    assert {layer: ls_client.task_count(ref.id) for layer, ref in projects.items()} == counts
    for ref in projects.values():
        for task in ls_client.export_json(ref.id):
            assert len(task["annotations"]) == 1
    assert (ws.annotations / "entities.jsonl").read_bytes() == annotations_before


def test_demo_without_gold_says_what_is_missing(
    ls_workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = ls_workspace
    ws.seeds.mkdir()
    shutil.copy(REPO / "seeds" / "cnn-2017-11-03-deir-ezzor.txt", ws.seeds)
    monkeypatch.chdir(ws.root)
    result = runner.invoke(app, ["demo"])
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: {ws.seeds}: no *.annotations.jsonl gold file.")
