"""Charts for the consoles, drawn server-side with matplotlib (Agg backend) as SVG text.

Each function takes plain data (dates, counts, labels) and returns a complete SVG document;
nothing reads the store or the clock. The consoles serve them from a route and show them as
``<img>`` with a text alternative beside them (the numbers are on the page too).

matplotlib is imported on first use, not with this module (it costs ~0.7 s of CPU, most of a
cold first chart); ``warm_up`` pays that and the first draw's font loading in a background
thread when the server starts. Drawing holds a lock: ``rc_context`` changes matplotlib's
global settings for the length of a draw.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.figure import Figure

_LOCK = threading.RLock()
_WARMED = threading.Event()

# The console's palette (toysafe.css): good contrast, and told apart by more than colour.
INK = "#1f2933"
MUTED = "#616e7c"
OK = "#2f6f4f"
BAD = "#b42318"
INFO = "#1d4ed8"
GRID = "#d9dee3"


def _mpl() -> Any:
    """matplotlib, imported on first use (Agg backend: no display)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.collections
    import matplotlib.dates
    import matplotlib.figure
    import matplotlib.ticker

    return matplotlib


def warm_up() -> None:
    """Import matplotlib and draw one small chart, so that the first chart a person asks for
    costs a draw, not an import; the result is thrown away. Safe to call more than once."""
    if _WARMED.is_set():
        return
    day = date(2026, 1, 1)
    backlog_chart([day, day + timedelta(days=1)], [2, 3], [0, 1], "warm-up")
    _WARMED.set()


def _figure(width: float = 6.4, height: float = 2.8) -> Figure:
    fig = _mpl().figure.Figure(figsize=(width, height), dpi=100)
    fig.patch.set_alpha(0)
    return fig


def _style(ax: object) -> None:
    from matplotlib.axes import Axes

    assert isinstance(ax, Axes)
    ax.set_facecolor("none")
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        ax.spines[side].set_color(MUTED)
    ax.tick_params(colors=INK, labelsize=8)
    ax.grid(axis="y", color=GRID, linewidth=0.6)
    ax.set_axisbelow(True)


def _svg(fig: Figure, *, tight: bool = True, **metadata: str) -> str:
    """The figure as an SVG document; ``metadata`` (Title, Description) goes into it."""
    out = io.StringIO()
    # Text stays text (smaller, selectable); the hash salt keeps ids stable between runs.
    with _LOCK, _mpl().rc_context({"svg.fonttype": "none", "svg.hashsalt": "toysafe"}):
        fig.savefig(
            out,
            format="svg",
            bbox_inches="tight" if tight else None,
            metadata={**metadata, "Date": None},
        )
    return out.getvalue()


def backlog_chart(
    days: Sequence[date], waiting: Sequence[int], breaching: Sequence[int], title: str
) -> str:
    """The reviewer queue's backlog per day, with the part of it past its SLA."""
    if not (len(days) == len(waiting) == len(breaching)):
        raise ValueError("days, waiting and breaching must have the same length")
    mpl = _mpl()
    mdates, MaxNLocator = mpl.dates, mpl.ticker.MaxNLocator
    PolyCollection = mpl.collections.PolyCollection
    fig = _figure()
    # Fixed margins rather than bbox_inches="tight" (which draws the figure twice), and each
    # series one collection of rectangles rather than a patch per bar: half the draw.
    fig.subplots_adjust(left=0.1, right=0.98, top=0.74, bottom=0.11)
    ax = fig.add_subplot()
    _style(ax)
    within = [w - b for w, b in zip(waiting, breaching, strict=True)]
    x = [float(mdates.date2num(d)) for d in days]

    def bars(bottom: Sequence[float], height: Sequence[float]) -> list[list[tuple[float, float]]]:
        return [
            [(c - 0.4, b), (c - 0.4, b + h), (c + 0.4, b + h), (c + 0.4, b)]
            for c, b, h in zip(x, bottom, height, strict=True)
        ]

    ax.add_collection(
        PolyCollection(
            bars([0] * len(x), within), facecolors=INFO, linewidths=0, label="waiting within SLA"
        )
    )
    ax.add_collection(
        PolyCollection(
            bars(within, breaching), facecolors=BAD, hatch="///", edgecolors="white",
            linewidths=0, label="past SLA",
        )
    )  # fmt: skip
    ax.autoscale_view()
    ax.set_ylim(bottom=0, top=max([1, *waiting]) * 1.05)
    ax.set_title(title, fontsize=10, color=INK, loc="left", pad=22)
    ax.set_ylabel("requests", fontsize=8, color=INK)
    ax.xaxis.set_major_locator(mdates.AutoDateLocator(maxticks=6))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%b %d"))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(fontsize=8, frameon=False, loc="lower left", bbox_to_anchor=(0, 1.0), ncol=2)
    return _svg(fig, tight=False)


def trigger_chart(counts: Mapping[str, int], labels: Mapping[str, str], title: str) -> str:
    """Requests by trigger kind, as horizontal bars with the count at each bar's end."""
    MaxNLocator = _mpl().ticker.MaxNLocator
    kinds = sorted(counts, key=lambda k: (-counts[k], k))
    fig = _figure(height=max(1.6, 0.45 * len(kinds) + 0.9))
    ax = fig.add_subplot()
    _style(ax)
    ax.grid(axis="x", color=GRID, linewidth=0.6)
    ax.grid(axis="y", visible=False)
    names = [labels.get(k, k) for k in kinds]
    values = [counts[k] for k in kinds]
    bars = ax.barh(names, values, color=OK, height=0.55)
    ax.invert_yaxis()
    ax.bar_label(bars, labels=[str(v) for v in values], padding=3, fontsize=8, color=INK)
    ax.set_title(title, fontsize=10, color=INK, loc="left")
    ax.set_xlabel("requests", fontsize=8, color=INK)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if not kinds:
        ax.text(0.5, 0.5, "none", transform=ax.transAxes, ha="center", color=MUTED)
    return _svg(fig)


# The account-health chart (seller console): bands in the stylesheet's status colours.
_OK, _WARN, _BAD, _INK, _MUTED = "#1d7a46", "#a35c00", "#b3261e", "#1f2933", "#6b7785"


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
    mpl = _mpl()
    mdates = mpl.dates
    days = [d for d, _ in series]
    xs = [float(mdates.date2num(d)) for d in days]
    scores = [s for _, s in series]
    top = max(start, *scores) * 1.05
    fig = mpl.figure.Figure(figsize=(8, 3), dpi=100, layout="constrained")
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
    return _svg(fig, tight=False, Title=title, Description=description).encode()
