"""PNG charts of a scenario comparison (needs matplotlib: ``pip install 'matcher[charts]'``).

- ``coverage_by_category.png``: fill rate per service category, one bar per case;
- ``coverage_by_priority.png``: fill rate per priority, one bar per case;
- ``unmet_by_area.png``: a map per case, each grid area at its centre, coloured
  and sized by its unmet headcount (one colour scale for all cases);
- ``unmet_change_by_area.png``: a map per variant, coloured by its unmet
  headcount minus the base's (red = more unmet, blue = fewer).

Labels are Chinese by default (``lang="en"`` for English), so the charts are
drawn with a CJK-capable font: the first of :data:`CJK_FONTS` that is
installed (Debian: ``fonts-noto-cjk``). Without one a warning says so, and
Chinese text would show as boxes.

Matplotlib is imported only here, with the file-only ``Agg`` backend.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from matcher.workflows.outputs import Table
from matcher.workflows.report_text import CHART, Lang

__all__ = ["CJK_FONTS", "cjk_font", "draw_charts"]

log = logging.getLogger(__name__)

CJK_FONTS = ("Noto Sans CJK SC", "Noto Sans CJK JP", "Source Han Sans SC", "Source Han Sans CN", "WenQuanYi Zen Hei",
             "WenQuanYi Micro Hei", "Microsoft YaHei", "SimHei", "PingFang SC", "Heiti SC", "Droid Sans Fallback")
"""Fonts that hold Chinese characters, in order of preference."""
_CJK_FILES = re.compile(r"(NotoSansCJK|NotoSerifCJK|SourceHanSans|wqy-|msyh|simhei|DroidSansFallback)", re.I)


def cjk_font() -> str | None:
    """The name of an installed CJK-capable font for matplotlib, or None.

    Fonts installed after matplotlib built its font cache are found by their
    file names and added.
    """
    from matplotlib import font_manager

    have = {f.name for f in font_manager.fontManager.ttflist}
    found = next((name for name in CJK_FONTS if name in have), None)
    if found is not None:
        return found
    for path in sorted(font_manager.findSystemFonts()):
        if _CJK_FILES.search(Path(path).name):
            try:
                font_manager.fontManager.addfont(path)
            except (OSError, RuntimeError, ValueError):
                continue
    have = {f.name for f in font_manager.fontManager.ttflist}
    return next((name for name in CJK_FONTS if name in have), None)


def draw_charts(tables: dict[str, Table], cases: Sequence[str], folder: Path, *, title: str, lang: Lang = "zh",
                names: Mapping[str, str] | None = None) -> list[str]:
    """Draw the charts into ``folder`` and return their file names ([] without matplotlib).

    ``lang`` picks the labels' language; ``names`` maps category codes to the
    names shown (default: the codes).
    """
    try:
        import matplotlib

        matplotlib.use("Agg", force=True)
        import matplotlib.pyplot as plt
    except ImportError:
        log.warning("charts skipped: matplotlib is not installed (pip install 'matcher[charts]')")
        return []
    font = cjk_font()
    if font is None and lang == "zh":
        log.warning("no CJK font found (Debian: apt-get install fonts-noto-cjk): Chinese labels in the PNG charts "
                    "will show as boxes; --lang en draws them in English")
    style: dict[str, Any] = {"font.family": "sans-serif", "font.sans-serif": [*([font] if font else []), "DejaVu Sans"],
             "axes.unicode_minus": False}
    with plt.rc_context(style):  # type: ignore[arg-type]
        return _draw(plt, tables, cases, folder, title, lang, names or {})


def _draw(plt: Any, tables: dict[str, Table], cases: Sequence[str], folder: Path, title: str, lang: Lang,
          names: Mapping[str, str]) -> list[str]:
    out = []
    for stem, key in (("coverage_by_category", "category"), ("coverage_by_priority", "priority")):
        label = CHART[key][lang]
        fig = _bars(plt, tables[stem], cases, key, label, CHART[f"by_{key}"][lang].format(title), lang, names)
        fig.savefig(folder / f"{stem}.png", dpi=110, metadata={"Software": None})
        plt.close(fig)
        out.append(f"{stem}.png")
    fig = _map(plt, tables["unmet_by_area"], cases, CHART["unmet_map"][lang].format(title), lang)
    fig.savefig(folder / "unmet_by_area.png", dpi=110, metadata={"Software": None})
    plt.close(fig)
    out.append("unmet_by_area.png")
    if len(cases) > 1:
        fig = _map(plt, tables["unmet_by_area"], cases, CHART["change_map"][lang].format(title), lang, change=True)
        fig.savefig(folder / "unmet_change_by_area.png", dpi=110, metadata={"Software": None})
        plt.close(fig)
        out.append("unmet_change_by_area.png")
    return out


def _bars(plt: Any, table: Table, cases: Sequence[str], key: str, label: str, title: str, lang: Lang,
          names: Mapping[str, str]) -> Any:
    header, rows = table
    col = {h: i for i, h in enumerate(header)}
    groups = sorted({r[col[key]] for r in rows}, key=lambda g: (-g, "") if isinstance(g, int) else (0, str(g)))
    rate = {(r[col[key]], r[col["case"]]): 100 * float(r[col["fill_rate"]]) for r in rows}
    fig, ax = plt.subplots(figsize=(max(6.0, 0.9 * len(groups) + 2), 4.5))
    width = 0.8 / max(len(cases), 1)
    for k, case in enumerate(cases):
        xs = [g + (k - (len(cases) - 1) / 2) * width for g in range(len(groups))]
        ax.bar(xs, [rate.get((g, case), 0.0) for g in groups], width=width, label=case)
    ax.set_xticks(range(len(groups)), [names.get(str(g), str(g)) for g in groups],
                  rotation=30 if key == "category" else 0, ha="right" if key == "category" else "center")
    ax.set_ylabel(CHART["filled_pct"][lang])
    ax.set_ylim(0, 100)
    ax.set_xlabel(label)
    ax.set_title(title, fontsize=11)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0), title=CHART["case"][lang], title_fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return fig


def _map(plt: Any, table: Table, cases: Sequence[str], title: str, lang: Lang, *, change: bool = False) -> Any:
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
        ax.set_title(CHART["panel"][lang].format(case, f"{total:+,}" if change else f"{total:,}"), fontsize=10)
        if lat:  # a degree of longitude is shorter than one of latitude by cos(latitude)
            ax.set_aspect(1 / max(math.cos(math.radians(sum(lat) / len(lat))), 0.1), adjustable="box")
        ax.set_xticks([])
        ax.set_yticks([])
    for k in range(n, nrows * ncols):
        axes[k // ncols][k % ncols].axis("off")
    if scatter is not None:
        fig.colorbar(scatter, ax=axes, shrink=0.8,
                     label=CHART["bar_change" if change else "bar_unmet"][lang])
    fig.suptitle(title, fontsize=11)
    return fig
