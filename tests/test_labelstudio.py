"""`newsanno project create` and the Label Studio client, against a real Label Studio.

The push must be idempotent and resumable: every task exactly once, whatever happened before
(a second run, tasks deleted in Label Studio, the server killed in the middle of a push).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from newsanno.cli import app
from newsanno.errors import LabelStudioError, TasksError
from newsanno.labelstudio import (
    Client,
    Connection,
    load_projects,
    markdown_to_html,
    push_projects,
    resolve_connection,
    task_key,
)
from newsanno.layers import LAYERS, Layer
from newsanno.server import free_port
from newsanno.tasks import read_tasks
from newsanno.workspace import Workspace

REPO = Path(__file__).resolve().parents[1]
TASKS = REPO / "tasks"
runner = CliRunner()


def keys_on_server(client: Client, project_id: int) -> Counter[tuple[str, ...]]:
    return Counter(task_key(t) for t in client.export_json(project_id))


def keys_in_file(path: Path) -> Counter[tuple[str, ...]]:
    return Counter(task_key(t) for t in read_tasks(path))


def write_tasks(path: Path, tasks: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(t) + "\n" for t in tasks), encoding="utf-8")


def many_entity_tasks(n: int) -> list[dict[str, Any]]:
    """`n` distinct entity tasks with a prediction each, shaped like `tasks build` makes them."""
    tasks = []
    for i in range(n):
        text = f"Raqqa: Syrian forces said on Friday that convoy {i} arrived."
        data = {
            "text": text,
            "document_id": f"synthetic-{i // 10}",
            "segment_id": f"synthetic-{i // 10}:{i}-{i + len(text)}",
            "doc_start": i,
            "doc_end": i + len(text),
            "section": "body",
            "context_before": "",
            "context_after": "",
        }
        prediction = {
            "model_version": "test",
            "result": [
                {
                    "id": f"r{i}",
                    "from_name": "label",
                    "to_name": "text",
                    "type": "labels",
                    "value": {"start": 0, "end": 5, "text": "Raqqa", "labels": ["GPE"]},
                }
            ],
        }
        tasks.append({"data": data, "meta": {"layer": "entities"}, "predictions": [prediction]})
    return tasks


# ---- connection (no server needed) ---------------------------------------------------------------


def _server_json(ws: Workspace, url: str, key: str) -> None:
    ws.state.mkdir(parents=True, exist_ok=True)
    fields = {"url": url, "api_key": key, "username": "a@b.c", "password": "p" * 20, "pid": 1}
    ws.server_file.write_text(json.dumps(fields))


def test_connection_prefers_arguments_then_env_then_server_json(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = Workspace(tmp_path)
    _server_json(ws, "http://127.0.0.1:8080", "embedded-key")
    assert resolve_connection(ws) == Connection("http://127.0.0.1:8080", "embedded-key")
    monkeypatch.setenv("LABEL_STUDIO_URL", "https://ls.example.org/")
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", "env-key")
    assert resolve_connection(ws) == Connection("https://ls.example.org", "env-key")
    assert resolve_connection(ws, "http://10.0.0.1:9000", "arg-key") == Connection(
        "http://10.0.0.1:9000", "arg-key"
    )
    assert "key" not in repr(resolve_connection(ws))


def test_connection_never_sends_the_embedded_key_to_another_server(tmp_path: Path) -> None:
    ws = Workspace(tmp_path)
    _server_json(ws, "http://127.0.0.1:8080", "embedded-key")
    with pytest.raises(LabelStudioError, match="No API key for Label Studio at https://other.org"):
        resolve_connection(ws, url="https://other.org")


def test_connection_without_anything_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(LabelStudioError, match="Run 'newsanno server start'"):
        resolve_connection(Workspace(tmp_path))
    with pytest.raises(LabelStudioError, match="is not a Label Studio URL"):
        resolve_connection(Workspace(tmp_path), url="127.0.0.1:8080", api_key="k")


def test_guidelines_markdown_becomes_simple_html() -> None:
    md = "# Entities\n\nMark **names**, not `pronouns` <b>.\n\n- PER: people\n- ORG: groups\n"
    assert markdown_to_html(md) == (
        "<h2>Entities</h2>\n<p>Mark <b>names</b>, not <code>pronouns</code> &lt;b&gt;.</p>\n"
        "<ul>\n<li>PER: people</li>\n<li>ORG: groups</li>\n</ul>"
    )


# ---- project create ------------------------------------------------------------------------------


@pytest.mark.integration
def test_project_create_makes_three_projects_with_every_task_once(
    ls_workspace: Workspace, ls_client: Client, unique_title: str
) -> None:
    result = runner.invoke(
        app,
        [
            "project",
            "create",
            "--tasks",
            str(TASKS),
            "--title",
            unique_title,
            "-w",
            str(ls_workspace.root),
        ],
    )
    assert result.exit_code == 0, result.output
    projects = load_projects(ls_workspace)
    assert sorted(projects) == sorted(LAYERS)
    for layer, ref in projects.items():
        assert ref.title == f"{unique_title} · {layer}"
        assert f"  {layer:<9} {ref.url}\n" in result.output
        project = ls_client.get_project(ref.id)
        assert project is not None
        xml = (TASKS / f"{layer}.xml").read_text(encoding="utf-8")
        assert project["label_config"] == xml.strip()  # Label Studio strips the final newline
        on_server = keys_on_server(ls_client, ref.id)
        assert on_server == keys_in_file(TASKS / f"{layer}.jsonl")
        assert set(on_server.values()) == {1}
    instruction = ls_client.get_project(projects[Layer.ENTITIES].id)["expert_instruction"]
    assert "<b>GPE</b>: Geo-political entities" in instruction
    stance = ls_client.get_project(projects[Layer.STANCE].id)["expert_instruction"]
    assert "<b>against</b>" in stance
    exported = ls_client.export_json(projects[Layer.ENTITIES].id)
    with_predictions = sum(1 for t in read_tasks(TASKS / "entities.jsonl") if t.get("predictions"))
    assert with_predictions > 0
    assert sum(1 for t in exported if t["predictions"]) == with_predictions


@pytest.mark.integration
def test_second_run_sends_nothing_and_deleted_tasks_come_back(
    ls_workspace: Workspace, ls_client: Client, unique_title: str
) -> None:
    conn = resolve_connection(ls_workspace)
    first = push_projects(ls_workspace, conn, TASKS, unique_title, [Layer.STANCE])
    assert first.sent == len(read_tasks(TASKS / "stance.jsonl"))
    again = push_projects(ls_workspace, conn, TASKS, unique_title, [Layer.STANCE])
    assert again.sent == 0
    assert [p.project.id for p in again.projects] == [p.project.id for p in first.projects]

    project_id = first.projects[0].project.id
    gone = ls_client.export_json(project_id)[:3]
    for task in gone:
        ls_client.delete_task(task["id"])
    assert sum(keys_on_server(ls_client, project_id).values()) == first.sent - 3
    restored = push_projects(ls_workspace, conn, TASKS, None, [Layer.STANCE])  # prefix recorded
    assert restored.sent == 3
    assert restored.projects[0].project.id == project_id
    assert keys_on_server(ls_client, project_id) == keys_in_file(TASKS / "stance.jsonl")


@pytest.mark.integration
def test_lost_projects_json_finds_the_projects_by_title(
    ls_workspace: Workspace, ls_client: Client, unique_title: str
) -> None:
    conn = resolve_connection(ls_workspace)
    first = push_projects(ls_workspace, conn, TASKS, unique_title, [Layer.EVENTS])
    ls_workspace.projects_file.write_text('{"review": {"events": {"id": 99}}}')  # lost ours
    again = push_projects(ls_workspace, conn, TASKS, unique_title, [Layer.EVENTS])
    recorded = json.loads(ls_workspace.projects_file.read_text(encoding="utf-8"))
    assert recorded["review"] == {"events": {"id": 99}}  # other entries are left alone
    assert recorded["projects"]["events"]["id"] == first.projects[0].project.id
    assert again.projects[0].project.id == first.projects[0].project.id
    assert again.sent == 0 and not again.projects[0].created


@pytest.mark.integration
def test_server_killed_mid_push_then_rerun_gives_every_task_once(
    label_studio, ls_workspace: Workspace, ls_client: Client, unique_title: str, tmp_path: Path
) -> None:
    tasks_dir = tmp_path / "tasks"
    tasks_dir.mkdir()
    shutil.copy(TASKS / "entities.xml", tasks_dir)
    write_tasks(tasks_dir / "entities.jsonl", many_entity_tasks(3000))
    conn = resolve_connection(ls_workspace)
    killer: list[threading.Timer] = []

    def kill_during_the_fourth_batch(layer: Layer, sent: int, total: int) -> None:
        if sent == 600 and not killer:  # three batches of 200 are in; the fourth is on its way
            killer.append(threading.Timer(0.15, os.kill, (label_studio.pid, signal.SIGKILL)))
            killer[0].start()

    try:
        with pytest.raises(LabelStudioError, match="run the command again|does not answer"):
            push_projects(
                ls_workspace,
                conn,
                tasks_dir,
                unique_title,
                [Layer.ENTITIES],
                progress=kill_during_the_fourth_batch,
                batch_size=200,
            )
    finally:
        for timer in killer:
            timer.join()
        restarted = label_studio.restart()
    assert restarted.url == label_studio.url
    project_id = load_projects(ls_workspace)[Layer.ENTITIES].id
    partial = keys_on_server(ls_client, project_id)
    assert 600 <= sum(partial.values()) < 3000 and set(partial.values()) == {1}

    summary = push_projects(ls_workspace, conn, tasks_dir, unique_title, [Layer.ENTITIES])
    assert summary.sent == 3000 - sum(partial.values())
    final = keys_on_server(ls_client, project_id)
    assert final == keys_in_file(tasks_dir / "entities.jsonl")
    assert len(final) == 3000 and set(final.values()) == {1}
    assert summary.projects[0].task_count == 3000


# ---- configs -------------------------------------------------------------------------------------


@pytest.mark.integration
def test_bad_config_is_refused_before_any_project_or_task(
    ls_workspace: Workspace, ls_client: Client, unique_title: str, tmp_path: Path
) -> None:
    tasks_dir = tmp_path / "tasks"
    shutil.copytree(TASKS, tasks_dir)
    xml = (tasks_dir / "events.xml").read_text(encoding="utf-8")
    (tasks_dir / "events.xml").write_text(xml.replace('toName="text"', 'toName="nothing"', 1))
    with pytest.raises(TasksError, match=r"events\.xml: Label Studio refuses this labeling config"):
        push_projects(ls_workspace, resolve_connection(ls_workspace), tasks_dir, unique_title)
    for layer in LAYERS:
        assert ls_client.find_projects(f"{unique_title} · {layer}") == []
    assert not ls_workspace.projects_file.exists()


@pytest.mark.integration
def test_server_checks_a_config_without_a_project(ls_client: Client) -> None:
    """`POST /api/projects/validate/` has no SDK method: the client drives it over HTTP."""
    no_choice = '<View><Text name="text" value="$text"/><Choices name="c" toName="text"/></View>'
    with pytest.raises(TasksError) as refused:
        ls_client.validate_config(no_choice, source="stance.xml")
    assert str(refused.value) == (
        "stance.xml: Label Studio refuses this labeling config: Validation failed on : 'Choice' "
        "is a required property. Fix the ontology, then run 'newsanno tasks build'."
    )
    ls_client.validate_config((TASKS / "stance.xml").read_text(encoding="utf-8"))


@pytest.mark.integration
def test_config_change_that_would_orphan_annotations_is_refused(
    ls_workspace: Workspace, ls_client: Client, unique_title: str, tmp_path: Path
) -> None:
    tasks_dir = tmp_path / "tasks"
    tasks_dir.mkdir()
    for name in ("entities.xml", "entities.jsonl"):
        shutil.copy(TASKS / name, tasks_dir)
    conn = resolve_connection(ls_workspace)
    ref = push_projects(ls_workspace, conn, tasks_dir, unique_title, [Layer.ENTITIES])
    project_id = ref.projects[0].project.id
    task = next(t for t in ls_client.export_json(project_id) if "Syria" in t["data"]["text"])
    start = task["data"]["text"].index("Syria")
    span = {"start": start, "end": start + 5, "text": "Syria", "labels": ["GPE"]}
    ls_client.create_annotation(
        task["id"],
        [{"id": "a1", "from_name": "label", "to_name": "text", "type": "labels", "value": span}],
    )
    original = (tasks_dir / "entities.xml").read_text(encoding="utf-8")
    gpe_line = next(line for line in original.splitlines() if 'value="GPE"' in line)
    (tasks_dir / "entities.xml").write_text(original.replace(gpe_line + "\n", ""))

    result = runner.invoke(
        app,
        [
            "project",
            "create",
            "--tasks",
            str(tasks_dir),
            "--layer",
            "entities",
            "-w",
            str(ls_workspace.root),
        ],
    )
    assert result.exit_code == 1
    line = result.stderr.strip()
    assert line.startswith(f"Error: {tasks_dir / 'entities.xml'} changed, and Label Studio refuses")
    assert "GPE" in line and line.endswith(
        "Nothing was changed. Keep the labels that annotations use, or create new projects with "
        "another --title."
    )
    assert "\n" not in line
    assert ls_client.get_project(project_id)["label_config"] == original.strip()

    # A change that keeps every used label goes through, and says so.
    (tasks_dir / "entities.xml").write_text(original.replace('value="LOC"', 'value="LOCATION"'))
    updated = push_projects(ls_workspace, conn, tasks_dir, None, [Layer.ENTITIES])
    assert updated.projects[0].config_updated and updated.rows()[0][-1] == "config updated"
    assert 'value="LOCATION"' in ls_client.get_project(project_id)["label_config"]


# ---- keys and faults -----------------------------------------------------------------------------


@pytest.mark.integration
def test_personal_access_token_works_like_the_legacy_token(
    label_studio, ls_workspace: Workspace, unique_title: str
) -> None:
    pat = label_studio.personal_access_token()
    assert pat.count(".") == 2  # a JWT, not the 40-character legacy token
    conn = resolve_connection(ls_workspace, api_key=pat)
    summary = push_projects(ls_workspace, conn, TASKS, unique_title, [Layer.STANCE])
    client = Client(conn)
    assert client.whoami() == Client(Connection(label_studio.url, label_studio.api_key)).whoami()
    assert sum(keys_on_server(client, summary.projects[0].project.id).values()) == summary.sent


@pytest.mark.integration
def test_wrong_key_is_one_line_and_creates_nothing(
    ls_workspace: Workspace, ls_client: Client, unique_title: str
) -> None:
    result = runner.invoke(
        app,
        [
            "project",
            "create",
            "--tasks",
            str(TASKS),
            "--title",
            unique_title,
            "--api-key",
            "not-a-real-key",
            "-w",
            str(ls_workspace.root),
        ],
    )
    assert result.exit_code == 1
    url = resolve_connection(ls_workspace).url
    assert result.stderr.strip() == (
        f"Error: Label Studio at {url} refused the API key (401: Invalid token.). Set "
        "LABEL_STUDIO_API_KEY or --api-key to a valid legacy token or personal access token, "
        "or run 'newsanno server start' for the embedded server."
    )
    assert "Traceback" not in result.output
    assert ls_client.find_projects(f"{unique_title} · entities") == []


def test_server_not_running_is_one_line(tmp_path: Path) -> None:
    ws = Workspace(tmp_path)
    port = free_port()  # nothing listens there
    _server_json(ws, f"http://127.0.0.1:{port}", "some-key")
    result = runner.invoke(app, ["project", "create", "--tasks", str(TASKS), "-w", str(tmp_path)])
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        f"Error: Label Studio at http://127.0.0.1:{port} does not answer ([Errno 111] Connection "
        "refused). Start it with 'newsanno server start', or check LABEL_STUDIO_URL / --url."
    )


@pytest.mark.integration
def test_wrong_url_is_one_line(label_studio, tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        [
            "project",
            "create",
            "--tasks",
            str(TASKS),
            "--url",
            f"{label_studio.url}/nope",
            "--api-key",
            label_studio.api_key,
            "-w",
            str(tmp_path),
        ],
    )
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        f"Error: {label_studio.url}/nope answered 404 Not Found to GET "
        "/api/current-user/whoami. If that is not the address of a Label Studio server, fix "
        "LABEL_STUDIO_URL (or --url)."
    )


def test_too_long_title_is_refused_before_anything(tmp_path: Path) -> None:
    ws = Workspace(tmp_path)
    _server_json(ws, "http://127.0.0.1:9", "k")  # never reached
    with pytest.raises(LabelStudioError, match="use --title with at most 39"):
        push_projects(ws, resolve_connection(ws), TASKS, "x" * 40)


def test_broken_tasks_line_is_named(tmp_path: Path) -> None:
    tasks_dir = tmp_path / "tasks"
    shutil.copytree(TASKS, tasks_dir)
    lines = (tasks_dir / "stance.jsonl").read_text(encoding="utf-8").splitlines()
    lines[1] = lines[1][:40]
    (tasks_dir / "stance.jsonl").write_text("\n".join(lines) + "\n")
    result = runner.invoke(
        app,
        [
            "project",
            "create",
            "--tasks",
            str(tasks_dir),
            "--url",
            "http://127.0.0.1:9",
            "--api-key",
            "k",
            "-w",
            str(tmp_path),
        ],
    )
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: {tasks_dir / 'stance.jsonl'}:2")
    assert len(result.stderr.strip().splitlines()) == 1


# ---- the client calls other steps use ------------------------------------------------------------


@pytest.mark.integration
def test_annotations_are_attributed_to_the_annotator_accounts(
    ls_client: Client, make_project, unique_title: str
) -> None:
    email = f"{unique_title.split()[-1]}@annotators.example.org"
    annotator = ls_client.ensure_user(email, "Annotat0rPassword")
    assert ls_client.ensure_user(email, "Annotat0rPassword") == annotator  # found, not duplicated
    assert annotator != ls_client.whoami()
    project_id = make_project((TASKS / "stance.xml").read_text(encoding="utf-8"))
    task = read_tasks(TASKS / "stance.jsonl")[0]
    (task_id,) = ls_client.import_tasks(project_id, [task])
    choice = {"choices": ["against"]}
    result = [{"id": "s1", "from_name": "stance", "to_name": "text", "type": "choices",
               "value": choice}]  # fmt: skip
    ls_client.create_annotation(task_id, result, completed_by=annotator, lead_time=4.2)
    ls_client.create_annotation(task_id, result, ground_truth=True)
    (exported,) = ls_client.export_json(project_id)
    by = {a["completed_by"]: a for a in exported["annotations"]}
    assert sorted(by) == sorted([annotator, ls_client.whoami()])
    assert by[annotator]["lead_time"] == 4.2 and not by[annotator]["ground_truth"]
    assert by[ls_client.whoami()]["ground_truth"]
    assert by[annotator]["result"][0]["value"] == choice
    assert ls_client.project_url(project_id) == f"{ls_client.url}/projects/{project_id}"


@pytest.mark.integration
def test_guidelines_file_joins_the_instructions(
    ls_workspace: Workspace, ls_client: Client, unique_title: str
) -> None:
    conn = resolve_connection(ls_workspace)
    summary = push_projects(ls_workspace, conn, TASKS, unique_title, [Layer.STANCE])
    ls_workspace.schema.mkdir(parents=True)
    (ls_workspace.schema / "GUIDELINES.md").write_text(
        "## Stance\n\nJudge the **sentence**, not the article.\n", encoding="utf-8"
    )
    again = push_projects(ls_workspace, conn, TASKS, unique_title, [Layer.STANCE])
    assert again.projects[0].project == summary.projects[0].project and again.sent == 0
    project = ls_client.get_project(summary.projects[0].project.id)
    assert project is not None and project["show_instruction"]
    assert (
        "<h3>Stance</h3>\n<p>Judge the <b>sentence</b>, not the article.</p>"
        in (project["expert_instruction"])
    )
