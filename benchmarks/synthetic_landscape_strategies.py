"""Strategies on generated landscapes over the NAS-Bench-201 cell space (no training).

A check that the strategies' defaults are not tuned to NAS-Bench-Macro: the
same strategies, with the same defaults, on landscapes they have never
seen. Each landscape scores the 15,625 encodings of the NAS-Bench-201 cell
space (6 edges x 5 operations) with a random second-order function of the
edge operations (NK-landscape-like: one effect per edge and operation,
plus one per pair of edges and pair of operations, with pairwise effects
`--interaction` times as large), computed on the canonical form so that
equivalent cells score the same; a cell whose output is always zero gets
the worst score. Scores are standardised over the whole space; the regret
is the standardised distance from the best encoding to the best one found.

`--kind paths` scores a cell instead by its input-to-output paths: one
random effect per sequence of operations along a path (the features of
BANANAS's path encoding), summed over the cell's paths, plus pairwise
effects between those features (`--interaction` times as large). The two
kinds are each aligned with one of BANANAS's encodings (`bananas` uses the
path encoding on this space, `bananas_one_hot` the one-hot decisions), so
together they show how much the choice of encoding matters.

    python benchmarks/synthetic_landscape_strategies.py --landscapes 4 --seeds 50 --record
"""

from __future__ import annotations

import argparse
import datetime
import os
import pathlib
import platform
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
from nas_bench_macro_strategies import paired_lines

from kerasnas.spaces import nas_bench_201
from kerasnas.strategies import Bananas, LocalSearch, RandomSearch, RegularizedEvolution
from kerasnas.strategies.encoding import PathEncoding
from kerasnas.testing.simulate import simulate

HERE = pathlib.Path(__file__).resolve().parent

STRATEGIES = {
    "random": lambda: RandomSearch(),
    "evolution": lambda: RegularizedEvolution(),
    "local_search": lambda: LocalSearch(),
    "bananas": lambda: Bananas(),
    "bananas_one_hot": lambda: Bananas(encoding="one_hot"),
}
CHECKPOINTS = (20, 30, 50, 75, 100, 150)


class Landscape:
    """A random second-order function of a cell's edge operations, standardised."""

    def __init__(self, seed: int, interaction: float, kind: str = "edges"):
        self.space = nas_bench_201()
        rng = np.random.default_rng([seed, 201])  # the edge landscapes of earlier runs
        self.kind = kind
        self.paths = PathEncoding(self.space)
        f, path_rng = self.paths.size, np.random.default_rng([seed, 201, 1])
        self.path_unary = path_rng.normal(size=f)
        self.path_pairwise = interaction * path_rng.normal(size=(f, f)) / np.sqrt(f)
        self.edges = [d.name for d in self.space.decisions]
        self.ops = list(self.space.decision(self.edges[0]).values())
        e, k = len(self.edges), len(self.ops)
        self.unary = rng.normal(size=(e, k))
        self.pairwise = interaction * rng.normal(size=(e, e, k, k))
        raw = {}
        for arch in self.space.enumerate():
            key = self.space.canonical_key(arch)
            if key not in raw:
                raw[key] = self._raw(self.space.canonicalize(arch))
        values = np.array(list(raw.values()))
        worst = values.min()
        dead = self.space.canonical_key({name: "none" for name in self.edges})
        raw[dead] = worst - 1.0
        values = np.array(list(raw.values()))
        self.mean, self.std = values.mean(), values.std()
        self.scores = {key: (v - self.mean) / self.std for key, v in raw.items()}
        self.optimum = max(self.scores.values())

    def _raw(self, arch) -> float:
        if self.kind == "paths":
            v = self.paths(arch)
            return float(v @ self.path_unary + v @ np.triu(self.path_pairwise, 1) @ v)
        idx = [self.ops.index(arch[name]) for name in self.edges]
        total = sum(self.unary[i, o] for i, o in enumerate(idx))
        for i in range(len(idx)):
            for j in range(i + 1, len(idx)):
                total += self.pairwise[i, j, idx[i], idx[j]]
        return float(total)

    def __call__(self, arch) -> dict:
        return {"score": self.scores[self.space.canonical_key(arch)]}


def regret_curve(landscape: Landscape, records, queries: int) -> np.ndarray:
    curve, best = np.empty(queries), -np.inf
    counted = [r for r in records if r.status != "rejected"]
    for i in range(queries):
        record = counted[min(i, len(counted) - 1)]
        if record.ok:
            best = max(best, record.metrics["score"])
        curve[i] = landscape.optimum - best
    return curve


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--landscapes", type=int, default=4)
    parser.add_argument("--seeds", type=int, default=50, help="searches per landscape")
    parser.add_argument("--queries", type=int, default=150)
    parser.add_argument("--interaction", type=float, default=0.5)
    parser.add_argument("--kind", choices=("edges", "paths"), default="edges")
    parser.add_argument(
        "--strategies", nargs="+", default=list(STRATEGIES), choices=list(STRATEGIES)
    )
    parser.add_argument("--record", action="store_true", help="append to benchmarks/RESULTS.md")
    args = parser.parse_args(argv)
    curves = {name: [] for name in args.strategies}
    seconds = dict.fromkeys(args.strategies, 0.0)
    for index in range(args.landscapes):
        landscape = Landscape(index, args.interaction, args.kind)
        for name in args.strategies:
            start = time.perf_counter()
            for seed in range(args.seeds):
                records = simulate(
                    STRATEGIES[name](), landscape.space, landscape, "score", args.queries, seed
                )
                curves[name].append(regret_curve(landscape, records, args.queries))
            seconds[name] += time.perf_counter() - start
            print(f"landscape {index} {name}: {seconds[name]:.0f} s", file=sys.stderr)
    curves = {name: np.array(c) for name, c in curves.items()}
    marks = [q for q in CHECKPOINTS if q <= args.queries]
    lines = [
        "| strategy | " + " | ".join(f"regret @{q}" for q in marks) + " | found optimum @100 |",
        "|---|" + "---|" * (len(marks) + 1),
    ]
    at = min(100, args.queries) - 1
    for name, c in curves.items():
        cells = [
            f"{c[:, q - 1].mean():.3f} ± {c[:, q - 1].std() / np.sqrt(len(c)):.3f}" for q in marks
        ]
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {np.mean(c[:, at] < 1e-9):.0%} |")
    summary = paired_lines(curves, marks)
    command = "python benchmarks/synthetic_landscape_strategies.py " + " ".join(
        argv if argv is not None else sys.argv[1:]
    )
    report = "\n".join(
        [
            f"## Generated NAS-Bench-201-shaped landscapes ({args.kind}): {', '.join(curves)} "
            f"({datetime.date.today()})",
            "",
            f"Command: `{command.strip()}`",
            f"Machine: {os.cpu_count()} cores (shared with other jobs), no GPU, Python "
            f"{platform.python_version()}, numpy {np.__version__}. {args.landscapes} random "
            f"landscapes of kind {args.kind!r} (interaction {args.interaction}) x "
            f"{args.seeds} seeds; regret in "
            "standard deviations of the landscape's scores over the space, mean ± standard "
            "error over all searches. Every strategy with its defaults (`bananas` uses the "
            "path encoding here, `bananas_one_hot` the one-hot decisions). Seconds per "
            "strategy: " + ", ".join(f"{name} {sec:.0f} s" for name, sec in seconds.items()) + ".",
            "",
            *lines,
            "",
            *summary,
            "",
        ]
    )
    print(report)
    if args.record:
        with open(HERE / "RESULTS.md", "a", encoding="utf-8") as f:
            f.write("\n" + report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
