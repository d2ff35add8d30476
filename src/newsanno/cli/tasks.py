"""`newsanno tasks …` and `newsanno schema …`"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..articles import load_articles
from ..ontology import Ontology, default_ontology_path
from ..schemas import write_schemas
from ..tasks import build_tasks, gazetteer_for
from ._apps import schema_app, tasks_app
from ._common import console, table, user_errors


@tasks_app.command("build")
def build_cmd(
    seeds: Annotated[Path, typer.Argument(help="Folder of seed articles (.txt).")] = Path("seeds"),
    out: Annotated[Path, typer.Option("--out", "-o", help="Where to write tasks.")] = Path("tasks"),
    ontology_path: Annotated[
        Path | None,
        typer.Option("--ontology", help="Ontology file (default: schema/ontology.json)."),
    ] = None,
) -> None:
    """Split articles into entity, event and stance tasks.

    Example: newsanno tasks build seeds --out tasks
    """
    with user_errors():
        ontology = Ontology.load(ontology_path or default_ontology_path())
        articles = load_articles(seeds)
        summary = build_tasks(articles, ontology, gazetteer_for(seeds, ontology), out)
    console.print(table(f"Tasks written to {out}/", ["", "count"], summary.rows()))


@schema_app.command("build")
def schema_build_cmd(
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the schemas.")] = Path(
        "schema"
    ),
    ontology_path: Annotated[
        Path | None,
        typer.Option("--ontology", help="Ontology file (default: schema/ontology.json)."),
    ] = None,
) -> None:
    """Write the JSON Schemas of tasks and records, generated from the ontology.

    Example: newsanno schema build --out schema
    """
    with user_errors():
        ontology = Ontology.load(ontology_path or default_ontology_path())
        written = write_schemas(ontology, out)
    console.print(table(f"Schemas written to {out}/", ["file"], [[p.name] for p in written]))
