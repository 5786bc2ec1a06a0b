"""Charts for the program's consoles, drawn server-side with matplotlib (Agg, no pyplot
state) as SVG. Each function takes plain data and returns the SVG bytes; the pages serve them
as images with a text alternative beside them."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date

import matplotlib

matplotlib.use("Agg")

from matplotlib import dates as mdates  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

# The palette of the site's stylesheet (web/static/toysafe.css) for the health bands.
_OK, _WARN, _BAD, _INK, _MUTED = "#1d7a46", "#a35c00", "#b3261e", "#1f2933", "#6b7785"


def _svg(fig: Figure, title: str, description: str) -> bytes:
    buf = io.BytesIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "toysafe"}):
        fig.savefig(
            buf,
            format="svg",
            metadata={"Title": title, "Description": description, "Date": None},
        )
    return buf.getvalue()


def health_chart(
    series: Sequence[tuple[date, int]],
    *,
    start: int,
    healthy: int,
    at_risk: int,
    title: str = "Account health",
) -> bytes:
    """The account-health score over time as a step line over the policy's bands (P10):
    ``series`` is (day, score) in date order; ``healthy``/``at_risk`` the band floors."""
    if not series:
        raise ValueError("series: no points to draw")
    days = [d for d, _ in series]
    xs = [float(mdates.date2num(d)) for d in days]
    scores = [s for _, s in series]
    top = max(start, *scores) * 1.05
    fig = Figure(figsize=(8, 3), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    ax.axhspan(healthy, top, color=_OK, alpha=0.08, linewidth=0)
    ax.axhspan(at_risk, healthy, color=_WARN, alpha=0.12, linewidth=0)
    ax.axhspan(0, at_risk, color=_BAD, alpha=0.12, linewidth=0)
    ax.step(xs, scores, where="post", color=_INK, linewidth=2)
    ax.plot([xs[-1]], [scores[-1]], "o", color=_INK)
    ax.annotate(
        f"{scores[-1]}",
        (mdates.date2num(days[-1]), scores[-1]),
        textcoords="offset points",
        xytext=(-6, 8),
        ha="right",
        color=_INK,
        fontsize=10,
        fontweight="bold",
    )
    for floor, label, colour in ((healthy, "healthy", _OK), (at_risk, "at risk", _WARN)):
        ax.axhline(floor, color=colour, linewidth=1, linestyle="--")
        ax.annotate(
            f"{label} ≥ {floor}",
            (mdates.date2num(days[0]), floor),
            textcoords="offset points",
            xytext=(4, 3),
            color=colour,
            fontsize=8,
        )
    ax.set_ylim(0, top)
    ax.set_xlim(mdates.date2num(days[0]), mdates.date2num(days[-1]))
    ax.xaxis_date()
    locator = mdates.AutoDateLocator(maxticks=7)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    ax.set_ylabel("score", color=_MUTED)
    ax.tick_params(colors=_MUTED, labelsize=8)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    description = (
        f"{title} from {days[0].isoformat()} to {days[-1].isoformat()}: "
        f"{scores[0]} at the start, {scores[-1]} at the end, lowest {min(scores)}."
    )
    return _svg(fig, title, description)
