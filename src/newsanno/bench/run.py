"""The benchmark run: every figure of `make bench`, measured side by side.

Each measured step runs in a fresh child process (`python -c … child_main()`), so one step's
memory never counts for another and each peak is that process's own `ru_maxrss`. Inside the child
the clock starts after the modules are imported (for every side alike) and stops when the step
returns. Comparisons are ratios of steps run on the same machine in the same run, so a busy
machine moves both sides.

Benchmark code, not library code: it calls the Label Studio SDK and converter directly, because
they are what it measures against.
"""

from __future__ import annotations

import gc
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, is_dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import orjson

TARGETS: dict[str, tuple[str, float]] = {
    "import_publish_vs_converter": (">=", 3.0),
    "import_publish_vs_floor": ("<=", 2.0),
    "push_vs_raw_import": ("<=", 1.3),
    "memory_growth_4x": ("<=", 1.5),
}
FULL_RUN_TARGET_SECONDS = 600
PACKAGES = (
    "newsanno",
    "label-studio",
    "label-studio-sdk",
    "datasets",
    "pyarrow",
    "orjson",
    "jsonschema",
    "spacy",
    "huggingface-hub",
    "ijson",
    "pyinstrument",
)


@dataclass
class BenchOptions:
    scale: float = 1.0
    out: Path = Path("benchmarks")
    report: Path = Path("BENCHMARKS.md")
    skip_server: bool = False
    memory_factor: int = 4
    push_tasks: int = 2000
    repeat: int = 3
    profile: bool = True
    keep_work: bool = False
    seed: int = 0
    command: str = "make bench"
    render_only: bool = False
    progress: Any = None  # callable(str) for one line of progress, or None

    @property
    def work(self) -> Path:
        return self.out / "work"

    def say(self, line: str) -> None:
        if self.progress:
            self.progress(line)


# ---- child processes ------------------------------------------------------------------------


def _maxrss_mb(who: int = resource.RUSAGE_SELF) -> float:
    # Linux reports kilobytes, macOS bytes. RUSAGE_CHILDREN: the largest finished child.
    rss = resource.getrusage(who).ru_maxrss
    return rss / (1024 * 1024) if sys.platform == "darwin" else rss / 1024


def _children_cpu() -> float:
    """CPU seconds of the finished children of this process (the forked halves of import and
    publish): counted with the parent's, so CPU figures are the whole work's."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class _Meter:
    """Wall time, CPU time and peak memory of the steps of one measurement, inside the child."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.cpu_seconds: dict[str, float] = {}
        self.peak_after: dict[str, float] = {}
        self.baseline_mb = 0.0

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        gc.collect()
        if not self.seconds:
            self.baseline_mb = _maxrss_mb()
        t, cpu, cpu_children = time.perf_counter(), time.process_time(), _children_cpu()
        yield
        self.seconds[name] = time.perf_counter() - t
        self.cpu_seconds[name] = time.process_time() - cpu + _children_cpu() - cpu_children
        self.peak_after[name] = round(_maxrss_mb(), 1)

    def result(self, **extra: Any) -> dict[str, Any]:
        return {
            "seconds": sum(self.seconds.values()),
            "cpu_seconds": sum(self.cpu_seconds.values()),
            "steps": self.seconds,
            "cpu_steps": self.cpu_seconds,
            "peak_rss_mb_after": self.peak_after,
            "baseline_rss_mb": round(self.baseline_mb, 1),
            "peak_rss_mb": round(_maxrss_mb(), 1),
            # the forked halves' peak (the largest one; it shares much of its memory with the
            # parent, so parent + child is an upper bound of the two together)
            "children_peak_rss_mb": round(_maxrss_mb(resource.RUSAGE_CHILDREN), 1),
            **extra,
        }


def _plain(obj: Any) -> Any:
    """A summary object as JSON-able data (sets sorted, paths as strings)."""
    if is_dataclass(obj) and not isinstance(obj, type):
        return _plain(asdict(obj))
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_plain(v) for v in obj]
    if isinstance(obj, set | frozenset):
        return sorted(_plain(v) for v in obj)
    if isinstance(obj, Path):
        return str(obj)
    return obj


def _count_lines(paths: list[Path]) -> int:
    n = 0
    for p in paths:
        with open(p, "rb") as fh:
            n += sum(1 for line in fh if line.strip())
    return n


def _op_import_publish(
    exports: list[str], annotations: str, dataset: str, publish: bool = True
) -> dict[str, Any]:
    from ..export import publish as publish_dataset
    from ..importer import import_annotations
    from ..ontology import Ontology

    ontology = Ontology.load()
    meter = _Meter()
    with meter.step("import"):
        summary = import_annotations([Path(e) for e in exports], Path(annotations), ontology)
    published = None
    if publish:
        with meter.step("publish"):
            published = publish_dataset(Path(annotations), Path(dataset), ontology)
    counts = {
        layer: {k: v for k, v in _plain(c).items() if k != "annotators"}
        for layer, c in summary.counts.items()
    }
    return meter.result(
        annotations=summary.read,
        valid=summary.valid,
        counts=counts,
        published_rows=_plain(published.rows) if published else None,
    )


def _op_converter(export: str, config: str, out: str) -> dict[str, Any]:
    from label_studio_sdk.converter import Converter

    xml = Path(config).read_text(encoding="utf-8")
    meter = _Meter()
    with meter.step("conll2003"):
        converter = Converter(config=xml, project_dir=None, download_resources=False)
        converter.convert(export, out, "CONLL2003", is_dir=False)
    return meter.result(sentences=_blank_separated(Path(out) / "result.conll"))


def _blank_separated(path: Path) -> int:
    with open(path, "rb") as fh:
        return sum(1 for line in fh if not line.strip())


def floor(export: Path, out: Path) -> int:
    """The floor: parse the export with orjson and write one Parquet row per annotation (task
    ids, text, annotator, timestamps and its spans) with pyarrow. No checks, no tokens, no card.
    Returns the number of rows.

    The cyclic garbage collector is paused meanwhile: parsing a whole export makes millions of
    objects, and the collections they trigger would more than triple the time (measured: 75 MB,
    2.3 s with it, 0.5 s without) — the floor is the fastest way, not the naive one.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _floor(export, out)
    finally:
        if was_enabled:
            gc.enable()


def _floor(export: Path, out: Path) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    span = pa.struct(
        [("start", pa.int32()), ("end", pa.int32()), ("text", pa.string()), ("label", pa.string())]
    )
    schema = pa.schema(
        [
            ("task_id", pa.int64()),
            ("annotation_id", pa.int64()),
            ("segment_id", pa.string()),
            ("document_id", pa.string()),
            ("text", pa.string()),
            ("annotator", pa.int64()),
            ("created_at", pa.string()),
            ("lead_time", pa.float64()),
            ("entities", pa.list_(span)),
        ]
    )
    cols: dict[str, list[Any]] = {name: [] for name in schema.names}
    for task in orjson.loads(Path(export).read_bytes()):
        data = task["data"]
        for a in task["annotations"]:
            if a.get("was_cancelled"):
                continue
            cols["task_id"].append(task["id"])
            cols["annotation_id"].append(a["id"])
            cols["segment_id"].append(data.get("segment_id"))
            cols["document_id"].append(data.get("document_id"))
            cols["text"].append(data.get("text"))
            cols["annotator"].append(a.get("completed_by"))
            cols["created_at"].append(a.get("created_at"))
            cols["lead_time"].append(a.get("lead_time"))
            cols["entities"].append(
                [
                    {
                        "start": v.get("start"),
                        "end": v.get("end"),
                        "text": v.get("text"),
                        "label": (v.get("labels") or [None])[0],
                    }
                    for r in a.get("result") or ()
                    if r.get("type") == "labels"
                    for v in (r.get("value") or {},)
                ]
            )
    table = pa.table({name: cols[name] for name in schema.names}, schema=schema)
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, out)
    return table.num_rows


def _op_floor(export: str, out: str) -> dict[str, Any]:
    import pyarrow.parquet  # noqa: F401  (imported before the clock starts, as for the others)

    meter = _Meter()
    with meter.step("floor"):
        rows = floor(Path(export), Path(out))
    return meter.result(rows=rows)


def _op_tasks_build(scale: float, seed: int, out: str) -> dict[str, Any]:
    from ..ontology import Ontology
    from ..segment import segment_article
    from ..tasks import build_tasks
    from .workload import Vocabulary, articles_at, gazetteer, iter_articles

    ontology = Ontology.load()
    vocab = Vocabulary.for_ontology(ontology)
    n = articles_at(scale, seed, vocab)
    articles = [g.article for g in iter_articles(n, seed, vocab)]
    gaz = gazetteer(ontology)
    segment_article("warm-up", "Warm up the tokenizer. Then measure.")
    meter = _Meter()
    with meter.step("tasks_build"):
        summary = build_tasks(articles, ontology, gaz, Path(out))
    return meter.result(sentences=summary.sentences, articles=summary.articles, tasks=summary.tasks)


def _op_validate(files: list[str]) -> dict[str, Any]:
    from ..ontology import Ontology
    from ..validate import validate_files

    ontology = Ontology.load()
    paths = [Path(f) for f in files]
    meter = _Meter()
    with meter.step("validate"):
        problems = validate_files(paths, ontology)
    return meter.result(records=_count_lines(paths), problems=len(problems))


def _op_agreement(annotations: str) -> dict[str, Any]:
    from ..agreement import load_and_measure
    from ..layers import LAYERS

    paths = [Path(annotations) / f"{layer}.jsonl" for layer in LAYERS]
    meter = _Meter()
    with meter.step("agreement"):
        report = load_and_measure(Path(annotations))
    return meter.result(
        records=_count_lines([p for p in paths if p.is_file()]), report=_plain(report.to_dict())
    )


def _op_profile(exports: list[str], annotations: str, dataset: str, out: str) -> dict[str, Any]:
    """Import + publish under pyinstrument; writes the call tree and the flat self-time list."""
    try:
        from pyinstrument import Profiler
        from pyinstrument.renderers import ConsoleRenderer
    except ImportError:
        return {"skipped": "pyinstrument is not installed (pip install pyinstrument)"}
    from ..export import publish as publish_dataset
    from ..importer import import_annotations
    from ..ontology import Ontology

    ontology = Ontology.load()
    profiler = Profiler(interval=0.002)
    profiler.start()
    import_annotations([Path(e) for e in exports], Path(annotations), ontology)
    publish_dataset(Path(annotations), Path(dataset), ontology)
    session = profiler.stop()
    tree = ConsoleRenderer(unicode=True, color=False, show_all=False, short_mode=False).render(
        session
    )
    flat = ConsoleRenderer(unicode=True, color=False, flat=True).render(session)
    Path(out).write_text("# call tree\n\n" + tree + "\n\n# self time by function\n\n" + flat)
    return {"seconds": session.duration, "top": _top_functions(session, 15), "file": out}


def _top_functions(session: Any, n: int) -> list[dict[str, Any]]:
    """Self time summed by function over the whole profile, largest first."""
    totals: dict[tuple[str, str], float] = {}

    def walk(frame: Any) -> None:
        where = _short_path(frame.file_path or "")
        if frame.line_no:
            where += f":{frame.line_no}"
        key = (frame.function or "?", where)
        children = [c for c in frame.children if c.function != "[self]"]
        own = frame.time - sum(c.time for c in children)  # its "[self]" frames and the rest
        if own > 0:
            totals[key] = totals.get(key, 0.0) + own
        for child in children:
            walk(child)

    root = session.root_frame()
    if root is not None:
        walk(root)
    total = session.duration or 1.0
    top = sorted(totals.items(), key=lambda kv: -kv[1])[:n]
    return [
        {"function": f, "file": p, "seconds": round(s, 3), "share": round(s / total, 3)}
        for (f, p), s in top
    ]


def _short_path(path: str) -> str:
    for marker in ("site-packages/", "/src/", "/lib/python3"):
        if marker in path:
            return path.split(marker, 1)[1]
    return path


OPS: dict[str, Callable[..., dict[str, Any]]] = {
    "import_publish": _op_import_publish,
    "converter": _op_converter,
    "floor": _op_floor,
    "tasks_build": _op_tasks_build,
    "validate": _op_validate,
    "agreement": _op_agreement,
    "profile": _op_profile,
}


def child_main() -> None:
    """Entry point of a child process: run one op, print its result as one JSON line."""
    spec = json.loads(sys.argv[1])
    op = OPS[spec.pop("op")]
    result = op(**spec)
    sys.stdout.write("\n" + json.dumps(result, default=str) + "\n")


def _child_env(work: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "HF_DATASETS_OFFLINE": "1",
            "HF_HUB_OFFLINE": "1",
            "HF_HOME": str(work / "hf-home"),
            "HF_DATASETS_CACHE": str(work / "hf-cache"),
            "PYTHONHASHSEED": "0",
        }
    )
    return env


def run_child(
    op: str, work: Path, env: dict[str, str] | None = None, **args: Any
) -> dict[str, Any]:
    """Run `op` in a fresh interpreter; its result, with the child's wall time around it."""
    code = "from newsanno.bench.run import child_main; child_main()"
    spec = json.dumps({"op": op, **args}, default=str)
    t = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", code, spec],
        capture_output=True,
        text=True,
        env=_child_env(work) | (env or {}),
        check=False,
    )
    wall = time.perf_counter() - t
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-15:])
        raise RuntimeError(f"benchmark step {op!r} failed (exit {proc.returncode}):\n{tail}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["process_seconds"] = round(wall, 3)
    return result


# ---- the Label Studio push ------------------------------------------------------------------


def measure_push(workload_tasks: Path, n: int, repeat: int, work: Path) -> dict[str, Any]:
    """`project create` (push_projects) of the first `n` entity tasks against one raw SDK
    `projects.create` + `import_tasks` of the same tasks, on a throwaway embedded server."""
    from label_studio_sdk import LabelStudio

    from ..labelstudio import Connection, push_projects
    from ..layers import Layer
    from ..records import dumps_line, iter_jsonl
    from ..server import free_port, start_server, stop_server
    from ..workspace import Workspace

    root = Path(tempfile.mkdtemp(prefix="newsanno-bench-ls-", dir=work))
    ws = Workspace(root)
    tasks_dir = root / "tasks"
    tasks_dir.mkdir()
    tasks = []
    for _, task in iter_jsonl(workload_tasks / "entities.jsonl"):
        tasks.append(task)
        if len(tasks) >= n:
            break
    (tasks_dir / "entities.jsonl").write_bytes(b"".join(dumps_line(t) for t in tasks))
    xml = (workload_tasks / "entities.xml").read_text(encoding="utf-8")
    (tasks_dir / "entities.xml").write_text(xml, encoding="utf-8")
    t = time.perf_counter()
    started = start_server(ws, port=free_port(), data_dir=root / "label-studio")
    start_seconds = time.perf_counter() - t
    ours: list[float] = []
    raw: list[float] = []
    raw_import: list[float] = []
    try:
        info = started.info
        conn = Connection(info.url, info.api_key)
        sdk = LabelStudio(base_url=info.url, api_key=info.api_key, timeout=600)
        sdk.users.whoami()  # the first request of a fresh server pays for its warm-up
        for i in range(repeat):
            # Alternate which side goes first: the server slows down as its database grows.
            sides = ("raw", "ours") if i % 2 == 0 else ("ours", "raw")
            for side in sides:
                t = time.perf_counter()
                if side == "raw":
                    p = sdk.projects.create(title=f"raw {i}", label_config=xml)
                    assert p.id is not None
                    t_import = time.perf_counter()
                    sdk.projects.import_tasks(
                        id=p.id, request=tasks, request_options={"max_retries": 0}
                    )
                    raw_import.append(time.perf_counter() - t_import)
                    raw.append(time.perf_counter() - t)
                else:
                    summary = push_projects(
                        ws, conn, tasks_dir, title_prefix=f"bench {i}", layers=[Layer.ENTITIES]
                    )
                    ours.append(time.perf_counter() - t)
                    if summary.sent != len(tasks):
                        raise RuntimeError(
                            f"project create sent {summary.sent} tasks, expected {len(tasks)}"
                        )
    finally:
        stop_server(ws)
        shutil.rmtree(root, ignore_errors=True)
    return {
        "tasks": len(tasks),
        "server_start_seconds": round(start_seconds, 2),
        "project_create_seconds": [round(x, 3) for x in ours],
        "raw_create_and_import_seconds": [round(x, 3) for x in raw],
        "raw_import_tasks_only_seconds": [round(x, 3) for x in raw_import],
    }


# ---- the whole run --------------------------------------------------------------------------


def _machine() -> dict[str, Any]:
    mem_kb = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    except OSError:
        pass
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "cores": os.cpu_count(),
        "cpu": cpu,
        "memory_gb": round(mem_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": versions,
    }


def _load() -> list[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def _best(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The fastest of repeated runs (the one least disturbed by the other users of the box)."""
    return min(runs, key=lambda r: r["seconds"])


def _rate(n: int, seconds: float) -> float:
    return round(n / seconds, 1) if seconds > 0 else 0.0


def _r(x: float, digits: int = 3) -> float:
    return round(x, digits)


@dataclass
class _Run:
    options: BenchOptions
    stages: dict[str, Any] = field(default_factory=dict)
    load: dict[str, list[float]] = field(default_factory=dict)


def run_benchmarks(options: BenchOptions) -> dict[str, Any]:
    """Run every measurement; write `out/results.json` and the report. Returns the results."""
    from ..layers import Layer
    from ..ontology import Ontology
    from .workload import generate

    t_run = time.perf_counter()
    opts = options
    out, work = Path(opts.out), Path(opts.work)
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    ontology = Ontology.load()
    stages: dict[str, Any] = {}
    load = {"start": _load()}

    opts.say(f"workload ×1 (scale {opts.scale}) …")
    t = time.perf_counter()
    w1 = generate(work / "x1", ontology, scale=opts.scale, seed=opts.seed)
    stages["workload_generation"] = {"seconds": _r(time.perf_counter() - t, 2)}
    manifest = w1.to_dict()
    entities_export = w1.export(Layer.ENTITIES)
    n_entity_annotations = w1.layers["entities"].annotations

    opts.say("tasks build …")
    tb = run_child("tasks_build", work, scale=opts.scale, seed=opts.seed, out=work / "tb")
    stages["tasks_build"] = {
        "seconds": _r(tb["seconds"]),
        "sentences": tb["sentences"],
        "sentences_per_s": _rate(tb["sentences"], tb["seconds"]),
    }

    opts.say("import + publish vs converter vs floor …")
    ours, conv, flo = [], [], []
    for i in range(max(1, opts.repeat)):
        ours.append(
            run_child(
                "import_publish",
                work,
                exports=[str(entities_export)],
                annotations=str(work / f"ann-e{i}"),
                dataset=str(work / f"export-e{i}"),
            )
        )
        conv.append(
            run_child(
                "converter",
                work,
                export=str(entities_export),
                config=str(w1.tasks_dir / "entities.xml"),
                out=str(work / f"conll-{i}"),
            )
        )
        flo.append(
            run_child("floor", work, export=str(entities_export), out=str(work / f"floor-{i}.pq"))
        )
        if i:  # keep the first run's output for inspection, drop the others
            shutil.rmtree(work / f"ann-e{i}", ignore_errors=True)
            shutil.rmtree(work / f"export-e{i}", ignore_errors=True)
    best_ours, best_conv, best_floor = _best(ours), _best(conv), _best(flo)
    stages["import_publish_entities"] = {
        "seconds": _r(best_ours["seconds"]),
        "import_seconds": _r(best_ours["steps"]["import"]),
        "publish_seconds": _r(best_ours["steps"]["publish"]),
        "cpu_seconds": _r(best_ours["cpu_seconds"]),
        "peak_rss_mb_after": best_ours["peak_rss_mb_after"],
        "annotations": best_ours["annotations"],
        "annotations_per_s": _rate(best_ours["annotations"], best_ours["seconds"]),
        "import_annotations_per_s": _rate(best_ours["annotations"], best_ours["steps"]["import"]),
        "counts": best_ours["counts"],
        "published_rows": best_ours["published_rows"],
        "peak_rss_mb": best_ours["peak_rss_mb"],
        "baseline_rss_mb": best_ours["baseline_rss_mb"],
        "runs_seconds": [_r(r["seconds"]) for r in ours],
    }
    stages["converter_conll2003"] = {
        "seconds": _r(best_conv["seconds"]),
        "cpu_seconds": _r(best_conv["cpu_seconds"]),
        "annotations": n_entity_annotations,
        "annotations_per_s": _rate(n_entity_annotations, best_conv["seconds"]),
        "peak_rss_mb": best_conv["peak_rss_mb"],
        "runs_seconds": [_r(r["seconds"]) for r in conv],
    }
    stages["floor_orjson_parquet"] = {
        "seconds": _r(best_floor["seconds"]),
        "cpu_seconds": _r(best_floor["cpu_seconds"]),
        "rows": best_floor["rows"],
        "annotations_per_s": _rate(n_entity_annotations, best_floor["seconds"]),
        "peak_rss_mb": best_floor["peak_rss_mb"],
        "runs_seconds": [_r(r["seconds"]) for r in flo],
    }

    opts.say("import of every layer, validate, agreement …")
    every = run_child(
        "import_publish",
        work,
        exports=[str(p) for p in w1.exports],
        annotations=str(work / "ann-all"),
        dataset=str(work / "export-all"),
    )
    stages["import_publish_all_layers"] = {
        "seconds": _r(every["seconds"]),
        "import_seconds": _r(every["steps"]["import"]),
        "publish_seconds": _r(every["steps"]["publish"]),
        "annotations": every["annotations"],
        "annotations_per_s": _rate(every["annotations"], every["seconds"]),
        "counts": every["counts"],
        "published_rows": every["published_rows"],
        "peak_rss_mb": every["peak_rss_mb"],
    }
    record_files = [
        str(work / "ann-all" / f"{layer}.jsonl")
        for layer in ("entities", "events", "stance")
        if (work / "ann-all" / f"{layer}.jsonl").is_file()
    ]
    val = run_child("validate", work, files=record_files)
    stages["validate"] = {
        "seconds": _r(val["seconds"]),
        "records": val["records"],
        "records_per_s": _rate(val["records"], val["seconds"]),
        "problems": val["problems"],
    }
    agr = run_child("agreement", work, annotations=str(work / "ann-all"))
    stages["agreement"] = {
        "seconds": _r(agr["seconds"]),
        "records": agr["records"],
        "records_per_s": _rate(agr["records"], agr["seconds"]),
    }

    opts.say(f"memory at ×{opts.memory_factor} …")
    t = time.perf_counter()
    wn = generate(
        work / f"x{opts.memory_factor}",
        ontology,
        scale=opts.scale * opts.memory_factor,
        seed=opts.seed,
        layers=[Layer.ENTITIES],
    )
    stages["workload_generation"]["memory_workload_seconds"] = _r(time.perf_counter() - t, 2)
    big = run_child(
        "import_publish",
        work,
        exports=[str(wn.export(Layer.ENTITIES))],
        annotations=str(work / "ann-big"),
        dataset=str(work / "export-big"),
    )
    stages["memory"] = {
        "factor": opts.memory_factor,
        "peak_rss_mb_1x": best_ours["peak_rss_mb"],
        "peak_rss_mb_nx": big["peak_rss_mb"],
        "baseline_rss_mb": best_ours["baseline_rss_mb"],
        "growth_above_baseline": _r(
            (big["peak_rss_mb"] - big["baseline_rss_mb"])
            / max(1e-9, best_ours["peak_rss_mb"] - best_ours["baseline_rss_mb"]),
            2,
        ),
        "annotations_1x": best_ours["annotations"],
        "annotations_nx": big["annotations"],
        "seconds_nx": _r(big["seconds"]),
        "peak_rss_mb_after_nx": big["peak_rss_mb_after"],
        "peak_rss_mb_after_1x": best_ours["peak_rss_mb_after"],
        "annotations_per_s_nx": _rate(big["annotations"], big["seconds"]),
        # import and publish fork a child for part of the work: its peak is counted too
        "children_peak_rss_mb_1x": best_ours.get("children_peak_rss_mb", 0.0),
        "children_peak_rss_mb_nx": big.get("children_peak_rss_mb", 0.0),
        "growth_parent_only": _r(big["peak_rss_mb"] / best_ours["peak_rss_mb"], 2),
        "growth_with_children": _r(
            (big["peak_rss_mb"] + big.get("children_peak_rss_mb", 0.0))
            / (best_ours["peak_rss_mb"] + best_ours.get("children_peak_rss_mb", 0.0)),
            2,
        ),
    }
    shutil.rmtree(work / f"x{opts.memory_factor}", ignore_errors=True)

    profile: dict[str, Any] | None = None
    if opts.profile:
        opts.say("profile of import + publish …")
        profile = run_child(
            "profile",
            work,
            # one process, so that the profile shows all of the work (not a parent waiting)
            env={"NEWSANNO_WORKERS": "1"},
            exports=[str(entities_export)],
            annotations=str(work / "ann-prof"),
            dataset=str(work / "export-prof"),
            out=str(out / "profile-import-publish.txt"),
        )
        stages["profile"] = profile

    push: dict[str, Any] | None = None
    if not opts.skip_server:
        opts.say(f"project create vs raw import_tasks ({opts.push_tasks} tasks) …")
        push = measure_push(w1.tasks_dir, opts.push_tasks, max(3, opts.repeat), work)
        stages["push"] = push
    else:
        stages["push"] = None

    comparisons = {
        "import_publish_vs_converter": _r(best_conv["seconds"] / best_ours["seconds"], 2),
        "import_publish_vs_floor": _r(best_ours["seconds"] / best_floor["seconds"], 2),
        "push_vs_raw_import": (
            _r(min(push["project_create_seconds"]) / min(push["raw_create_and_import_seconds"]), 2)
            if push
            else None
        ),
        "memory_growth_4x": max(
            stages["memory"]["growth_parent_only"], stages["memory"]["growth_with_children"]
        ),
    }
    # The same ratios on CPU time (user + system of each child): less sensitive to other
    # processes on a shared machine; shown beside the wall-clock figures, not instead of them.
    stages["comparisons_cpu"] = {
        "import_publish_vs_converter": _r(best_conv["cpu_seconds"] / best_ours["cpu_seconds"], 2),
        "import_publish_vs_floor": _r(best_ours["cpu_seconds"] / best_floor["cpu_seconds"], 2),
    }
    load["end"] = _load()
    stages["total_seconds"] = _r(time.perf_counter() - t_run, 1)
    results = {
        "comparisons": comparisons,
        "machine": {**_machine(), "load_average": load},
        "scale": {
            "factor": opts.scale,
            "seed": opts.seed,
            "articles": manifest["articles"],
            "sentences": manifest["sentences"],
            "entity_tasks": manifest["layers"]["entities"]["tasks"],
            "event_tasks": manifest["layers"]["events"]["tasks"],
            "stance_tasks": manifest["layers"]["stance"]["tasks"],
            "annotators_per_task": 2,
            "annotations": {k: v["annotations"] for k, v in manifest["layers"].items()},
            "workload": manifest["layers"],
            "memory_factor": opts.memory_factor,
            "push_tasks": push["tasks"] if push else None,
            "repeat": opts.repeat,
        },
        "stages": stages,
        "targets": {k: f"{op} {v:g}" for k, (op, v) in TARGETS.items()},
        "command": opts.command,
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_bytes(
        orjson.dumps(results, option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2) + b"\n"
    )
    results = read_results(out / "results.json")  # the report is made from the file alone
    report = render_report(results, opts.command, analysis_text(opts))
    Path(opts.report).write_text(report, encoding="utf-8")
    if not opts.keep_work:
        shutil.rmtree(work, ignore_errors=True)
    return results


def analysis_text(opts: BenchOptions) -> str:
    """The hand-written findings (`OUT/analysis.md`), included in the report as they are."""
    path = Path(opts.out) / "analysis.md"
    return path.read_text(encoding="utf-8") if path.is_file() else ""


# ---- the report -----------------------------------------------------------------------------


def meets(name: str, value: float | None) -> bool | None:
    if value is None:
        return None
    op, target = TARGETS[name]
    return value >= target if op == ">=" else value <= target


MEANINGS = {
    "import_publish_vs_converter": (
        "Label Studio's own CONLL2003 converter (`label_studio_sdk.converter.Converter`, "
        "the tool its users reach for) on the entities export, divided by our "
        "`annotations import --from-file` + `dataset publish` of the same file. Above 1, we "
        "are faster, while also validating every annotation, quarantining the bad ones, "
        "realigning UTF-16 offsets, adjudicating, tokenizing, writing four Parquet configs and "
        "the card."
    ),
    "import_publish_vs_floor": (
        "Our import + publish divided by the floor: reading the same export with orjson and "
        "writing one Parquet row per annotation with pyarrow, nothing else. How far we are "
        "from what the hardware allows."
    ),
    "push_vs_raw_import": (
        "`project create` (config check, project, idempotency check by reading the project's "
        "export, batched pushes) of N entity tasks divided by one raw SDK `projects.create` + "
        "`import_tasks` of the same tasks into another project of the same server."
    ),
    "memory_growth_4x": (
        "Peak resident memory of import + publish of the entities layer at 4× the workload "
        "divided by the peak at 1×, each in a fresh process. 1.0 is flat (streaming); 4.0 is "
        "memory proportional to the input. The peak includes the ~200 MB of imported "
        "libraries (datasets, pyarrow, spaCy), which is the memory a user sees. Import and "
        "publish fork a child for part of the work: the figure is the larger of the parent's "
        "own growth and the growth of parent + child peaks (an upper bound: the child shares "
        "pages with the parent)."
    ),
}


def _fmt(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:,.2f}" if value < 100 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _steps(peaks: dict[str, float] | None) -> str:
    return ", ".join(f"after {k} {_fmt(v)} MB" for k, v in (peaks or {}).items()) or "—"


def _minutes(seconds: float) -> str:
    whole, rest = divmod(round(seconds), 60)
    return f"{whole} min {rest:02d} s" if whole else f"{rest} s"


def render_report(results: dict[str, Any], command: str, analysis: str = "") -> str:
    m, s, st, c = results["machine"], results["scale"], results["stages"], results["comparisons"]
    versions = ", ".join(f"{k} {v}" for k, v in m["versions"].items() if v)
    lines = [
        "# Benchmarks",
        "",
        "Measured by `make bench` (`python -m newsanno.bench`), which writes "
        "`benchmarks/results.json` and this file. Every figure comes from one run on the "
        "machine below; the comparisons are ratios of steps run side by side in that run.",
        "",
        "## Machine",
        "",
        f"- {m['cores']} cores ({m['cpu']}), {m['memory_gb']} GB memory, {m['platform']}",
        f"- Python {m['python']}; {versions}",
        f"- Load average (1, 5, 15 min) at the start {m['load_average'].get('start')}, at the "
        f"end {m['load_average'].get('end')}: the machine was shared with other work, which "
        "is why only ratios are targets.",
        "",
        "## Reproduce",
        "",
        "```bash",
        "make bench   # = .venv/bin/python -m newsanno.bench "
        f"(this run: {_minutes(results['stages']['total_seconds'])})",
        f"# this run: {command.strip()}",
        "# larger: .venv/bin/python -m newsanno.bench --scale 4",
        "# the smoke (what make test runs, via tests/test_bench.py): --quick --skip-server",
        "# the report again from benchmarks/results.json + benchmarks/analysis.md: --render-only",
        "# without Label Studio: .venv/bin/python -m newsanno.bench --skip-server",
        "```",
        "",
        "## Workload",
        "",
        f"Synthetic and deterministic (seed {s['seed']}, scale {s['factor']}): "
        f"{_fmt(s['articles'])} articles, {_fmt(s['sentences'])} sentences → "
        f"{_fmt(s['entity_tasks'])} entity tasks, {_fmt(s['event_tasks'])} event tasks, "
        f"{_fmt(s['stance_tasks'])} stance tasks, each annotated by "
        f"{s['annotators_per_task']} of 8 simulated annotators, written as Label Studio 1.23 "
        "full-JSON exports (one per layer). Annotators mostly agree; about 1% of annotations "
        "are skips, about 3‰ are invalid (to be quarantined), a few count offsets in UTF-16 "
        "code units after an emoji (to be realigned).",
        "",
        "| layer | tasks | annotations | skipped | invalid | UTF-16 |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for layer, w in s["workload"].items():
        lines.append(
            f"| {layer} | {_fmt(w['tasks'])} | {_fmt(w['annotations'])} | {_fmt(w['skipped'])} "
            f"| {_fmt(w['invalid'])} | {_fmt(w['utf16'])} |"
        )
    lines += [
        "",
        "## Figures against the targets",
        "",
        "| figure | measured | target | met |",
        "|---|---:|---:|:---:|",
    ]
    for name in TARGETS:
        value = c.get(name)
        ok = meets(name, value)
        op, target = TARGETS[name]
        mark = "n/a" if ok is None else ("yes" if ok else "**no**")
        lines.append(f"| `{name}` | {_fmt(value)} | {op} {target:g} | {mark} |")
    total = st["total_seconds"]
    lines.append(
        f"| full run | {total:,.0f} s | < {FULL_RUN_TARGET_SECONDS} s | "
        f"{'yes' if total < FULL_RUN_TARGET_SECONDS else '**no**'} |"
    )
    ip, cv, fl = (
        st["import_publish_entities"],
        st["converter_conll2003"],
        st["floor_orjson_parquet"],
    )
    mem = st["memory"]
    cpu = st.get("comparisons_cpu") or {}
    if cpu:
        lines += [
            "",
            "The same two time ratios on CPU time (user + system of each process), which other "
            "processes on the machine disturb less: "
            + ", ".join(f"`{k}` {_fmt(v)}" for k, v in cpu.items())
            + ".",
        ]
    lines += [
        "",
        "Peak memory after each step (the process's high-water mark): ×1 "
        f"{_steps(mem.get('peak_rss_mb_after_1x'))}; ×{mem['factor']} "
        f"{_steps(mem.get('peak_rss_mb_after_nx'))}; "
        f"baseline after imports {_fmt(mem['baseline_rss_mb'])} MB. Growth of the memory "
        f"above that baseline: {_fmt(mem['growth_above_baseline'])}× for "
        f"{mem['factor']}× the input. The forked child's peak (the larger of import's and "
        f"publish's): ×1 {_fmt(mem.get('children_peak_rss_mb_1x'))} MB, ×{mem['factor']} "
        f"{_fmt(mem.get('children_peak_rss_mb_nx'))} MB; growth of the parent alone "
        f"{_fmt(mem.get('growth_parent_only'))}×, of parent + child "
        f"{_fmt(mem.get('growth_with_children'))}×.",
    ]
    lines += [
        "",
        "## Stages",
        "",
        "| stage | seconds | throughput | peak memory |",
        "|---|---:|---:|---:|",
        f"| `tasks build` | {_fmt(st['tasks_build']['seconds'])} | "
        f"{_fmt(st['tasks_build']['sentences_per_s'])} sentences/s | |",
        f"| import + publish, entities (ours) | {_fmt(ip['seconds'])} | "
        f"{_fmt(ip['annotations_per_s'])} annotations/s | {_fmt(ip['peak_rss_mb'])} MB |",
        f"| — `annotations import --from-file` | {_fmt(ip['import_seconds'])} | "
        f"{_fmt(ip['import_annotations_per_s'])} annotations/s | |",
        f"| — `dataset publish` (with adjudication) | {_fmt(ip['publish_seconds'])} | | |",
        f"| Label Studio converter, CONLL2003 | {_fmt(cv['seconds'])} | "
        f"{_fmt(cv['annotations_per_s'])} annotations/s | {_fmt(cv['peak_rss_mb'])} MB |",
        f"| floor: orjson + pyarrow Parquet | {_fmt(fl['seconds'])} | "
        f"{_fmt(fl['annotations_per_s'])} annotations/s | {_fmt(fl['peak_rss_mb'])} MB |",
        f"| import + publish, all three layers | "
        f"{_fmt(st['import_publish_all_layers']['seconds'])} | "
        f"{_fmt(st['import_publish_all_layers']['annotations_per_s'])} annotations/s | "
        f"{_fmt(st['import_publish_all_layers']['peak_rss_mb'])} MB |",
        f"| `annotations validate` | {_fmt(st['validate']['seconds'])} | "
        f"{_fmt(st['validate']['records_per_s'])} records/s | |",
        f"| `annotations agreement` | {_fmt(st['agreement']['seconds'])} | "
        f"{_fmt(st['agreement']['records_per_s'])} records/s | |",
        f"| import + publish, entities ×{mem['factor']} | {_fmt(mem['seconds_nx'])} | "
        f"{_fmt(mem['annotations_per_s_nx'])} annotations/s | {_fmt(mem['peak_rss_mb_nx'])} MB |",
    ]
    push = st.get("push")
    if push:
        lines.append(
            f"| `project create`, {push['tasks']:,} tasks | "
            f"{_fmt(min(push['project_create_seconds']))} | | |"
        )
        lines.append(
            f"| raw SDK `projects.create` + `import_tasks` | "
            f"{_fmt(min(push['raw_create_and_import_seconds']))} "
            f"(import alone {_fmt(min(push['raw_import_tasks_only_seconds']))}) | | |"
        )
    lines += [
        "",
        "Times are the fastest of the repeated runs, measured inside a fresh process after its "
        "imports; peak memory is that process's `ru_maxrss` (about "
        f"{_fmt(ip['baseline_rss_mb'])} MB of it is the imported libraries before any work).",
        "",
        "## What each figure means",
        "",
    ]
    for name, text in MEANINGS.items():
        lines.append(f"- `{name}`: {text}")
    lines += [
        "- `tasks build` throughput: sentences segmented (spaCy tokenizer + sentencizer), "
        "pre-annotated by the gazetteer and written as tasks, per second.",
        "- `annotations validate` and `annotations agreement` throughput: canonical records "
        "(all three layers) checked, or read and measured, per second.",
        "",
    ]
    prof = st.get("profile")
    if prof and prof.get("top"):
        lines += [
            "## What the profile showed",
            "",
            f"pyinstrument, import + publish of the entities export at ×1 "
            f"({prof['seconds']:.1f} s under the profiler); the full call tree is in "
            "`benchmarks/profile-import-publish.txt`. Self time by function, largest first:",
            "",
            "| function | where | self seconds | share |",
            "|---|---|---:|---:|",
        ]
        for row in prof["top"]:
            lines.append(
                f"| `{row['function']}` | `{row['file']}` | {row['seconds']:.2f} | "
                f"{row['share']:.0%} |"
            )
        lines.append("")
    if analysis.strip():
        lines += ["## Findings and recommendations", "", analysis.strip(), ""]
    return "\n".join(lines)


def read_results(path: Path) -> dict[str, Any]:
    return json.loads(Path(path).read_text(encoding="utf-8"))
