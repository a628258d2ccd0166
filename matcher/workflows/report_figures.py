"""The charts of ``report.html``, as plotly figures in JSON (plotly.js draws them in the page, offline).

- :func:`map_figure`: the grid areas at their centres, coloured by fill rate
  and sized by unmet seats, labelled (areas, else communities, else streets)
  with the numbers on hover; no map tiles, so nothing is fetched;
- :func:`heat_figure`: weekday x hour, unmet seats beside volunteers free;
- :func:`bars_figure`: fill rate per group (priority, category);
- :func:`case_bars_figure`: the same per scenario case, side by side.

plotly is imported inside the functions (it takes a tenth of a second).
Each function returns the figure as a JSON string for ``Plotly.newPlot``.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from matcher.model import UnmetReason
from matcher.workflows.report_text import Lang, reason_text, ui

__all__ = ["FONT", "bars_figure", "case_bars_figure", "heat_figure", "map_figure", "with_case_menu"]

FONT = '"Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", "PingFang SC", "WenQuanYi Zen Hei", sans-serif'
"""CSS fonts of the page and its charts: CJK-capable first."""
_LABEL_AREAS, _LABEL_COMMUNITIES = 40, 60
"""Label each area up to this many areas, else each community up to this many, else each street."""


def _layout(**extra: Any) -> dict[str, Any]:
    return {"font": {"family": FONT, "size": 12}, "margin": {"l": 60, "r": 30, "t": 40, "b": 50},
            "paper_bgcolor": "white", "plot_bgcolor": "#f7f7f7", **extra}


def _json(fig: Any) -> str:
    text: str = fig.to_json(validate=False, pretty=False, engine="json")
    return text


def map_figure(areas: Sequence[Sequence[Any]], lang: Lang, *, value: str = "fill",
               title: str = "") -> str:
    """Areas ``[id, lat, lon, community, street, seats, filled, unmet by reason...]`` on a plain lat/lon plot.

    ``value="fill"``: colour is the fill rate; ``"change"``: rows carry one
    more number, the unmet seats minus the base's (red = more unmet).
    """
    import plotly.graph_objects as go

    fig = go.Figure()
    if not areas:
        return _json(fig.update_layout(_layout(title=title)))
    reasons = [reason_text(r.value, lang)[0] for r in UnmetReason]
    lat = [float(a[1]) for a in areas]
    lon = [float(a[2]) for a in areas]
    unmet = [sum(int(x) for x in a[7:7 + len(reasons)]) for a in areas]
    top = max([abs(u) for u in unmet] + [1])
    hover = []
    for a, u in zip(areas, unmet):
        seats, filled = int(a[5]), int(a[6])
        parts = [f"<b>{ui('area', lang)} {a[0]}</b>", f"{ui('community', lang)} {a[3]} · {ui('street', lang)} {a[4]}",
                 f"{ui('seats', lang)} {seats} · {ui('filled', lang)} {filled} · "
                 f"{ui('fill_rate', lang)} {100 * filled / seats:.0f}%" if seats else ui("no_data", lang),
                 f"{ui('unmet', lang)} {u}"]
        parts += [f"  {name}: {int(n)}" for name, n in zip(reasons, a[7:7 + len(reasons)]) if int(n)]
        if value == "change":
            parts.append(f"{ui('vs_base', lang)}: {int(a[-1]):+d}")
        hover.append("<br>".join(parts))
    if value == "change":
        change = [int(a[-1]) for a in areas]
        span = max([abs(c) for c in change] + [1])
        marker = {"color": change, "colorscale": "RdBu", "reversescale": True, "cmin": -span, "cmax": span,
                  "size": [7 + 20 * math.sqrt(abs(c) / span) for c in change],
                  "colorbar": {"title": {"text": ui("vs_base", lang)}}, "line": {"width": 0.5, "color": "#555"}}
    else:
        rate = [int(a[6]) / int(a[5]) if int(a[5]) else None for a in areas]
        marker = {"color": [r if r is not None else 1.0 for r in rate], "colorscale": "RdYlGn", "cmin": 0, "cmax": 1,
                  "size": [7 + 22 * math.sqrt(abs(u) / top) for u in unmet],
                  "colorbar": {"title": {"text": ui("legend_fill", lang)}, "tickformat": ".0%"},
                  "line": {"width": 0.5, "color": "#555"}}
    fig.add_trace(go.Scatter(x=lon, y=lat, mode="markers", marker=marker, text=hover, hoverinfo="text",
                             name=ui("area", lang), showlegend=False))
    labels = _labels(areas, lang)
    fig.add_trace(go.Scatter(x=labels[1], y=labels[0], text=labels[2], mode="text", hoverinfo="skip",
                             textfont={"size": labels[3], "color": "#222"}, textposition="top center",
                             showlegend=False, name="labels"))
    mid = sum(lat) / len(lat)
    fig.update_layout(_layout(title={"text": title, "x": 0.5}, height=620, hovermode="closest",
                              xaxis={"title": {"text": ui("longitude", lang)}, "showgrid": False},
                              yaxis={"title": {"text": ui("latitude", lang)}, "showgrid": False,
                                     "scaleanchor": "x", "scaleratio": 1 / max(math.cos(math.radians(mid)), 0.1)}))
    return _json(fig)


def _labels(areas: Sequence[Sequence[Any]], lang: Lang) -> tuple[list[float], list[float], list[str], int]:
    """Label places: every area when few, else community centres, else street centres; and the font size."""
    if len(areas) <= _LABEL_AREAS:
        return [float(a[1]) for a in areas], [float(a[2]) for a in areas], [str(a[0]) for a in areas], 11
    communities = {(a[4], a[3]) for a in areas if a[3]}
    column, size = (3, 10) if 0 < len(communities) <= _LABEL_COMMUNITIES else (4, 13)
    groups: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for a in areas:
        if a[column]:
            groups[str(a[column])].append((float(a[1]), float(a[2])))
    names = sorted(groups)
    return ([sum(p[0] for p in groups[n]) / len(groups[n]) for n in names],
            [sum(p[1] for p in groups[n]) / len(groups[n]) for n in names], names, size)


def heat_figure(heat: dict[str, list[list[int]]], weekdays: Sequence[str], lang: Lang) -> str:
    """Two weekday x hour heatmaps: unmet seats (reds) and volunteers free (blues)."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    hours = [f"{h:02d}" for h in range(24)]
    fig = make_subplots(rows=1, cols=2, shared_yaxes=True, horizontal_spacing=0.08,
                        subplot_titles=[ui("heat_unmet", lang), ui("heat_free", lang)])
    for col, key, scale, bar_x in ((1, "unmet", "Reds", 0.455), (2, "free", "Blues", 1.0)):
        label = ui("heat_unmet" if key == "unmet" else "heat_free", lang)
        fig.add_trace(go.Heatmap(z=heat[key], x=hours, y=list(weekdays), colorscale=scale, xgap=1, ygap=1,
                                 colorbar={"x": bar_x, "len": 0.9, "thickness": 12},
                                 hovertemplate=f"%{{y}} %{{x}}:00<br>{label}: %{{z}}<extra></extra>"),
                      row=1, col=col)
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(title_text=ui("hour", lang), dtick=2)
    fig.update_layout(_layout(height=360, plot_bgcolor="white"))
    return _json(fig)


def bars_figure(rows: Sequence[Sequence[Any]], title: str, lang: Lang, *, horizontal: bool = False) -> str:
    """Fill rate per group: rows ``[label, seats, filled]``, shown in the given order."""
    import plotly.graph_objects as go

    labels = [str(r[0]) for r in rows]
    rate = [int(r[2]) / int(r[1]) if int(r[1]) else 1.0 for r in rows]
    text = [f"{100 * x:.0f}%" for x in rate]
    hover = [f"{lab}<br>{ui('filled', lang)} {int(r[2])} / {ui('seats', lang)} {int(r[1])}"
             for lab, r in zip(labels, rows)]
    bar = go.Bar(x=rate, y=labels, orientation="h") if horizontal else go.Bar(x=labels, y=rate)
    bar.update(text=text, textposition="auto", hovertext=hover, hoverinfo="text", marker={"color": "#3b7dd8"})
    fig = go.Figure(bar)
    axis = {"tickformat": ".0%", "range": [0, 1.05]}
    fig.update_layout(_layout(title={"text": title, "x": 0.01}, height=max(300, 26 * len(rows) + 90)
                              if horizontal else 320),
                      **({"xaxis": axis, "yaxis": {"autorange": "reversed", "type": "category"}} if horizontal
                         else {"yaxis": axis, "xaxis": {"type": "category"}}))
    return _json(fig)


def case_bars_figure(rows: Sequence[Sequence[Any]], cases: Sequence[str], title: str, lang: Lang) -> str:
    """Fill rate per group and case: rows ``[group label, case, seats, filled, rate]``."""
    import plotly.graph_objects as go

    groups = list(dict.fromkeys(str(r[0]) for r in rows))
    rate = {(str(r[0]), str(r[1])): float(r[4]) for r in rows}
    fig = go.Figure([go.Bar(name=c, x=groups, y=[rate.get((g, c), 0.0) for g in groups],
                            hovertemplate=f"{c}<br>%{{x}}: %{{y:.1%}}<extra></extra>") for c in cases])
    fig.update_layout(_layout(title={"text": title, "x": 0.01}, barmode="group", height=380,
                              yaxis={"tickformat": ".0%", "range": [0, 1.05]}, xaxis={"type": "category"},
                              legend={"title": {"text": ui("case", lang)}}))
    return _json(fig)


def with_case_menu(figures: Sequence[tuple[str, str]], lang: Lang) -> str:
    """One figure holding several (one per case, each a JSON string from this module), with a menu to pick one.

    The first case is shown; the others' traces are hidden until picked. The
    layout (axes, titles) is the first figure's.
    """
    import json

    if len(figures) == 1:
        return figures[0][1]
    parts = [json.loads(f) for _, f in figures]
    data: list[dict[str, Any]] = []
    owner: list[int] = []
    for k, fig in enumerate(parts):
        for trace in fig["data"]:
            trace["visible"] = k == 0
            data.append(trace)
            owner.append(k)
    buttons = [{"label": name, "method": "update", "args": [{"visible": [o == k for o in owner]}]}
               for k, (name, _) in enumerate(figures)]
    layout = parts[0]["layout"]
    layout["updatemenus"] = [{"buttons": buttons, "direction": "down", "x": 0.0, "xanchor": "left", "y": 1.12,
                              "yanchor": "top", "showactive": True}]
    layout.setdefault("margin", {})["t"] = 70
    out: str = json.dumps({"data": data, "layout": layout}, separators=(",", ":"))
    return out
