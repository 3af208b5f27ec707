"""Bar charts of evaluation metrics as PNG files (matplotlib, Agg canvas, no global pyplot state)."""

from __future__ import annotations

import math
from pathlib import Path

COLORS = ("#4C72B0", "#DD8452", "#55A868", "#C44E52", "#8172B3", "#937860")


def grouped_bars(path: Path, title: str, groups: list[str], series: dict[str, list[float | None]],
                 ylabel: str = "score (0–1)") -> Path:
    """One cluster of bars per group, one bar per series; None is a missing bar, a group of Nones is left out."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    keep = [i for i in range(len(groups)) if any(values[i] is not None for values in series.values())]
    groups = [groups[i] for i in keep]
    series = {name: [values[i] for i in keep] for name, values in series.items()}

    width = 0.8 / max(len(series), 1)
    fig = Figure(figsize=(min(14.0, max(6.0, 1.0 + 0.35 * len(groups) * len(series))), 4.2), dpi=110)
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    for i, (name, values) in enumerate(series.items()):
        xs = [g + (i - (len(series) - 1) / 2) * width for g in range(len(groups))]
        ys = [math.nan if v is None else v for v in values]
        bars = ax.bar(xs, ys, width, label=name, color=COLORS[i % len(COLORS)])
        ax.bar_label(bars, labels=["" if math.isnan(y) else f"{y:.2f}" for y in ys], fontsize=7, padding=1)
    ax.set_xticks(range(len(groups)), groups)
    ax.set_ylim(0, 1.1)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)
    ax.legend(fontsize=8, ncols=min(len(series), 3), loc="upper center", bbox_to_anchor=(0.5, -0.1), frameon=False)
    fig.tight_layout()
    fig.savefig(path)
    return path
