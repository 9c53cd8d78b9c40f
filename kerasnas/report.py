"""Reports of a search directory: plots (PNG) and a one-page summary (Markdown and HTML).

`kerasnas report DIR` (or `write_report(DIR)`) reads the journal and writes
into `DIR/report/`:

* `best_so_far.png`: the best objective so far against trials and against time;
* `size_vs_objective.png`: every completed trial's objective against its
  parameter count, with the Pareto front (better objective, fewer weights);
* `architecture.png`: a diagram of the best architecture's layers (searches
  that train models), or its decisions (searches with a callable evaluator);
* `report.md` and `report.html`: counts, times, the best trial, the top
  trials, failures and their reasons.
"""

from __future__ import annotations

import html
import math
import os
import pathlib
import textwrap
from collections import Counter
from collections.abc import Sequence

from kerasnas.result import SearchResult, load_search
from kerasnas.runtime.progress import format_seconds, shorten
from kerasnas.trial import TrialRecord

REPORT_DIR = "report"


def pareto_front(points: Sequence[tuple[float, float]]) -> list[int]:
    """Indices of the points not dominated when maximising `y` and minimising `x`.

    Example:

    ```python
    from kerasnas.report import pareto_front
    pareto_front([(10, 0.5), (20, 0.9), (30, 0.8), (5, 0.4)])  # [3, 0, 1]
    ```

    Returns:
        Indices of the front, by increasing `x`.
    """
    order = sorted(range(len(points)), key=lambda i: (points[i][0], -points[i][1]))
    front, best = [], -math.inf
    for i in order:
        if points[i][1] > best:
            front.append(i)
            best = points[i][1]
    return front


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _finish_order(result: SearchResult) -> list[TrialRecord]:
    return [t for t in result.trials if t.status != "rejected"]


def best_so_far(result: SearchResult) -> list[tuple[int, float, float | None]]:
    """`(trials finished, seconds since the start, best value)` after each counted trial."""
    trials = _finish_order(result)
    if not trials:
        return []
    start = min(t.started_at for t in trials)
    best, best_score, points = None, -math.inf, []
    for i, trial in enumerate(trials, start=1):
        value = result.objective.value(trial.metrics) if trial.ok else None
        if value is not None and result.objective.score(trial.metrics) > best_score:
            best, best_score = value, result.objective.score(trial.metrics)
        points.append((i, trial.started_at + trial.duration_s - start, best))
    return points


def plot_best_so_far(result: SearchResult, path: pathlib.Path) -> pathlib.Path:
    plt = _plt()
    points = best_so_far(result)
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    name = result.objective.name
    trials = _finish_order(result)
    for ax, index, label in ((axes[0], 0, "trials finished"), (axes[1], 1, "elapsed (s)")):
        xs = [p[index] for p in points if p[2] is not None]
        ys = [p[2] for p in points if p[2] is not None]
        every = [
            (p[index], result.objective.value(t.metrics))
            for p, t in zip(points, trials)
            if t.ok and result.objective.value(t.metrics) is not None
        ]
        if every:
            ax.scatter(
                [e[0] for e in every],
                [e[1] for e in every],
                s=12,
                color="0.6",
                label="each trial",
            )
        if xs:
            ax.step(xs, ys, where="post", color="#1f5fa8", lw=2, label="best so far")
        ax.set_xlabel(label)
        ax.set_ylabel(name)
        ax.grid(alpha=0.3)
    axes[0].legend(loc="best", fontsize=8)
    fig.suptitle(f"Best {name} ({result.objective.direction}) so far")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_size_vs_objective(result: SearchResult, path: pathlib.Path) -> pathlib.Path | None:
    """Objective against parameters with the Pareto front; None without `params`."""
    completed = [
        t
        for t in result.completed
        if t.metrics.get("params") is not None and result.objective.value(t.metrics) is not None
    ]
    if not completed:
        return None
    plt = _plt()
    points = [(float(t.metrics["params"]), result.objective.score(t.metrics)) for t in completed]
    front = pareto_front(points)
    values = [result.objective.value(t.metrics) for t in completed]
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    stopped = [bool(t.info.get("stopped_early")) for t in completed]
    for flag, label, face in ((False, "trials", "0.55"), (True, "stopped early", "none")):
        chosen = [i for i in range(len(points)) if stopped[i] == flag]
        if chosen:
            ax.scatter(
                [points[i][0] for i in chosen],
                [values[i] for i in chosen],
                s=18,
                facecolors=face,
                edgecolors="0.45",
                label=label,
            )
    fx = [points[i][0] for i in front]
    fy = [values[i] for i in front]
    ax.step(fx, fy, where="post", color="#c0392b", lw=1.5)
    ax.plot(fx, fy, "o", color="#c0392b", ms=5, label="Pareto front")
    for i in front:
        ax.annotate(f"#{completed[i].number}", (points[i][0], values[i]), fontsize=7)
    if max(p[0] for p in points) > 20 * max(1.0, min(p[0] for p in points)):
        ax.set_xscale("log")
    ax.set_xlabel("parameters")
    ax.set_ylabel(result.objective.name)
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize=8)
    ax.set_title(f"{result.objective.name} against size")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_architecture(result: SearchResult, path: pathlib.Path) -> pathlib.Path:
    """The best architecture: its layers when models can be built, else its decisions."""
    best = result.best_trial
    title = f"Best trial #{best.number}: {shorten(result.space.describe(best.architecture), 90)}"
    if result.builder is not None:
        import keras

        from kerasnas.layer_diagram import plot_layers

        model = result.builder.build(best.architecture)
        plot_layers(model, path, title=title)
        del model
        keras.backend.clear_session()
        return path
    plt = _plt()
    lines = [f"{k} = {v}" for k, v in best.architecture.items()]
    fig, ax = plt.subplots(figsize=(6.5, 0.3 * len(lines) + 1.2))
    ax.text(0.0, 1.0, "\n".join(lines), va="top", family="monospace", fontsize=9)
    ax.axis("off")
    ax.set_title(textwrap.fill(title, width=78), fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _fmt(value, digits: int = 4) -> str:
    """A number rounded for reading: thousands separated, at most `digits` decimals."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        if value != value:
            return "nan"
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        if abs(value) >= 100:
            return f"{value:.1f}"
        return f"{value:.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _metric(key: str, value) -> str:
    """A metric rounded by what it is: counts whole, times to 2 decimals, scores to 4."""
    if key in ("params", "flops", "trainable_params") and isinstance(value, (int, float)):
        return f"{int(round(value)):,}"
    return _fmt(value, 2 if key.endswith(("_s", "_ms")) else 4)


def code_cell(text: str) -> str:
    """`text` as a code span inside a Markdown table cell (`|` escaped for GitHub)."""
    return "`" + str(text).replace("|", "\\|") + "`"


def table_cell(text: str) -> str:
    """Plain text inside a Markdown table cell (`|` escaped, one line)."""
    return " ".join(str(text).split()).replace("|", "\\|")


#: What each latency in a report or model card measured.
SEARCH_LATENCY_NOTE = (
    "latency_ms: median of 10 batch-1 calls of the trained Keras model "
    "(compiled forward pass, CPU), measured during the search"
)


def summary_sections(result: SearchResult) -> dict:
    """The numbers a report shows, as plain data."""
    statuses = Counter(t.status for t in result.trials)
    trials = result.trials
    wall = 0.0
    if trials:
        wall = max(t.started_at + t.duration_s for t in trials) - min(t.started_at for t in trials)
    budgets = [t.info.get("budget") for t in result.completed if t.info.get("budget") is not None]
    stopped = sum(1 for t in result.completed if t.info.get("stopped_early"))
    data = {
        "directory": str(result.directory),
        "objective": str(result.objective),
        "trials": len(trials),
        "statuses": dict(statuses),
        "wall_time_s": wall,
        "trial_time_s": sum(t.duration_s for t in trials),
        "epochs_trained": sum(budgets) if budgets else None,
        "stopped_early": stopped,
        "best": None,
        "top": [],
        "failures": Counter(
            shorten((t.error or "").splitlines()[0] if t.error else "", 120)
            for t in trials
            if t.status != "completed"
        ).most_common(10),
    }
    if result.completed:
        best = result.best_trial
        data["best"] = {
            "number": best.number,
            "value": result.objective.value(best.metrics),
            "architecture": result.space.describe(best.architecture),
            "metrics": {
                k: best.metrics.get(k)
                for k in ("params", "flops", "latency_ms", "train_time_s")
                if best.metrics.get(k) is not None
            },
        }
        ranked = sorted(
            result.completed, key=lambda t: result.objective.score(t.metrics), reverse=True
        )
        for t in ranked[:10]:
            data["top"].append(
                {
                    "number": t.number,
                    "value": result.objective.value(t.metrics),
                    "params": t.metrics.get("params"),
                    "flops": t.metrics.get("flops"),
                    "train_time_s": t.metrics.get("train_time_s"),
                    "budget": t.info.get("budget"),
                    "architecture": shorten(result.space.describe(t.architecture), 100),
                }
            )
    return data


def _markdown(data: dict, images: dict[str, str]) -> str:
    name = data["objective"]
    lines = [
        "# kerasnas search report",
        "",
        f"Directory: `{data['directory']}` · objective: {name}",
        "",
        f"**{data['trials']} trials**: "
        + ", ".join(f"{count} {status}" for status, count in sorted(data["statuses"].items()))
        + f" · wall time {format_seconds(data['wall_time_s'])}"
        + f" · time in trials {format_seconds(data['trial_time_s'])}",
    ]
    if data["epochs_trained"] is not None:
        lines.append(
            f"Epochs trained: {data['epochs_trained']} "
            f"({data['stopped_early']} trials stopped early)"
        )
    lines.append("")
    best = data["best"]
    if best is not None:
        lines += [
            "## Best trial",
            "",
            f"Trial #{best['number']}: **{_fmt(best['value'])}** — `{best['architecture']}`",
            "",
        ]
        if best["metrics"]:
            lines.append(" · ".join(f"{k} {_metric(k, v)}" for k, v in best["metrics"].items()))
            lines.append("")
            if "latency_ms" in best["metrics"]:
                lines += [f"({SEARCH_LATENCY_NOTE}.)", ""]
    for title, key in (
        ("Best so far", "best_so_far"),
        ("Size against objective", "size"),
        ("Best architecture", "architecture"),
    ):
        if key in images:
            lines += [f"## {title}", "", f"![{title}]({images[key]})", ""]
    if data["top"]:
        lines += [
            "## Top trials",
            "",
            "| trial | value | params | FLOPs | train s | epochs | architecture |",
            "| --- | --- | --- | --- | --- | --- | --- |",
        ]
        for t in data["top"]:
            lines.append(
                f"| #{t['number']} | {_fmt(t['value'])} | {_metric('params', t['params'])} | "
                f"{_metric('flops', t['flops'])} | {_fmt(t['train_time_s'], 1)} | {_fmt(t['budget'])} | "
                f"{code_cell(t['architecture'])} |"
            )
        lines.append("")
    if data["failures"]:
        lines += ["## Failed and rejected trials", "", "| count | reason |", "| --- | --- |"]
        for reason, count in data["failures"]:
            lines.append(f"| {count} | {table_cell(reason) or '-'} |")
        lines.append("")
    return "\n".join(lines)


def _html(data: dict, images: dict[str, str]) -> str:
    e = html.escape
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>kerasnas report</title>",
        "<style>body{font-family:sans-serif;max-width:1000px;margin:2em auto;}"
        "table{border-collapse:collapse;font-size:0.9em}td,th{border:1px solid #ccc;"
        "padding:3px 6px}code{font-size:0.9em}img{max-width:100%}</style></head><body>",
        "<h1>kerasnas search report</h1>",
        f"<p>Directory: <code>{e(data['directory'])}</code> · objective: {e(data['objective'])}</p>",
        f"<p><b>{data['trials']} trials</b>: "
        + e(", ".join(f"{c} {s}" for s, c in sorted(data["statuses"].items())))
        + f" · wall time {format_seconds(data['wall_time_s'])}"
        + f" · time in trials {format_seconds(data['trial_time_s'])}</p>",
    ]
    if data["epochs_trained"] is not None:
        parts.append(
            f"<p>Epochs trained: {data['epochs_trained']} "
            f"({data['stopped_early']} trials stopped early)</p>"
        )
    best = data["best"]
    if best is not None:
        parts.append(
            f"<h2>Best trial</h2><p>Trial #{best['number']}: <b>{_fmt(best['value'])}</b> — "
            f"<code>{e(best['architecture'])}</code></p>"
        )
        if best["metrics"]:
            parts.append(
                "<p>"
                + e(" · ".join(f"{k} {_metric(k, v)}" for k, v in best["metrics"].items()))
                + "</p>"
            )
            if "latency_ms" in best["metrics"]:
                parts.append(f"<p>({e(SEARCH_LATENCY_NOTE)}.)</p>")
    for title, key in (
        ("Best so far", "best_so_far"),
        ("Size against objective", "size"),
        ("Best architecture", "architecture"),
    ):
        if key in images:
            parts.append(f"<h2>{title}</h2><img src='{e(images[key])}' alt='{title}'>")
    if data["top"]:
        parts.append(
            "<h2>Top trials</h2><table><tr><th>trial</th><th>value</th><th>params</th>"
            "<th>FLOPs</th><th>train s</th><th>epochs</th><th>architecture</th></tr>"
        )
        for t in data["top"]:
            parts.append(
                f"<tr><td>#{t['number']}</td><td>{_fmt(t['value'])}</td>"
                f"<td>{_metric('params', t['params'])}</td><td>{_metric('flops', t['flops'])}</td>"
                f"<td>{_fmt(t['train_time_s'], 1)}</td><td>{_fmt(t['budget'])}</td>"
                f"<td><code>{e(t['architecture'])}</code></td></tr>"
            )
        parts.append("</table>")
    if data["failures"]:
        parts.append(
            "<h2>Failed and rejected trials</h2><table><tr><th>count</th><th>reason</th></tr>"
        )
        for reason, count in data["failures"]:
            parts.append(f"<tr><td>{count}</td><td>{e(reason or '-')}</td></tr>")
        parts.append("</table>")
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(
    directory: str | os.PathLike, output: str | os.PathLike | None = None
) -> dict[str, pathlib.Path]:
    """Writes plots and a one-page summary of the search in `directory`.

    Example:

    ```python
    import kerasnas
    from kerasnas.report import write_report
    kerasnas.search(space="chain", evaluator=lambda a: a["num_layers"], max_trials=5,
                    directory="runs/report-demo", overwrite=True, verbose=0)
    paths = write_report("runs/report-demo")
    print(paths["markdown"])  # runs/report-demo/report/report.md
    ```

    Args:
        directory: a search directory (finished or not).
        output: where to write (default: `<directory>/report`).

    Returns:
        A dict of the files written: `markdown`, `html`, `best_so_far`, and
        `size` and `architecture` when they could be drawn.

    Raises:
        FileNotFoundError: if `directory` holds no search.
        ValueError: if no trial has finished yet.
    """
    result = load_search(directory)
    if not result.trials:
        raise ValueError(
            f"The search has no finished trial to report on yet. Received: directory='{directory}'"
        )
    out = pathlib.Path(output) if output is not None else result.directory / REPORT_DIR
    out.mkdir(parents=True, exist_ok=True)
    paths: dict[str, pathlib.Path] = {}
    paths["best_so_far"] = plot_best_so_far(result, out / "best_so_far.png")
    size = plot_size_vs_objective(result, out / "size_vs_objective.png")
    if size is not None:
        paths["size"] = size
    if result.completed:
        paths["architecture"] = plot_architecture(result, out / "architecture.png")
    images = {k: v.name for k, v in paths.items()}
    data = summary_sections(result)
    paths["markdown"] = out / "report.md"
    paths["markdown"].write_text(_markdown(data, images), encoding="utf-8")
    paths["html"] = out / "report.html"
    paths["html"].write_text(_html(data, images), encoding="utf-8")
    return paths
