"""`newsanno dataset publish`"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..export import DEFAULT_RATIOS, parse_ratios, publish, push_to_hub
from ..ontology import Ontology, default_ontology_path
from ._apps import dataset_app
from ._common import console, table, user_errors


@dataset_app.command("publish")
def publish_cmd(
    annotations: Annotated[
        Path, typer.Option("--annotations", "-a", help="Folder of imported records and gold/.")
    ] = Path("annotations"),
    out: Annotated[
        Path, typer.Option("--out", "-o", help="The dataset folder to (re)write.")
    ] = Path("export"),
    push: Annotated[
        str | None,
        typer.Option(
            "--push-to-hub",
            metavar="REPO_ID",
            help="Then upload the folder to this Hub dataset repo (token: HF_TOKEN or hf login).",
        ),
    ] = None,
    private: Annotated[
        bool, typer.Option("--private", help="Make the Hub repo private (with --push-to-hub).")
    ] = False,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the document split.")] = 42,
    ratios: Annotated[
        str,
        typer.Option("--split-ratios", help="train,validation,test shares of the documents."),
    ] = ",".join(f"{r:g}" for r in DEFAULT_RATIOS),
    seeds: Annotated[
        Path, typer.Option("--seeds", help="Seed articles' metadata (<document_id>.json).")
    ] = Path("seeds"),
    ontology_path: Annotated[
        Path | None,
        typer.Option("--ontology", help="Ontology file (default: schema/ontology.json)."),
    ] = None,
) -> None:
    """Publish the gold annotations as a Hugging Face dataset folder, and push it if asked.

    Example: newsanno dataset publish --out export --push-to-hub my-org/conflict-news
    """
    with user_errors():
        ontology = Ontology.load(ontology_path or default_ontology_path())
        summary = publish(
            annotations,
            out,
            ontology,
            seeds_dir=seeds,
            seed=seed,
            ratios=parse_ratios(ratios),
            repo_id=push,
        )
        if push:
            summary.pushed_to = push_to_hub(out, push, private=private)
    if summary.adjudicated:
        console.print(
            f"Gold was missing or stale: adjudicated {annotations}/ first.", soft_wrap=True
        )
    columns = ["config", *(f"{s} rows" for s in summary.splits)]
    console.print(f"Dataset written to {out}/", soft_wrap=True)
    console.print(table("", columns, summary.table_rows()))
    for label, value in summary.notes():
        console.print(f"{label}: {value}")
    if summary.pushed_to:
        console.print(f"Pushed to {summary.pushed_to}", soft_wrap=True)
