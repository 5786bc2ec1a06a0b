"""Charts (matplotlib PNG, Agg backend) and the self-contained HTML report of a simulation.

The report answers a program manager's questions from ``metrics.json`` alone: how long sellers
take to comply, how many compliant listings were suppressed, whether reviewers keep up, and,
with a candidate policy, what changes. Images are referenced by relative name; no CDN.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

BASE, CAND = "#1f5fa8", "#d9730d"
TRIGGER_COLOURS = {
    "new_listing": "#1f5fa8",
    "renewal": "#6c9bd2",
    "complaint": "#c0392b",
    "rule_change": "#8e44ad",
    "history": "#7f8c8d",
    "random_audit": "#27ae60",
}


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update(
        {
            "font.size": 11,
            "axes.titlesize": 13,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.grid": True,
            "grid.alpha": 0.3,
            "svg.hashsalt": "toysafe",
        }
    )
    return plt


def _series(m: dict[str, Any], key: str) -> list[float]:
    return [float(d[key] or 0) for d in m["days"]]


def _save(fig: Any, path: Path) -> None:
    fig.tight_layout()
    fig.savefig(path, dpi=110, metadata={"Software": None})
    import matplotlib.pyplot as plt

    plt.close(fig)


def charts(m: dict[str, Any], out: Path, cand: dict[str, Any] | None = None) -> list[str]:
    """Write the PNG charts into ``out``; returns their file names."""
    plt = _plt()
    x = list(range(len(m["days"])))
    pairs = ((m, BASE, "baseline"), (cand, CAND, "candidate"))
    runs = [(mm, colour, label) for mm, colour, label in pairs if mm is not None]
    names: list[str] = []

    # 1. requests opened per day, by trigger
    fig, ax = plt.subplots(figsize=(9, 4))
    bottom = [0.0] * len(x)
    for kind, colour in TRIGGER_COLOURS.items():
        ys = [float(d["opened_by_trigger"][kind]) for d in m["days"]]
        if any(ys):
            ax.bar(x, ys, bottom=bottom, color=colour, label=kind.replace("_", " "), width=0.9)
            bottom = [b + y for b, y in zip(bottom, ys, strict=True)]
    if cand is not None:
        ax.plot(x, _series(cand, "requests_opened"), color=CAND, lw=1.5, label="candidate: all")
    rest = max(bottom[1:], default=0.0)
    if bottom and rest > 0 and bottom[0] > 3 * rest:  # the launch day would flatten the rest
        ax.set_ylim(0, rest * 1.6)
        ax.annotate(
            f"day 0 (launch): {bottom[0]:.0f}",
            xy=(0, rest * 1.55),
            xytext=(4, rest * 1.4),
            arrowprops={"arrowstyle": "->", "color": "#555"},
            fontsize=9,
        )
    names.append(
        _finish(
            fig,
            ax,
            out,
            "requests.png",
            "Compliance requests opened per day, by trigger",
            "requests",
            loc="upper right",
        )
    )

    # 2. suppressions and the compliant listings among them (cumulative)
    fig, ax = plt.subplots(figsize=(9, 4))
    for mm, colour, label in runs:
        sup = _cumulative(_series(mm, "suppressions"))
        fp = _cumulative(_series(mm, "false_positive_suppressions"))
        rem = _cumulative(_series(mm, "removals"))
        ax.plot(x, sup, color=colour, lw=2, label=f"{label}: suppressions")
        ax.plot(x, fp, color=colour, lw=2, ls="--", label=f"{label}: of compliant listings")
        ax.plot(x, rem, color=colour, lw=1, ls=":", label=f"{label}: removals")
    names.append(
        _finish(
            fig,
            ax,
            out,
            "enforcement.png",
            "Enforcement (cumulative): suppressions, false positives, removals",
            "listings",
        )
    )

    # 3. reviewer backlog and SLA breaches
    fig, ax = plt.subplots(figsize=(9, 4))
    for mm, colour, label in runs:
        ax.plot(x, _series(mm, "reviewer_backlog"), color=colour, lw=2, label=f"{label}: backlog")
        ax.plot(
            x,
            _cumulative(_series(mm, "sla_breaches")),
            color=colour,
            lw=1.5,
            ls="--",
            label=f"{label}: SLA breaches (cumulative)",
        )
    cap = m["totals"]["reviewer_capacity_per_day"]
    peak = max(
        [*_series(m, "reviewer_backlog"), *(_series(cand, "reviewer_backlog") if cand else [])]
    )
    if peak >= cap / 3:  # otherwise the capacity line would flatten the queue
        ax.axhline(cap, color="#555", lw=1, ls=":", label=f"daily capacity ({cap})")
    ax.set_ylim(bottom=0, top=max(5.0, ax.get_ylim()[1]))
    names.append(
        _finish(
            fig,
            ax,
            out,
            "reviewers.png",
            f"Reviewer queue (SLA {m['config']['sla_days']} days, capacity {cap} a day)",
            "cases",
        )
    )

    # 4. approvals per day and time to compliance
    fig, ax = plt.subplots(figsize=(9, 4))
    for mm, colour, label in runs:
        ax.plot(
            x,
            _cumulative(_series(mm, "approvals")),
            color=colour,
            lw=3.5 if mm is m else 1.5,
            label=f"{label}: approvals",
        )
        ax.plot(
            x,
            _cumulative(_series(mm, "requests_opened")),
            color=colour,
            lw=1,
            ls="--",
            label=f"{label}: requests opened",
        )
        t = mm["totals"]["time_to_compliance_days"]
        if t["median"] is not None:
            ax.plot(
                [],
                [],
                " ",
                label=f"{label}: median {t['median']:g} d, p90 {t['p90']} d to compliance",
            )
    names.append(
        _finish(
            fig,
            ax,
            out,
            "approvals.png",
            "Requests opened and approved (cumulative)",
            "requests",
            loc="upper left",
        )
    )

    # 5. approvals by channel (cumulative) and the TICs' intake queue
    fig, ax = plt.subplots(figsize=(9, 4))
    for mm, colour, label in runs:
        for ch, ls in (("documents", "-"), ("direct_validation", "--")):
            ys = [float(d["approvals_by_channel"][ch]) for d in mm["days"]]
            name = "documents" if ch == "documents" else "via a TIC"
            ax.plot(x, _cumulative(ys), color=colour, lw=2, ls=ls, label=f"{label}: {name}")
        ax.plot(
            x, _series(mm, "tic_backlog"), color=colour, lw=1, ls=":", label=f"{label}: TIC queue"
        )
    names.append(
        _finish(
            fig,
            ax,
            out,
            "channels.png",
            "Approvals by channel (cumulative) and jobs waiting at the TICs",
            "approvals / jobs",
            loc="upper left",
        )
    )
    return names


def _finish(fig: Any, ax: Any, out: Path, name: str, title: str, ylabel: str, **legend: Any) -> str:
    """Title, axes and legend the charts share; save the figure as ``name`` and return it."""
    ax.set(title=title, xlabel="day of simulation", ylabel=ylabel)
    ax.legend(fontsize=9, frameon=False, **legend)
    _save(fig, out / name)
    return name


def _cumulative(xs: list[float]) -> list[float]:
    out, total = [], 0.0
    for v in xs:
        total += v
        out.append(total)
    return out


HEADLINES: tuple[tuple[str, str], ...] = (
    ("requests_opened", "Requests opened"),
    ("approvals", "Approvals"),
    ("ttc_median", "Time to compliance, median (days)"),
    ("ttc_p90", "Time to compliance, p90 (days)"),
    ("suppressions", "Suppressions"),
    ("false_positive_suppressions", "Suppressions of compliant listings (false positives)"),
    ("false_positive_rate", "Share of suppressions that hit compliant listings"),
    ("removals", "Removals"),
    ("suspensions", "Account suspensions"),
    ("forgery_rejections", "Rejections for forgery"),
    ("approved_non_compliant", "Non-compliant listings approved (undetected forgeries)"),
    ("appeals_filed", "Appeals filed"),
    ("appeals_overturned", "Appeals overturned"),
    ("reviewer_backlog_max", "Reviewer backlog, peak"),
    ("sla_breaches", "Reviewer SLA breaches"),
    ("complaints", "Complaints received"),
    ("share_approved_via_tic", "Share of approvals through a TIC (direct validation)"),
    ("ttc_tic_median", "Time to compliance via a TIC, median (days)"),
    ("tic_validations_filed", "TIC validations filed"),
    ("renewals", "Renewal requests"),
    ("rule_change_triggers", "Rule-change triggers"),
    ("trusted_accounts_max", "Trusted accounts, peak"),
)


def headline(m: dict[str, Any]) -> dict[str, Any]:
    t = m["totals"]
    flat = dict(t)
    flat["ttc_median"] = t["time_to_compliance_days"]["median"]
    flat["ttc_p90"] = t["time_to_compliance_days"]["p90"]
    flat["approved_non_compliant"] = len(t["approved_non_compliant_listings"])
    flat["ttc_tic_median"] = t["time_to_compliance_by_channel"]["direct_validation"]["median"]
    flat["tic_validations_filed"] = t["tic"]["validations_filed"]
    flat["renewals"] = t["opened_by_trigger"]["renewal"] + t["triggers_added"]["renewal"]
    flat["rule_change_triggers"] = (
        t["opened_by_trigger"]["rule_change"] + t["triggers_added"]["rule_change"]
    )
    return {k: flat.get(k) for k, _ in HEADLINES}


def report_html(
    m: dict[str, Any], images: list[str], cand: dict[str, Any] | None, cand_name: str | None
) -> str:
    env = Environment(
        loader=PackageLoader("toysafe.render", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
    )
    rows = []
    base, other = headline(m), headline(cand) if cand else None
    for key, label in HEADLINES:
        a = base[key]
        b = other[key] if other else None
        delta = None
        if isinstance(a, int | float) and isinstance(b, int | float):
            delta = round(b - a, 4)
        rows.append({"label": label, "base": a, "cand": b, "delta": delta})
    return env.get_template("simulation.html.j2").render(
        m=m, cand=cand, cand_name=cand_name, rows=rows, images=images
    )


def write(
    m: dict[str, Any], out: Path, cand: dict[str, Any] | None = None, cand_name: str | None = None
) -> list[str]:
    """Charts and report.html into ``out``; returns the files written."""
    images = charts(m, out, cand)
    (out / "report.html").write_text(report_html(m, images, cand, cand_name), encoding="utf-8")
    return [*images, "report.html"]
