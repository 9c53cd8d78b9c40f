"""The table `SearchResult.summary()` prints, in the style of Keras's `model.summary()`."""

from __future__ import annotations

import textwrap
from collections import Counter

from kerasnas.validation import check_int

THICK, THIN = "━", "─"


def _format_value(value) -> str:
    if value is None:
        return "-"
    value = float(value)
    if value != value:  # NaN
        return "nan"
    if value == int(value) and abs(value) >= 1000:
        return f"{int(value):,}"
    if abs(value) >= 100:
        return f"{value:,.1f}"
    return f"{value:.4f}"


def _wrap(text: str, width: int) -> list[str]:
    """Wraps at spaces only: a token longer than `width` gets its own line, whole."""
    lines = textwrap.wrap(text, width=max(8, width), break_long_words=False, break_on_hyphens=False)
    return lines or [""]


def render_summary(result, top: int = 10, line_length: int = 100) -> str:
    """Returns the summary table of a `SearchResult` as text."""
    check_int("top", top, minimum=1)
    objectives = result.objectives
    ranked = result.ranked()[:top]
    headers = ["rank", "trial"] + [o.name for o in objectives]
    if "params" not in headers:
        headers.append("params")
    headers.append("time")
    rows = []
    for rank, record in enumerate(ranked, start=1):
        row = [str(rank), f"#{record.number}"]
        row += [_format_value(o.value(record.metrics)) for o in objectives]
        if "params" not in [o.name for o in objectives]:
            row.append(_format_value(record.metrics.get("params")))
        seconds = record.metrics.get("train_time_s")
        row.append("-" if seconds is None else f"{float(seconds):.1f}s")
        rows.append((row, result.space.describe(record.architecture)))
    widths = [
        max(len(h), *(len(r[0][i]) for r in rows)) if rows else len(h)
        for i, h in enumerate(headers)
    ]
    fixed = sum(w + 2 for w in widths)
    arch_width = max(20, line_length - fixed)
    width = fixed + arch_width

    def line(cells, arch):
        return "".join(c.ljust(w + 2) for c, w in zip(cells, widths)) + arch

    counts = Counter(t.status for t in result.trials)
    status_text = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    lines = [
        f'Search "{result.directory}": {len(result.trials)} trials ({status_text or "none"})',
        THICK * width,
        line(headers, "architecture"),
        THIN * width,
    ]
    for cells, arch in rows:
        wrapped = _wrap(arch, arch_width)
        lines.append(line(cells, wrapped[0]))
        blank = [""] * len(cells)
        lines += [line(blank, part) for part in wrapped[1:]]
    if not rows:
        lines.append("(no completed trials)")
    lines.append(THICK * width)
    lines.append(
        "Objectives: "
        + ", ".join(f"{o.name} ({o.direction})" for o in objectives)
        + (f"; showing the best {len(rows)} by {objectives[0].name}" if rows else "")
    )
    kept = [
        f"#{t.number}"
        for t in result.ranked()
        if t.info.get("model_path") and (result.directory / t.info["model_path"]).exists()
    ]
    lines.append("Kept models: " + (", ".join(kept) if kept else "none"))
    return "\n".join(lines)
