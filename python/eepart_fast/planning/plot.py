"""The paper's Figure 4: every configuration as a point, the Pareto frontier as a line."""
from __future__ import annotations

import numpy as np

from .._deprecated import positional
from ..model.configs import count_by_partitions, count_configurations
from .evaluation import evaluate, sweep

MAX_POINTS = 20000


def display_unit(parameter: str):
    """(divisor, unit) for showing a parameter's values."""
    return {"bandwidth": (1e6, "Mbit/s"), "latency": (1e-3, "ms"), "ratio": (1.0, "x"), "scale": (1.0, "x")}[parameter]


def sample_configs(N: int, M: int, K: int, n: int, rng: np.random.Generator):
    """n configurations drawn uniformly from all (t, P, A) of docs/model.md."""
    lmax = min(M, N)
    weights = np.array(count_by_partitions(N, M), float)
    Ls = rng.choice(np.arange(1, lmax + 1), size=n, p=weights / weights.sum())
    out = []
    for L in Ls:
        P = np.sort(rng.choice(np.arange(1, N + 1), size=L, replace=False))
        A = rng.choice(M, size=L, replace=False)
        out.append((int(rng.integers(K)), P.tolist(), A.tolist()))
    return out


def cloud(profile, topology, *, source=0, destination=0, backend="auto", seed=0):
    """(latency, accuracy) of every configuration, or of a uniform sample when there are too many."""
    total = count_configurations(profile.N, topology.M, profile.K)
    if total <= MAX_POINTS:
        rows = sweep(profile, topology, source=source, destination=destination, backend=backend)
        return rows.latency, rows.accuracy, total
    configs = sample_configs(profile.N, topology.M, profile.K, MAX_POINTS, np.random.default_rng(seed))
    r = evaluate(profile, topology, source=source, destination=destination, configs=configs, backend=backend)
    return r.latency, r.accuracy, total


@positional("source", "destination", "best", "backend", "title")
def plot_frontier(path, profile, topology, frontier, *, source=0, destination=0, best=None, backend="auto",
                  title=None):
    """Writes a PNG (or any matplotlib format) of the configuration cloud, the frontier and the chosen plan
    (the paper's Figure 4). Needs matplotlib.

    Parameters
    ----------
    path : str or path
        Where to write the figure (its format from the suffix).
    profile : Profile
        The profile planned on.
    topology : Topology
        The topology planned on.
    frontier : list of Plan
        The Pareto frontier (pareto's answer).
    source, destination : int or str, default 0
        Where samples are produced and results must arrive.
    best : Plan, optional
        The chosen plan, drawn as a star.
    backend : str, default "auto"
        The backend that sweeps (or evaluates a sample of) every configuration.
    title : str, optional
        The title (default: the profile's name and the tiers).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    lat, acc, total = cloud(profile, topology, source=source, destination=destination, backend=backend)
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=120)
    label = f"configurations ({len(lat):,} of {total:,})" if len(lat) < total else f"configurations ({total:,})"
    ax.scatter(lat * 1e3, acc, s=4, alpha=0.35, color="tab:gray", label=label, rasterized=True)
    f_lat = np.array([p.latency for p in frontier]) * 1e3
    f_acc = np.array([p.accuracy for p in frontier])
    ax.step(f_lat, f_acc, where="post", color="tab:red", lw=1.2)
    ax.plot(f_lat, f_acc, "o", color="tab:red", ms=4, label=f"Pareto frontier ({len(frontier)})")
    if best is not None:
        ax.plot([best.latency * 1e3], [best.accuracy], "*", color="tab:blue", ms=14, label="chosen plan")
    ax.set_xscale("log")
    ax.set_xlabel("end-to-end latency (ms)")
    ax.set_ylabel("accuracy")
    ax.set_title(title or f"{profile.name or 'profile'} on {', '.join(topology.names)}", fontsize=9)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


MIN_ACCURACY_SPAN = 0.01  # the accuracy axis spans at least this much: a 0.001 spread keeps a tenth of it
CROWDED = 0.012  # breakpoints closer than this fraction of the axis' width are drawn as one annotated band
LEGEND_PLANS = 20  # plans named in the legend (the table, eepart plan --over, lists them all)


def plan_label(table, row) -> str:
    """A plan of a table row in words: "t=0.6316  1-3@smartphone  4-10@edge server"."""
    thresholds = getattr(table._param.state, "thresholds", None)
    t = f"t={thresholds[row.threshold_index]:.4g}" if thresholds is not None else f"t index {row.threshold_index}"
    ends = [0, *row.partitions]
    return "  ".join([t, *(f"{ends[k] + 1}-{ends[k + 1]}@{row.tier_names[k]}" for k in range(len(row.partitions)))])


def plan_colours(n: int) -> list:
    """n distinct colours: tab10 / tab20 while they last, then n evenly spaced along turbo."""
    import matplotlib.pyplot as plt

    if n <= 10:
        return [plt.get_cmap("tab10")(i) for i in range(n)]
    if n <= 20:  # the ten dark shades first, then their light pairs
        return [plt.get_cmap("tab20")(i) for i in [*range(0, 20, 2), *range(1, 20, 2)][:n]]
    return [tuple(c) for c in plt.get_cmap("turbo")(np.linspace(0.0, 1.0, n))]


def crowded_groups(positions, gap: float) -> list:
    """Runs of rising positions (axis fractions) whose neighbours lie closer than `gap`, as (first, last)
    index pairs; a breakpoint far from both neighbours is a run of one."""
    groups, first = [], 0
    for i in range(1, len(positions) + 1):
        if i == len(positions) or positions[i] - positions[i - 1] >= gap:
            groups.append((first, i - 1))
            first = i
    return groups


def accuracy_limits(values, span: float = MIN_ACCURACY_SPAN) -> tuple:
    """y-limits around `values` spanning at least `span` (kept inside [0, 1] where the values allow), with a
    margin of 10 %: a spread of 0.001 then fills a tenth of the axis instead of all of it."""
    lo, hi = float(min(values)), float(max(values))
    width = max(hi - lo, span) * 1.2
    mid = 0.5 * (lo + hi)
    bottom, top = mid - width / 2, mid + width / 2
    if top > 1.0 >= hi:
        bottom, top = bottom - (top - 1.0), 1.0
    if bottom < 0.0 <= lo:
        bottom, top = 0.0, top - bottom
    return bottom, top


@positional("title")
def plot_plan_table(path, table, *, title=None):
    """A plot of a PlanTable: the chosen plan's accuracy (top) and latency (bottom) against the parameter,
    one colour per distinct plan (a plan chosen on two intervals keeps its colour) named in the legend,
    breakpoints as dotted lines (those too close to tell apart as one band, annotated with how many lie in
    it), ranges with no plan shaded. Needs matplotlib.

    Parameters
    ----------
    path : str or path or None
        Where to write the figure (its format from the suffix); None: not written.
    table : PlanTable
        The table to draw.
    title : str, optional
        A first line of the title.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    divisor, unit = display_unit(table.parameter)
    inverse = table.parameter in ("bandwidth", "scale")  # latency is affine in 1/value there
    fig, (top, bottom) = plt.subplots(2, 1, sharex=True, figsize=(7, 5), dpi=120)
    plans = list(dict.fromkeys(r.config for r in table.rows if r.config is not None))
    colour = dict(zip(plans, plan_colours(len(plans))))
    labelled = set()
    for r in table.rows:
        lo, hi = r.low / divisor, r.high / divisor
        if r.config is None:
            for ax in (top, bottom):
                ax.axvspan(lo, hi, color="tab:gray", alpha=0.2, lw=0)
            continue
        c = colour[r.config]
        name = None
        if r.config not in labelled and len(labelled) < LEGEND_PLANS:
            labelled.add(r.config)
            name = plan_label(table, r)
        top.plot([lo, hi], [r.accuracy, r.accuracy], color=c, lw=2, label=name, solid_capstyle="butt")
        v = np.geomspace(r.low, r.high, 64) if inverse else np.linspace(r.low, r.high, 64)
        x, x0, x1 = (1 / v, 1 / r.low, 1 / r.high) if inverse else (v, r.low, r.high)
        lat = r.latency_low + (r.latency_high - r.latency_low) * (x - x0) / (x1 - x0)
        bottom.plot(v / divisor, lat * 1e3, color=c, lw=2)
    if inverse:
        bottom.set_xscale("log")
    bottom.set_xlim(table.low / divisor, table.high / divisor)
    # Breakpoints: where they crowd (closer than CROWDED of the width, on the axis' own scale) one band and
    # a note of how many it holds, instead of dotted lines merging into one black bar.
    scale = np.log10 if inverse else (lambda a: np.asarray(a, float))
    ends = scale([table.low / divisor, table.high / divisor])
    points = [b / divisor for b in table.breakpoints]
    where = (scale(points) - ends[0]) / (ends[1] - ends[0]) if points else []
    groups = crowded_groups(list(where), CROWDED)
    bands = [(first, last) for first, last in groups if last > first]
    for first, last in groups:
        for ax in (top, bottom):
            if first == last:
                ax.axvline(points[first], color="black", ls=":", lw=0.6)
            else:
                ax.axvspan(points[first], points[last], color="black", alpha=0.12, lw=0)
    placed = []  # (axis fraction, row) of the notes so far: a note near the last one goes a row lower
    for first, last in bands:
        a, b = points[first], points[last]
        mid = 0.5 * (where[first] + where[last])
        row = 0
        while any(abs(mid - m) < 0.08 and r == row for m, r in placed[-3:]) and row < 3:
            row += 1
        placed.append((mid, row))
        text = (f"{last - first + 1} breakpoints\n{a:.4g}-{b:.4g} {unit}" if len(bands) <= 3
                else str(last - first + 1))
        top.annotate(text, xy=(mid, 1.0), xycoords="axes fraction", xytext=(0, -3 - 11 * row),
                     textcoords="offset points", ha="center", va="top", fontsize=7,
                     bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "0.6", "alpha": 0.85})
    if len(bands) > 3:
        top.text(0.99, 0.02, "grey bands: breakpoints too close to draw apart (their number above)",
                 transform=top.transAxes, ha="right", va="bottom", fontsize=7)
    accuracies = [r.accuracy for r in table.rows if r.config is not None]
    if table.problem == "max_accuracy":
        bottom.axhline(table.bound * 1e3, color="tab:red", ls="--", lw=0.8, label="latency bound")
        bottom.legend(fontsize=7, loc="lower right")
    else:
        top.axhline(table.bound, color="tab:red", ls="--", lw=0.8, label="accuracy bound")
        accuracies.append(table.bound)
    if accuracies:
        top.set_ylim(*accuracy_limits(accuracies))
        top.set_ylabel(f"accuracy\n({min(accuracies):.5g} to {max(accuracies):.5g})", fontsize=9)
    else:
        top.set_ylabel("accuracy")
    if plans:
        more = len(plans) - len(labelled)
        handles, names = top.get_legend_handles_labels()
        title_ = f"{len(plans)} plans" + (f" ({more} more not named; the table lists them)" if more else "")
        fig.legend(handles, names, loc="upper left", bbox_to_anchor=(1.0, 0.98), fontsize=7, title=title_,
                   title_fontsize=7, frameon=False)
    bottom.set_ylabel("latency (ms)")
    bottom.set_xlabel(f"{table.parameter} of {table.target_name} ({unit})")
    problem = "P_lat" if table.problem == "min_latency" else "P_acc"
    top.set_title((title + "\n" if title else "") + f"{problem}: {len(table.rows)} intervals, "
                  f"{len(table.breakpoints)} breakpoints, {table.searches} searches", fontsize=9)
    for ax in (top, bottom):
        ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, bbox_inches="tight")
    plt.close(fig)
    return fig
