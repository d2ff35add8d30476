"""`newsanno demo`: the whole pipeline on the workspace's seeds, on the embedded Label Studio.

seeds → tasks → three labeling projects → the seeds' gold annotations submitted through the API
as an annotator account (the step people do in the browser) → import → adjudicate → publish.
Every step is idempotent, so a second run reuses the projects and adds nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import labelstudio, server
from .adjudicate import AdjudicationSummary, adjudicate, recorded_agreement
from .agreement import load_and_measure
from .articles import load_articles
from .errors import SeedError
from .export import PublishSummary, publish
from .importer import ImportSummary, import_annotations, sources_for
from .layers import LAYERS, Layer
from .ontology import Ontology, default_ontology_path
from .records import Record, iter_jsonl
from .review import record_result
from .tasks import BuildSummary, build_tasks, gazetteer_for
from .workspace import Workspace

ANNOTATOR_EMAIL = "seed-annotator@newsanno.local"
DEMO_TITLE = "newsanno demo"

Step = Callable[[str], None]


@dataclass
class DemoSummary:
    server: server.StartResult
    built: BuildSummary
    pushed: labelstudio.PushSummary
    submitted: dict[Layer, int] = field(default_factory=dict)
    already_there: dict[Layer, int] = field(default_factory=dict)
    imported: ImportSummary | None = None
    adjudicated: AdjudicationSummary | None = None
    agreement: dict[str, Any] | None = None  # AgreementReport.to_dict()
    published: PublishSummary | None = None


def read_gold(seeds: Path) -> dict[Layer, list[Record]]:
    """The gold records in `seeds/*.annotations.jsonl`, by layer."""
    gold: dict[Layer, list[Record]] = {layer: [] for layer in LAYERS}
    paths = sorted(Path(seeds).glob("*.annotations.jsonl"))
    if not paths:
        raise SeedError(
            f"{seeds}: no *.annotations.jsonl gold file. The demo submits the seeds' gold "
            "annotations; write one per article (see scripts/seed_gold.py)."
        )
    for path in paths:
        for lineno, raw in iter_jsonl(path):
            try:
                record = Record.from_dict(raw)
            except (KeyError, ValueError, TypeError) as exc:
                raise SeedError(f"{path}:{lineno}: not a canonical record ({exc}).") from None
            gold[record.layer].append(record)
    return gold


def submit_gold(
    client: labelstudio.Client,
    projects: dict[Layer, labelstudio.ProjectRef],
    gold: dict[Layer, list[Record]],
    annotator_id: int,
) -> tuple[dict[Layer, int], dict[Layer, int]]:
    """Post each gold record as the annotator's annotation of its task, unless it has one.

    Returns (submitted, already there) per layer.
    """
    submitted: dict[Layer, int] = {}
    already: dict[Layer, int] = {}
    for layer in LAYERS:
        if layer not in projects:
            continue
        tasks = client.export_json(projects[layer].id)
        by_key = {labelstudio.task_key(t): t for t in tasks}
        submitted[layer] = already[layer] = 0
        for record in gold[layer]:
            task = by_key.get(record.task_key)
            if task is None:
                raise SeedError(
                    f"The gold record of {record.segment_id} ({layer}) has no task in project "
                    f"{projects[layer].id}. Rebuild the tasks ('newsanno tasks build') and rerun."
                )
            if any(a.get("completed_by") == annotator_id for a in task.get("annotations", [])):
                already[layer] += 1
                continue
            client.create_annotation(task["id"], record_result(record), completed_by=annotator_id)
            submitted[layer] += 1
    return submitted, already


def run_demo(
    workspace: Workspace,
    port: int = server.DEFAULT_PORT,
    title: str = DEMO_TITLE,
    step: Step = lambda _: None,
) -> DemoSummary:
    ws = workspace
    ontology = Ontology.load(default_ontology_path(ws.root))
    gold = read_gold(ws.seeds)

    step("Starting Label Studio (the first start migrates its database: about a minute)")
    started = server.start_server(ws, port=port)
    conn = labelstudio.resolve_connection(ws)

    step("Building tasks from seeds/")
    built = build_tasks(
        load_articles(ws.seeds), ontology, gazetteer_for(ws.seeds, ontology), ws.tasks
    )

    step("Creating the labeling projects and pushing the tasks")
    pushed = labelstudio.push_projects(ws, conn, ws.tasks, title_prefix=title)
    projects = {p.layer: p.project for p in pushed.projects}

    step("Submitting the seed's gold annotations as an annotator")
    client = labelstudio.Client(conn)
    password = server.random_secret(24)  # never used to log in: annotations are posted for it
    annotator_id = client.ensure_user(ANNOTATOR_EMAIL, password)
    submitted, already = submit_gold(client, projects, gold, annotator_id)

    step("Importing the annotations back")
    imported = import_annotations(sources_for(ws), ws.annotations, ontology)

    step("Adjudicating and measuring agreement")
    adjudicated = adjudicate(ws.annotations)
    # adjudicate measured agreement while it voted; read the records again only if it did not
    agreement = recorded_agreement(ws.annotations) or load_and_measure(ws.annotations).to_dict()

    step("Publishing the dataset to export/")
    published = publish(ws.annotations, ws.export, ontology, seeds_dir=ws.seeds)
    return DemoSummary(
        server=started,
        built=built,
        pushed=pushed,
        submitted=submitted,
        already_there=already,
        imported=imported,
        adjudicated=adjudicated,
        agreement=agreement,
        published=published,
    )
