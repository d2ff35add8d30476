"""The annotator's view: Label Studio's labeling page, in headless Chromium, as a person uses it.

A config the server accepts can still show a pre-annotation on the wrong words, hide a label or
trip on an emoji; these tests look at the page itself. They run against the session's real Label
Studio (fixture `label_studio`) and projects made by `push_projects` (what `newsanno project
create` runs) from a tasks folder built here: the repository's seed articles plus one written
below, whose sentences put an emoji (one code point, then a two-code-point flag) before entities.

One browser and one login serve the whole module. Screenshots of each layer's page go to
`test-artifacts/annotator-<layer>.png` (the README's pictures in docs/ are copies of them).
Needs Debian's chromium at /usr/bin/chromium and the `playwright` package (never
`playwright install`).
"""

from __future__ import annotations

import importlib.util
import re
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from newsanno.layers import LAYERS, Layer

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip(
        "chromium not found: apt-get install -y chromium (then make test runs the browser tests)",
        allow_module_level=True,
    )
if importlib.util.find_spec("playwright") is None:
    pytest.skip(
        "playwright not installed: make setup (installs the dev extra; never 'playwright install')",
        allow_module_level=True,
    )

from playwright.sync_api import Browser, Page, sync_playwright  # noqa: E402

import browser_helpers as ui  # noqa: E402  (tests/ is on sys.path: pytest's rootdir import mode)
from newsanno import labelstudio  # noqa: E402
from newsanno.articles import load_articles  # noqa: E402
from newsanno.importer import import_annotations, sources_for  # noqa: E402
from newsanno.labelconfig import (  # noqa: E402
    ARGUMENT_CONTROL,
    ENTITY_CONTROL,
    TRIGGER_CONTROL,
)
from newsanno.ontology import Ontology, default_ontology_path  # noqa: E402
from newsanno.records import iter_jsonl  # noqa: E402
from newsanno.tasks import build_tasks, gazetteer_for, read_tasks  # noqa: E402
from newsanno.workspace import Workspace  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.integration]

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "test-artifacts"

# The seed article of these tests. Sentence 2 has an emoji (1 code point, 2 UTF-16 units) before
# every entity; sentence 3 a flag (2 code points, 4 UTF-16 units) before two of them.
SEED_ID = "browser-emoji"
SEED_TEXT = (
    "Rebels strike near Raqqa\n"
    "\n"
    "Rebels 🙂 attacked Raqqa on Friday near the Tabqa Dam, the US and Russia said. "
    "Syrian Democratic Forces 🇸🇾 said ISIS lost Raqqa.\n"
)
SENTENCE = "Rebels 🙂 attacked Raqqa on Friday near the Tabqa Dam, the US and Russia said."


def at(word: str, text: str = SENTENCE) -> tuple[int, int]:
    """Code-point offsets of the one occurrence of `word` in `text`."""
    assert text.count(word) == 1, f"{word!r} is not unique in {text!r}"
    start = text.index(word)
    return start, start + len(word)


@dataclass(frozen=True)
class Site:
    """The projects these tests annotate, and the tasks pushed into them."""

    url: str
    email: str
    password: str
    workspace: Workspace
    connection: labelstudio.Connection
    projects: dict[Layer, labelstudio.ProjectRef]
    configs: dict[Layer, str]
    tasks: dict[Layer, list[dict[str, Any]]]  # as in tasks/<layer>.jsonl, plus "id" on the server

    def task(self, layer: Layer, text: str = SENTENCE, target: str | None = None) -> dict[str, Any]:
        found = [
            t
            for t in self.tasks[layer]
            if t["data"]["text"] == text and t["data"].get("target") == target
        ]
        assert len(found) == 1, f"{len(found)} {layer} tasks for {text!r} / {target}"
        return found[0]


@pytest.fixture(scope="module")
def ontology() -> Ontology:
    return Ontology.load(default_ontology_path())


@pytest.fixture(scope="module")
def site(label_studio: Any, tmp_path_factory: pytest.TempPathFactory, ontology: Ontology) -> Site:
    root = tmp_path_factory.mktemp("browser")
    seeds = root / "seeds"
    shutil.copytree(REPO / "seeds", seeds)
    (seeds / f"{SEED_ID}.txt").write_text(SEED_TEXT, encoding="utf-8")
    tasks_dir = root / "tasks"
    build_tasks(load_articles(seeds), ontology, gazetteer_for(seeds, ontology), tasks_dir)

    # A workspace like the repository's (its schema/ has the guidelines) on the session server.
    workspace = Workspace(root / "workspace")
    shutil.copytree(REPO / "schema", workspace.schema)
    workspace.state.mkdir(parents=True, mode=0o700)
    shutil.copy2(label_studio.workspace.server_file, workspace.server_file)
    connection = labelstudio.resolve_connection(workspace)
    summary = labelstudio.push_projects(
        workspace, connection, tasks_dir, title_prefix=f"browser {uuid.uuid4().hex[:8]}"
    )
    projects = {p.layer: p.project for p in summary.projects}

    client = labelstudio.Client(connection)
    configs: dict[Layer, str] = {}
    tasks: dict[Layer, list[dict[str, Any]]] = {}
    for layer in LAYERS:
        configs[layer] = (tasks_dir / f"{layer}.xml").read_text(encoding="utf-8")
        ids = {labelstudio.task_key(t): t["id"] for t in client.export_json(projects[layer].id)}
        tasks[layer] = [
            {**t, "id": ids[labelstudio.task_key(t)]}
            for t in read_tasks(tasks_dir / f"{layer}.jsonl")
        ]
    return Site(
        url=label_studio.url,
        email=label_studio.username,
        password=label_studio.password,
        workspace=workspace,
        connection=connection,
        projects=projects,
        configs=configs,
        tasks=tasks,
    )


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = ui.launch(playwright)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="module")
def page(browser: Browser, site: Site) -> Iterator[Page]:
    context = browser.new_context(viewport=ui.VIEWPORT)
    context.set_default_timeout(30_000)
    page = context.new_page()
    ui.log_in(page, site.url, site.email, site.password)
    try:
        yield page
    finally:
        context.close()


def open_task(page: Page, site: Site, layer: Layer, task: dict[str, Any]) -> ui.PageLayout:
    ui.open_task(page, site.url, site.projects[layer].id, task["id"], task["data"]["text"])
    return ui.PageLayout.of(site.configs[layer])


def screenshot(page: Page, layer: Layer) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"annotator-{layer}.png"
    page.screenshot(path=path)
    return path


# ---- what the annotator sees --------------------------------------------------------------------


@pytest.mark.parametrize("layer", LAYERS, ids=str)
def test_page_shows_the_sentence_every_label_the_context_and_the_guidelines(
    page: Page, site: Site, ontology: Ontology, layer: Layer
) -> None:
    target = "United States" if layer is Layer.STANCE else None
    task = site.task(layer, target=target)
    data = task["data"]
    layout = open_task(page, site, layer, task)

    # The sentence, character for character (the emoji included).
    sentence = ui.richtext(page, layout)
    assert sentence.evaluate("el => el.textContent") == SENTENCE

    # Every label of the ontology, in its order, and nothing else.
    if layer is Layer.ENTITIES:
        assert ui.label_chips(page, layout, ENTITY_CONTROL) == list(ontology.entity_labels)
    elif layer is Layer.EVENTS:
        assert ui.label_chips(page, layout, TRIGGER_CONTROL) == list(ontology.event_labels)
        assert ui.label_chips(page, layout, ARGUMENT_CONTROL) == list(ontology.entity_labels)
    else:
        assert ui.choices(page) == list(ontology.stance_label_names)
        assert target in ui.headings(page)

    # The guidelines the project holds (`project create` writes the ontology's descriptions and
    # schema/GUIDELINES.md there): the Instructions dialog shows every word of them.
    project = labelstudio.Client(site.connection).get_project(site.projects[layer].id) or {}
    instruction = project.get("expert_instruction") or ""
    assert instruction, "the project has no instructions"
    shown = ui.instructions_text(page)
    assert ui.visible_text(instruction) in re.sub(r"\s+", "", shown)
    names = {
        Layer.ENTITIES: ontology.entity_labels,
        Layer.EVENTS: (*ontology.event_labels, *ontology.entity_labels),
        Layer.STANCE: ontology.stance_label_names,
    }[layer]
    assert [n for n in names if n not in shown] == []

    # The neighbouring sentences, set apart from the sentence, in reading order around it; the
    # task list beside the editor names the task by its sentence, not by a neighbour.
    before = page.locator(".lsf-htx-richtext").nth(layout.text_values["$context_before"])
    after = page.locator(".lsf-htx-richtext").nth(layout.text_values["$context_after"])
    assert data["context_before"] and data["context_after"]  # the seed gives both
    assert before.evaluate("el => el.textContent") == data["context_before"]
    assert after.evaluate("el => el.textContent") == data["context_after"]
    for context in (before, after):
        assert ui.style(context) != ui.style(sentence), "the context looks like the sentence"
    problems = []
    if not ui.box(before)["y"] < ui.box(sentence)["y"]:
        problems.append("the previous sentence (context_before) is not above the sentence")
    if not ui.box(after)["y"] > ui.box(sentence)["y"]:
        problems.append("the next sentence (context_after) is shown above the sentence")
    listed = ui.task_list_name(page)
    if listed != SENTENCE:
        problems.append(f"the task list shows this task as {listed!r}, not as its sentence")
    assert not problems, "; ".join(problems)


def test_every_preannotation_is_highlighted_on_exactly_the_words_its_prediction_names(
    page: Page, site: Site
) -> None:
    checked, problems = 0, []
    for task in site.tasks[Layer.ENTITIES]:
        if not task.get("predictions"):
            continue
        layout = open_task(page, site, Layer.ENTITIES, task)
        text = task["data"]["text"]
        results = task["predictions"][0]["result"]
        sentence = ui.richtext(page, layout)
        ui.wait_for_highlights(page, layout, len(results))
        shown = ui.highlights(sentence)
        where = task["data"]["segment_id"]
        if set(shown) != {r["id"] for r in results}:
            problems.append(
                f"{where}: regions {sorted(shown)} ≠ predicted {[r['id'] for r in results]}"
            )
        for r in results:
            v = r["value"]
            h = shown.get(r["id"])
            want = text[v["start"] : v["end"]]
            if h is None or h.text != want or h.label != v["labels"][0]:
                problems.append(
                    f"{where} {v['start']}-{v['end']}: predicted {want!r} {v['labels'][0]}, "
                    f"page highlights {h.text if h else None!r} {h.label if h else None}"
                )
            checked += 1
    assert problems == []
    assert checked >= 6  # the seed's sentences alone pre-annotate 7 spans


# ---- what a person does comes back through `annotations import` --------------------------------


def test_a_persons_work_on_the_page_comes_back_through_import_as_exactly_those_records(
    page: Page, site: Site, ontology: Ontology, tmp_path: Path
) -> None:
    client = labelstudio.Client(site.connection)
    me = client.whoami()

    # Entities: keep the three pre-annotations, drag over two more (after the emoji).
    task = site.task(Layer.ENTITIES)
    layout = open_task(page, site, Layer.ENTITIES, task)
    prediction = task["predictions"][0]
    ui.wait_for_highlights(page, layout, len(prediction["result"]))
    for word, label in [("Tabqa Dam", "FAC"), ("Russia", "GPE")]:
        made = ui.mark_span(page, layout, ENTITY_CONTROL, label, *at(word))
        assert (made.text, made.label) == (word, label)
    screenshot(page, Layer.ENTITIES)
    saved = ui.submit(page)
    assert saved["parent_prediction"] is not None  # it started from the pre-annotation

    # Events: a trigger, two arguments (one each side of the emoji), relations carrying roles.
    events_task = site.task(Layer.EVENTS)
    layout = open_task(page, site, Layer.EVENTS, events_task)
    trigger = ui.mark_span(page, layout, TRIGGER_CONTROL, "Conflict.Attack", *at("attacked"))
    attacker = ui.mark_span(page, layout, ARGUMENT_CONTROL, "PER", *at("Rebels"))
    target = ui.mark_span(page, layout, ARGUMENT_CONTROL, "GPE", *at("Raqqa"))
    ui.relate(page, trigger.region_id, attacker.region_id)
    ui.relate(page, trigger.region_id, target.region_id)
    offered = ui.relation_roles(page, "PER", "Attacker")
    assert offered == list(ontology.roles)  # every role of the ontology can be picked
    ui.relation_roles(page, "GPE", "Target")
    screenshot(page, Layer.EVENTS)
    ui.submit(page)

    # Stance: one choice; then the same sentence's other target is skipped in the label stream.
    stance_task = site.task(Layer.STANCE, target="United States")
    skipped_task = site.task(Layer.STANCE, target="Russia")
    open_task(page, site, Layer.STANCE, stance_task)
    ui.choose(page, "against")
    screenshot(page, Layer.STANCE)
    ui.submit(page)
    page.goto(f"{site.url}/projects/{site.projects[Layer.STANCE].id}/data?labeling=1")
    ui.wait_until_loaded(page)
    ui.close_dialog(page)  # in the stream, the instructions open first
    assert "Russia" in ui.headings(page), "the label stream did not offer the next stance task"
    skipped = ui.skip(page)
    assert skipped["was_cancelled"] is True and skipped["task"] == skipped_task["id"]

    summary = import_annotations(sources_for(site.workspace), tmp_path / "annotations", ontology)

    assert (summary.quarantined, summary.skipped, summary.valid) == (0, 1, 3)
    assert summary.counts["stance"].skipped == 1
    records = {
        layer: [row for _, row in iter_jsonl(tmp_path / "annotations" / f"{layer}.jsonl")]
        for layer in LAYERS
    }
    assert [len(records[layer]) for layer in LAYERS] == [1, 1, 1]
    for layer, task_ in [
        (Layer.ENTITIES, task),
        (Layer.EVENTS, events_task),
        (Layer.STANCE, stance_task),
    ]:
        (record,) = records[layer]
        assert record["segment_id"] == task_["data"]["segment_id"]
        assert record["document_id"] == SEED_ID
        assert record["text"] == SENTENCE
        assert record["annotator"] == f"annotator-{me}"
        assert record["source"] == {
            "url": site.url,
            "project_id": site.projects[layer].id,
            "task_id": task_["id"],
        }

    (entities,) = records[Layer.ENTITIES]
    assert entities["model_version"] == prediction["model_version"]
    assert sorted(
        (e["start"], e["end"], e["text"], e["label"]) for e in entities["entities"]
    ) == sorted(
        [
            (*at("Raqqa"), "Raqqa", "GPE"),
            (*at("Friday"), "Friday", "DATE"),
            (*at("Tabqa Dam"), "Tabqa Dam", "FAC"),
            (*at("US"), "US", "GPE"),
            (*at("Russia"), "Russia", "GPE"),
        ]
    )

    (events,) = records[Layer.EVENTS]
    assert events["model_version"] is None
    assert [
        {
            "type": e["type"],
            "trigger": e["trigger"],
            "arguments": sorted(e["arguments"], key=lambda a: a["start"]),
        }
        for e in events["events"]
    ] == [
        {
            "type": "Conflict.Attack",
            "trigger": {"start": at("attacked")[0], "end": at("attacked")[1], "text": "attacked"},
            "arguments": [
                {"role": "Attacker", "start": 0, "end": 6, "text": "Rebels", "entity_type": "PER"},
                {
                    "role": "Target",
                    "start": at("Raqqa")[0],
                    "end": at("Raqqa")[1],
                    "text": "Raqqa",
                    "entity_type": "GPE",
                },
            ],
        }
    ]

    (stance,) = records[Layer.STANCE]
    assert (stance["target"], stance["label"]) == ("United States", "against")
