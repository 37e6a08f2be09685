"""pareto.html: one self-contained page (plotly.js inline, no network) with the front and every objective."""

from __future__ import annotations

import html
from collections import Counter
from pathlib import Path

import plotly.graph_objects as go

from dse.plot_data import TrialGroups

FEASIBLE, FRONT = "#1f77b4", "#d62728"


def _hover(trial_number: int, names: list[str], values: list[float]) -> str:
    return f"trial {trial_number}<br>" + "<br>".join(f"{n} = {v:.6g}" for n, v in zip(names, values, strict=True))


def _scatter(groups: TrialGroups, names: list[str]) -> go.Figure:
    """3-D (first three objectives) or 2-D scatter of the feasible trials, the full front in red."""
    front = groups.front_numbers
    figure = go.Figure()
    shown = names[:3]
    for label, color, members in (
        ("feasible, trained", FEASIBLE, [t for t in groups.feasible if t.number not in front]),
        (f"Pareto front in all {len(names)} objectives", FRONT, [t for t in groups.feasible if t.number in front]),
    ):
        columns = [[t.values[k] for t in members] for k in range(len(shown))]
        text = [_hover(t.number, names, t.values) for t in members]
        marker = {"color": color, "size": 5 if len(shown) == 3 else 8}
        if len(shown) == 3:
            figure.add_trace(go.Scatter3d(x=columns[0], y=columns[1], z=columns[2], mode="markers", name=label,
                                          text=text, hoverinfo="text", marker=marker))  # fmt: skip
        else:
            figure.add_trace(go.Scatter(x=columns[0], y=columns[1], mode="markers", name=label, text=text,
                                        hoverinfo="text", marker=marker))  # fmt: skip
    if len(shown) == 3:
        figure.update_layout(scene={"xaxis_title": shown[0], "yaxis_title": shown[1], "zaxis_title": shown[2]})
    else:
        figure.update_layout(xaxis_title=shown[0], yaxis_title=shown[1])
    figure.update_layout(height=600, margin={"l": 0, "r": 0, "t": 30, "b": 0})
    return figure


def _parallel(groups: TrialGroups, names: list[str]) -> go.Figure:
    front = groups.front_numbers
    dimensions = [{"label": name, "values": [t.values[k] for t in groups.feasible]} for k, name in enumerate(names)]
    dimensions.insert(0, {"label": "trial", "values": [t.number for t in groups.feasible]})
    color = [1 if t.number in front else 0 for t in groups.feasible]
    line = {"color": color, "colorscale": [[0, FEASIBLE], [1, FRONT]], "cmin": 0, "cmax": 1}
    figure = go.Figure(go.Parcoords(line=line, dimensions=dimensions))
    figure.update_layout(height=440, margin={"l": 60, "r": 60, "t": 70, "b": 20})  # axis names clear the tool bar
    return figure


def _left_out(groups: TrialGroups) -> str:
    broken = Counter(", ".join(groups.broken[t.number]) for t in groups.infeasible)
    failed = Counter(str(t.user_attrs.get("fail_reason", "unknown")).split(":")[0] for t in groups.failed)
    items = [f"<li>{count} infeasible, broke {html.escape(name)}</li>" for name, count in broken.most_common()]
    items += [f"<li>{count} failed: {html.escape(reason)}</li>" for reason, count in failed.most_common()]
    return "<ul>" + "".join(items) + "</ul>" if items else "<p>none</p>"


def write_html(groups: TrialGroups, names: list[str], minimize: list[bool], study: str, path: Path) -> Path:
    directions = ", ".join(f"{n} ({'min' if m else 'max'})" for n, m in zip(names, minimize, strict=True))
    parts = [
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(study)}: Pareto front</title>"
        "</head><body style='font-family: sans-serif; max-width: 1100px; margin: auto'>",
        f"<h1>{html.escape(study)}</h1><p>Objectives: {html.escape(directions)}. "
        f"{len(groups.feasible)} feasible trained trials; red: the {len(groups.front)} trials that no other "
        "feasible trial beats in <em>all</em> objectives. Hover a point for its numbers; drag to rotate.</p>",
        _scatter(groups, names).to_html(full_html=False, include_plotlyjs=True),  # self-contained: no network
        "<h2>Every objective (parallel coordinates)</h2><p>One line per feasible trial; drag along an axis "
        "to select a range.</p>",
        _parallel(groups, names).to_html(full_html=False, include_plotlyjs=False),
        "<h2>Left out of the plots</h2><p>Infeasible trials broke a constraint and were never trained (their "
        "quality is unknown); failed trials have no values. trials.csv lists them all.</p>",
        _left_out(groups),
        "</body></html>",
    ]
    path.write_text("\n".join(parts))
    return path
