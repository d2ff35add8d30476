"""`newsanno annotations agreement`, `newsanno annotations adjudicate`, `newsanno review create`"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from ..adjudicate import adjudicate
from ..agreement import PAIR_FIGURES, REPORT_ORDER, AgreementReport, load_and_measure
from ..labelstudio import resolve_connection
from ..review import create_review
from ..workspace import Workspace
from ._apps import annotations_app, review_app
from ._common import ApiKeyOpt, UrlOpt, console, table, user_errors

AnnotationsOpt = Annotated[
    Path, typer.Option("--annotations", "-a", help="Folder of the canonical record files.")
]

LABELS = {
    "krippendorff_alpha": "Krippendorff's alpha (nominal)",
    "cohen_kappa": "Cohen's kappa (pairwise mean)",
    "percent_agreement": "percent agreement",
    "span_f1": "span F1 (exact)",
    "relaxed_f1": "span F1 (relaxed: overlap)",
    "trigger_f1": "trigger F1",
    "argument_f1": "argument F1",
}
SHORT = {
    "percent_agreement": "agreement",
    "cohen_kappa": "kappa",
    "span_f1": "span F1",
    "relaxed_f1": "relaxed F1",
    "trigger_f1": "trigger F1",
    "argument_f1": "argument F1",
}


@annotations_app.command("agreement")
def agreement_cmd(
    annotations: AnnotationsOpt = Path("annotations"),
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Measure how far annotators agree, per layer.

    Example: newsanno annotations agreement --annotations annotations --json
    """
    with user_errors():
        report = load_and_measure(annotations)
    if as_json:
        typer.echo(json.dumps(report.to_dict(), indent=2, allow_nan=False))
        return
    print_report(report)


def print_report(report: AgreementReport) -> None:
    for layer in REPORT_ORDER:
        la = report[layer]
        rows: list[tuple[str, str, str]] = [
            ("tasks", str(la.tasks), ""),
            ("annotators", str(la.annotators), ""),
            ("items (tasks with ≥2 annotators)", str(la.items), ""),
        ]
        rows += [(LABELS[name], fig.text(), fig.reason or "") for name, fig in la.figures.items()]
        console.print(table(f"{layer}", ["", "value", "why n/a"], rows))
        if la.pairs:
            names = PAIR_FIGURES[layer]
            console.print(
                table(
                    f"{layer}: annotator pairs",
                    ["annotators", "items", *(SHORT[n] for n in names)],
                    [
                        (f"{p.a} · {p.b}", p.items, *(p.figures[n].text() for n in names))
                        for p in la.pairs
                    ],
                )
            )


@annotations_app.command("adjudicate")
def adjudicate_cmd(
    annotations: AnnotationsOpt = Path("annotations"),
    policy: Annotated[
        str, typer.Option("--policy", help="How gold is decided: majority (ground truth first).")
    ] = "majority",
) -> None:
    """Merge the annotators' records into one gold record per task; list the conflicts.

    Example: newsanno annotations adjudicate --annotations annotations --policy majority
    """
    with user_errors():
        summary = adjudicate(annotations, policy)
    console.print(
        table(
            f"Gold written to {summary.gold_dir}/ (policy: {summary.policy})",
            ["layer", "tasks", "gold", "ground truth", "one annotator", "majority", "conflicts"],
            summary.rows(),
        )
    )
    if n := summary.total_conflicts:
        console.print(
            f"{n} conflict{'s' if n > 1 else ''} in {summary.conflicts_path}: send them to "
            "reviewers with 'newsanno review create', import their verdicts, then adjudicate again."
        )


@review_app.command("create")
def review_create_cmd(
    annotations: AnnotationsOpt = Path("annotations"),
    tasks: Annotated[
        Path, typer.Option("--tasks", help="Folder of the tasks (their data is reused).")
    ] = Path("tasks"),
    title: Annotated[
        str | None,
        typer.Option("--title", help="Title prefix (default: the labeling projects' prefix)."),
    ] = None,
    url: UrlOpt = None,
    api_key: ApiKeyOpt = None,
) -> None:
    """Send the conflicts to a Label Studio review project per layer.

    Example: newsanno review create --annotations annotations --tasks tasks
    """
    with user_errors():
        workspace = Workspace.here()
        summary = create_review(
            workspace, resolve_connection(workspace, url, api_key), annotations, tasks, title
        )
    if summary.adjudicated:
        console.print(f"The records had changed: adjudicated {annotations}/ first.")
    if not summary.pushes:
        console.print("No conflicts: nothing to review.")
        return
    console.print(
        table(
            "Review projects",
            ["layer", "project", "url", "conflicts", "sent now", ""],
            summary.rows(),
        )
    )
    if summary.without_task:
        console.print(
            f"{summary.without_task} conflicts have no task in {tasks}/: their review tasks "
            "carry the records' text without context."
        )
    console.print(
        "Reviewers submit one annotation per task; then 'newsanno annotations import' (it marks "
        "review annotations as ground truth) and 'newsanno annotations adjudicate'."
    )
