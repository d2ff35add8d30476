"""Work split over two processes (parallel.py) gives the same bytes as one process: import of
exports whose second half a forked child converts, publish whose later tasks a child adjudicates
(this process making every gold row, from the child's gold files as they grow). Each test runs
the same input both ways (`NEWSANNO_WORKERS=1` is the single-process reference) and compares
every file written, byte for byte."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from newsanno import importer, parallel
from newsanno.bench import workload
from newsanno.errors import ExportFormatError
from newsanno.importer import import_annotations
from newsanno.layers import Layer
from newsanno.ontology import Ontology

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")


@pytest.fixture(scope="module")
def ontology() -> Ontology:
    return Ontology.load()


@pytest.fixture(scope="module")
def wl(tmp_path_factory: pytest.TempPathFactory, ontology: Ontology) -> workload.Workload:
    """About 200 sentences of every layer, with invalid annotations, skips and UTF-16 offsets."""
    mp = pytest.MonkeyPatch()
    mp.setattr(workload, "INVALID_RATE", 0.05)
    mp.setattr(workload, "EMOJI_RATE", 0.3)
    try:
        return workload.generate(tmp_path_factory.mktemp("wl"), ontology, scale=0.01, seed=5)
    finally:
        mp.undo()


@pytest.fixture
def split_everything(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any export or record files, however small, are split between this process and a child."""
    monkeypatch.setattr(parallel, "MIN_BYTES", 0)
    monkeypatch.setenv("NEWSANNO_WORKERS", "2")


def files_of(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def import_both_ways(
    exports: list[Path], tmp_path: Path, ontology: Ontology, monkeypatch: pytest.MonkeyPatch
) -> tuple[dict[str, bytes], dict[str, bytes]]:
    monkeypatch.setenv("NEWSANNO_WORKERS", "1")
    one = import_annotations(exports, tmp_path / "one", ontology)
    monkeypatch.setenv("NEWSANNO_WORKERS", "2")
    two = import_annotations(exports, tmp_path / "two", ontology)
    assert (one.read, one.valid, one.superseded) == (two.read, two.valid, two.superseded)
    counts = [{k: vars(v) for k, v in s.counts.items()} for s in (one, two)]
    assert counts[0] == counts[1]
    return files_of(tmp_path / "one"), files_of(tmp_path / "two")


def test_workers_follow_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSANNO_WORKERS", "1")
    assert parallel.workers() == 1
    monkeypatch.setenv("NEWSANNO_WORKERS", "8")
    assert parallel.workers() == parallel.MAX_WORKERS


def test_a_child_returns_its_result_and_its_failure() -> None:
    with parallel.Forked(lambda: {"pid": os.getpid(), "rows": list(range(5))}) as child:
        got = child.result()
    assert got["rows"] == [0, 1, 2, 3, 4]
    assert got["pid"] != os.getpid()

    def boom() -> None:
        raise ValueError("bad row 7")

    with parallel.Forked(boom) as child, pytest.raises(parallel.ChildFailed, match="bad row 7"):
        child.result()


def test_import_split_in_two_writes_the_same_bytes(
    wl: workload.Workload,
    tmp_path: Path,
    ontology: Ontology,
    monkeypatch: pytest.MonkeyPatch,
    split_everything: None,
) -> None:
    one, two = import_both_ways(list(wl.exports), tmp_path, ontology, monkeypatch)
    assert set(one) == {
        "entities.jsonl", "events.jsonl", "stance.jsonl", "quarantine.jsonl", ".checked.json",
    }  # fmt: skip
    assert one == two
    assert one["quarantine.jsonl"].count(b"\n") > 0  # the invalid ones went through both ways


def test_a_guessed_middle_inside_a_task_is_not_trusted(
    wl: workload.Workload,
    tmp_path: Path,
    ontology: Ontology,
    monkeypatch: pytest.MonkeyPatch,
    split_everything: None,
) -> None:
    """The child starts where `}, {"id": N, "annotations":` is found past the parent's share;
    a task whose meta holds a list of such objects puts that inside a task. The parent sees no
    task start there, drops the child's work and reads on itself."""
    from newsanno.layers import Layer

    raw = wl.export(Layer.ENTITIES).read_bytes()
    guess = int(len(raw) * parallel.PARENT_SHARE)
    # the task around where the guess is made gets a nested decoy right after its opening brace
    start = raw.rfind(b'{"id":', 0, guess)
    decoy = b", ".join([b'{"x": 1}, {"id": 7, "annotations": []}'] * 2000)
    nested = raw[: start + 1] + b'"meta_list": [' + decoy + b"], " + raw[start + 1 :]
    path = tmp_path / "decoy.json"
    path.write_bytes(nested)
    split = importer._split_point(nested, *importer._array_bounds(nested, "x"))
    assert split is not None
    starts = {pos for _, pos, _ in importer.iter_export(nested, "x")}
    assert split not in starts  # the guess really is inside a task
    one, two = import_both_ways([path], tmp_path, ontology, monkeypatch)
    assert one == two


def test_a_syntax_error_in_the_second_half_is_reported_as_by_one_process(
    wl: workload.Workload, tmp_path: Path, ontology: Ontology, split_everything: None
) -> None:
    from newsanno.layers import Layer

    raw = wl.export(Layer.ENTITIES).read_bytes()
    at = raw.index(b'"text":', len(raw) * 3 // 4)
    broken = tmp_path / "broken.json"
    broken.write_bytes(raw[:at] + b'"text" "' + raw[at + len(b'"text":') :])
    messages = []
    for workers in ("1", "2"):
        os.environ["NEWSANNO_WORKERS"] = workers
        with pytest.raises(ExportFormatError) as err:
            import_annotations([broken], tmp_path / f"out{workers}", ontology)
        messages.append(str(err.value))
    assert messages[0] == messages[1]
    assert re.search(r"broken\.json:\d+: not valid JSON in task \d+", messages[0])
    assert not (tmp_path / "out2").exists()


def publish_both_ways(
    annotations: Path, tmp_path: Path, ontology: Ontology, monkeypatch: pytest.MonkeyPatch
) -> list[tuple[dict[str, bytes], dict[str, bytes]]]:
    """Publish copies of `annotations` with one process and with two; (annotations folder after,
    dataset) of each, with the dataset's own folder name taken out of its card."""
    import shutil

    from newsanno.export import publish

    got = []
    for workers in (1, 2):
        monkeypatch.setenv("NEWSANNO_WORKERS", str(workers))
        ann, out = tmp_path / f"ann{workers}", tmp_path / "dataset"
        shutil.copytree(annotations, ann)
        shutil.rmtree(out, ignore_errors=True)
        summary = publish(ann, out, ontology)
        assert summary.processes == workers
        got.append((files_of(ann), files_of(out)))
    return got


def test_publish_split_in_two_writes_the_same_gold_parquet_and_card(
    wl: workload.Workload,
    tmp_path: Path,
    ontology: Ontology,
    monkeypatch: pytest.MonkeyPatch,
    split_everything: None,
) -> None:
    from newsanno import export

    monkeypatch.setattr(export, "BATCH_ROWS", 97)  # many batches, their ends across the halves
    import_annotations(list(wl.exports), tmp_path / "imported", ontology)
    (one_ann, one_ds), (two_ann, two_ds) = publish_both_ways(
        tmp_path / "imported", tmp_path, ontology, monkeypatch
    )
    assert one_ann == two_ann  # gold, conflicts, agreement, fingerprints
    assert one_ds == two_ds  # every parquet file and the card
    assert {"gold/entities.jsonl", "gold/events.jsonl", "gold/stance.jsonl"} <= set(one_ann)
    assert any(k.startswith("data/events/") for k in one_ds)
    assert one_ann["conflicts.jsonl"]  # conflicts went through both ways


@pytest.mark.parametrize("when", ["at its start", "with its gold half written"])
def test_a_failed_child_leaves_the_publish_to_one_process(
    wl: workload.Workload,
    tmp_path: Path,
    ontology: Ontology,
    monkeypatch: pytest.MonkeyPatch,
    split_everything: None,
    when: str,
) -> None:
    from newsanno import export

    parent = os.getpid()
    if when == "at its start":
        share = export._adjudicate_share

        def dies_in_the_child(*args: object) -> object:
            if os.getpid() != parent:
                os._exit(3)  # as if killed: no result
            return share(*args)  # type: ignore[arg-type]

        monkeypatch.setattr(export, "_adjudicate_share", dies_in_the_child)
    else:  # this process is following the child's gold file when the child dies
        finished = export._GoldFeed.finished

        def dies_before_saying_so(self: export._GoldFeed, layer: Layer) -> None:
            if os.getpid() != parent:
                os._exit(3)
            finished(self, layer)

        monkeypatch.setattr(export._GoldFeed, "finished", dies_before_saying_so)
    import_annotations(list(wl.exports), tmp_path / "imported", ontology)
    summary = export.publish(tmp_path / "imported", tmp_path / "dataset", ontology)
    assert summary.processes == 1
    assert summary.rows["entities"]
    assert not list(tmp_path.glob("dataset.*"))  # no temp folder left beside it


def test_gold_is_followed_while_the_child_writes_it(tmp_path: Path) -> None:
    """This process reads the child's gold file while it grows: a line cut in the middle by a
    flush is read whole once the rest is there, and the end is the end only when the child
    says the layer's file is complete."""
    import time

    from newsanno import export

    gold = tmp_path / "gold-entities.jsonl"
    gold.touch()
    feed = export._GoldFeed()
    lines = [b'{"n":%d,"text":"%s"}\n' % (i, b"x" * (i * 50)) for i in range(6)]

    def writes_slowly() -> int:
        feed.close_read()
        with open(gold, "ab") as fh:
            for line in lines:
                half = len(line) // 2
                fh.write(line[:half])
                fh.flush()
                feed.progress()  # told while a line is only half there
                time.sleep(0.02)
                fh.write(line[half:])
                fh.flush()
                feed.progress()
        feed.finished(Layer.ENTITIES)
        return len(lines)

    try:
        with parallel.Forked(writes_slowly) as child:
            feed.close_write()
            got = list(feed.follow(Layer.ENTITIES, gold))
            assert child.result() == len(lines)
    finally:
        feed.close()
    assert [r["n"] for r in got] == list(range(6))
    assert [len(r["text"]) for r in got] == [i * 50 for i in range(6)]


def test_following_a_child_that_dies_is_an_error(tmp_path: Path) -> None:
    from newsanno import export

    gold = tmp_path / "gold-entities.jsonl"
    gold.touch()
    feed = export._GoldFeed()

    def dies() -> None:
        with open(gold, "ab") as fh:
            fh.write(b'{"n":1}\n{"n":')  # a line and a half, then gone
        feed.progress()
        os._exit(3)

    try:
        with parallel.Forked(dies) as child:
            feed.close_write()
            got = []
            with pytest.raises(parallel.ChildFailed):
                for record in feed.follow(Layer.ENTITIES, gold):
                    got.append(record)
            with pytest.raises(parallel.ChildFailed):
                child.result()
    finally:
        feed.close()
    assert got == [{"n": 1}]
