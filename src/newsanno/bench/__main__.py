"""`python -m newsanno.bench` (what `make bench` runs): see run.py for what is measured."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from .run import (
    TARGETS,
    BenchOptions,
    analysis_text,
    meets,
    read_results,
    render_report,
    run_benchmarks,
)


def parse_args(argv: list[str] | None = None) -> BenchOptions:
    parser = argparse.ArgumentParser(
        prog="python -m newsanno.bench",
        description="Measure newsanno at scale against Label Studio's own tools and the floor; "
        "write benchmarks/results.json and BENCHMARKS.md.",
        epilog="Example: python -m newsanno.bench --scale 1 --out benchmarks/",
    )
    parser.add_argument(
        "--scale",
        type=float,
        default=None,
        help="workload size: 1 = 20,000 entity tasks (plus events and stance). Default 1.",
    )
    parser.add_argument(
        "--out", type=Path, default=Path("benchmarks"), help="folder for results.json"
    )
    parser.add_argument(
        "--report", type=Path, default=None, help="the Markdown report (default: BENCHMARKS.md)"
    )
    parser.add_argument(
        "--skip-server",
        action="store_true",
        help="do not start Label Studio; push_vs_raw_import is null",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="the smoke run: scale 0.01, one repetition, no profile",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=None,
        help="runs per compared step (default 3: the fastest counts)",
    )
    parser.add_argument("--push-tasks", type=int, default=2000, help="tasks for the push figure")
    parser.add_argument("--memory-factor", type=int, default=4, help="the larger memory run")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-profile", action="store_true", help="skip the pyinstrument run")
    parser.add_argument("--keep-work", action="store_true", help="keep benchmarks/work/")
    parser.add_argument(
        "--render-only",
        action="store_true",
        help="measure nothing: write the report again from OUT/results.json and OUT/analysis.md",
    )
    args = parser.parse_args(argv)
    quick = args.quick
    scale = args.scale if args.scale is not None else (0.01 if quick else 1.0)
    if scale <= 0:
        parser.error("--scale must be above 0")
    options = BenchOptions(
        scale=scale,
        out=args.out,
        report=args.report or Path("BENCHMARKS.md"),
        skip_server=args.skip_server,
        memory_factor=args.memory_factor,
        push_tasks=min(args.push_tasks, 200) if quick else args.push_tasks,
        repeat=args.repeat if args.repeat is not None else (1 if quick else 3),
        profile=not (args.no_profile or quick),
        keep_work=args.keep_work,
        seed=args.seed,
        command=".venv/bin/python -m newsanno.bench "
        + " ".join(shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv)),
        progress=lambda line: print(line, file=sys.stderr, flush=True),
    )
    options.render_only = args.render_only
    return options


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    if options.render_only:
        results = read_results(options.out / "results.json")
        options.report.write_text(
            render_report(results, results.get("command", options.command), analysis_text(options)),
            encoding="utf-8",
        )
        print(f"report: {options.report}")
        return 0
    results = run_benchmarks(options)
    for name, value in results["comparisons"].items():
        op, target = TARGETS[name]
        ok = meets(name, value)
        verdict = "n/a" if ok is None else ("ok" if ok else "MISSED")
        print(f"{name:32} {value!s:>8}   target {op} {target:g}   {verdict}")
    print(f"{'full run':32} {results['stages']['total_seconds']:>7}s")
    print(f"results: {options.out / 'results.json'}   report: {options.report}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
