"""`newsanno annotations import|validate`: Label Studio exports → checked canonical records."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..importer import QUARANTINE_FILE, ImportSummary, import_annotations, sources_for
from ..ontology import Ontology, default_ontology_path
from ..validate import validate_files
from ..workspace import Workspace
from ._apps import annotations_app
from ._common import ApiKeyOpt, UrlOpt, WorkspaceOpt, console, err_console, table, user_errors

OntologyOpt = Annotated[
    Path | None,
    typer.Option("--ontology", help="Ontology file (default: schema/ontology.json)."),
]


@annotations_app.command("import")
def import_cmd(
    project: Annotated[
        list[int] | None,
        typer.Option(
            "--project", help="Label Studio project id (repeat; default: .newsanno/projects.json)."
        ),
    ] = None,
    from_file: Annotated[
        list[Path] | None,
        typer.Option(
            "--from-file", help="A full-JSON export saved from Label Studio (repeat for several)."
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Folder for the records (default: annotations/)."),
    ] = None,
    strict: Annotated[
        bool, typer.Option("--strict", help="Exit 1 if any annotation was quarantined.")
    ] = False,
    url: UrlOpt = None,
    api_key: ApiKeyOpt = None,
    ontology_path: OntologyOpt = None,
    workspace: WorkspaceOpt = Path("."),
) -> None:
    """Import annotations from Label Studio as canonical records; quarantine the invalid ones.

    Example: newsanno annotations import --from-file export.json --out annotations
    """
    ws = Workspace(workspace)
    target = out or ws.annotations
    with user_errors():
        ontology = Ontology.load(ontology_path or default_ontology_path(ws.root))
        sources = sources_for(ws, project or [], from_file or [], url, api_key)
        summary = import_annotations(sources, target, ontology)
    _print_summary(summary)
    if strict and summary.quarantined:
        err_console.print(
            f"Error: {summary.quarantined} annotations were quarantined (--strict): see "
            f"{summary.out / QUARANTINE_FILE}.",
            soft_wrap=True,
            markup=False,
        )
        raise typer.Exit(1)


def _print_summary(summary: ImportSummary) -> None:
    console.print(
        table(f"Annotations imported into {summary.out}/", ImportSummary.COLUMNS, summary.rows())
    )
    files = ", ".join(f"{name} {n}" for name, n in summary.written.items())
    console.print(f"Records now in {summary.out}/: {files}.", soft_wrap=True, markup=False)
    if summary.superseded:
        console.print(
            f"{summary.superseded} older versions of re-exported annotations were replaced.",
            markup=False,
        )
    if summary.quarantined:
        path = summary.out / QUARANTINE_FILE
        console.print(
            f"{summary.quarantined} annotations quarantined with their reasons in {path} "
            f"(list them: newsanno annotations validate {path}).",
            soft_wrap=True,
            markup=False,
        )


@annotations_app.command("validate")
def validate_cmd(
    files: Annotated[
        list[Path], typer.Argument(help="Record files (annotations/*.jsonl) or export files.")
    ],
    ontology_path: OntologyOpt = None,
) -> None:
    """Check record files and Label Studio exports against the schemas and the ontology.

    Example: newsanno annotations validate annotations/entities.jsonl annotations/events.jsonl
    """
    with user_errors():
        ontology = Ontology.load(ontology_path or default_ontology_path())
        problems = validate_files(files, ontology)
    for problem in problems:
        console.print(str(problem), soft_wrap=True, markup=False, highlight=False)
    if problems:
        err_console.print(
            f"{len(problems)} problems in {len({p.file for p in problems})} of {len(files)} files.",
            markup=False,
        )
        raise typer.Exit(1)
    console.print(f"No problems in {len(files)} files.", markup=False)
