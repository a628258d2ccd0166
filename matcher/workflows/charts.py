"""PNG charts of a scenario comparison (needs matplotlib: ``pip install 'matcher[charts]'``).

- ``coverage_by_category.png``: fill rate per service category, one bar per case;
- ``coverage_by_priority.png``: fill rate per priority, one bar per case;
- ``unmet_by_area.png``: a map per case, each grid area at its centre, coloured
  and sized by its unmet headcount (one colour scale for all cases);
- ``unmet_change_by_area.png``: a map per variant, coloured by its unmet
  headcount minus the base's (red = more unmet, blue = fewer).

Matplotlib is imported only here, with the file-only ``Agg`` backend.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from matcher.workflows.outputs import Table

__all__ = ["draw_charts"]

log = logging.getLogger(__name__)


def draw_charts(tables: dict[str, Table], cases: Sequence[str], folder: Path, *, title: str) -> list[str]:
    """Draw the charts into ``folder`` and return their file names ([] without matplotlib)."""
    try:
        import matplotlib

        matplotlib.use("Agg", force=True)
        import matplotlib.pyplot as plt
    except ImportError:
        log.warning("charts skipped: matplotlib is not installed (pip install 'matcher[charts]')")
        return []
    names = []
    for stem, key, label in (("coverage_by_category", "category", "service category"),
                             ("coverage_by_priority", "priority", "priority (5 = most urgent)")):
        fig = _bars(plt, tables[stem], cases, key, label, f"{title}: fill rate by {label.split(' (')[0]}")
        fig.savefig(folder / f"{stem}.png", dpi=110, metadata={"Software": None})
        plt.close(fig)
        names.append(f"{stem}.png")
    fig = _map(plt, tables["unmet_by_area"], cases, f"{title}: unmet seats by grid area")
    fig.savefig(folder / "unmet_by_area.png", dpi=110, metadata={"Software": None})
    plt.close(fig)
    names.append("unmet_by_area.png")
    if len(cases) > 1:
        fig = _map(plt, tables["unmet_by_area"], cases, f"{title}: unmet seats against the base", change=True)
        fig.savefig(folder / "unmet_change_by_area.png", dpi=110, metadata={"Software": None})
        plt.close(fig)
        names.append("unmet_change_by_area.png")
    return names


def _bars(plt: Any, table: Table, cases: Sequence[str], key: str, label: str, title: str) -> Any:
    header, rows = table
    col = {h: i for i, h in enumerate(header)}
    groups = sorted({r[col[key]] for r in rows}, key=lambda g: (-g, "") if isinstance(g, int) else (0, str(g)))
    rate = {(r[col[key]], r[col["case"]]): 100 * float(r[col["fill_rate"]]) for r in rows}
    fig, ax = plt.subplots(figsize=(max(6.0, 0.9 * len(groups) + 2), 4.5))
    width = 0.8 / max(len(cases), 1)
    for k, case in enumerate(cases):
        xs = [g + (k - (len(cases) - 1) / 2) * width for g in range(len(groups))]
        ax.bar(xs, [rate.get((g, case), 0.0) for g in groups], width=width, label=case)
    ax.set_xticks(range(len(groups)), [str(g) for g in groups], rotation=30 if key == "category" else 0,
                  ha="right" if key == "category" else "center")
    ax.set_ylabel("seats filled, %")
    ax.set_ylim(0, 100)
    ax.set_xlabel(label)
    ax.set_title(title, fontsize=11)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0), title="case", title_fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return fig


def _map(plt: Any, table: Table, cases: Sequence[str], title: str, *, change: bool = False) -> Any:
    """One panel per case (per variant when ``change``: its unmet minus the base's, blue = better)."""
    header, rows = table
    col = {h: i for i, h in enumerate(header)}
    base = {r[col["area_id"]]: int(r[col["unmet"]]) for r in rows if r[col["case"]] == cases[0]}
    shown = list(cases[1:]) if change else list(cases)
    n = len(shown)
    ncols = min(n, 3)
    nrows = (n + ncols - 1) // ncols
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.2 * ncols + 1.0, 4.0 * nrows + 0.6), squeeze=False,
                             sharex=True, sharey=True, layout="constrained")
    values = {case: [int(r[col["unmet"]]) - (base.get(r[col["area_id"]], 0) if change else 0)
                     for r in rows if r[col["case"]] == case] for case in shown}
    top = max([abs(x) for v in values.values() for x in v] + [1])
    scatter = None
    for k, case in enumerate(shown):
        ax = axes[k // ncols][k % ncols]
        mine = [r for r in rows if r[col["case"]] == case]
        lon = [float(r[col["lon"]]) for r in mine]
        lat = [float(r[col["lat"]]) for r in mine]
        val = values[case]
        ax.scatter(lon, lat, s=4, c="#cccccc", linewidths=0)
        hot = [i for i, u in enumerate(val) if u != 0]
        scatter = ax.scatter([lon[i] for i in hot], [lat[i] for i in hot], c=[val[i] for i in hot],
                             s=[8 + 60 * abs(val[i]) / top for i in hot], cmap="RdBu_r" if change else "Reds",
                             vmin=-top if change else 0, vmax=top, edgecolors="#555555", linewidths=0.2)
        total = sum(val)
        ax.set_title(f"{case}: {total:+,} unmet" if change else f"{case}: {total:,} unmet", fontsize=10)
        if lat:  # a degree of longitude is shorter than one of latitude by cos(latitude)
            ax.set_aspect(1 / max(math.cos(math.radians(sum(lat) / len(lat))), 0.1), adjustable="box")
        ax.set_xticks([])
        ax.set_yticks([])
    for k in range(n, nrows * ncols):
        axes[k // ncols][k % ncols].axis("off")
    if scatter is not None:
        fig.colorbar(scatter, ax=axes, shrink=0.8,
                     label="unmet seats, variant minus base" if change else "unmet seats in the area")
    fig.suptitle(title, fontsize=11)
    return fig
