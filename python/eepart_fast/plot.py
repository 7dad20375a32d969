"""The paper's Figure 4: every configuration as a point, the Pareto frontier as a line."""
from __future__ import annotations

import numpy as np

from .configs import count_by_partitions, count_configurations

MAX_POINTS = 20000


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


def cloud(profile, topology, source, destination, backend="auto", seed=0):
    """(latency, accuracy) of every configuration, or of a uniform sample when there are too many."""
    from .api import evaluate, sweep

    total = count_configurations(profile.N, topology.M, profile.K)
    if total <= MAX_POINTS:
        rows = sweep(profile, topology, source, destination, backend=backend)
        return rows.latency, rows.accuracy, total
    configs = sample_configs(profile.N, topology.M, profile.K, MAX_POINTS, np.random.default_rng(seed))
    r = evaluate(profile, topology, configs, source, destination, backend=backend)
    return r.latency, r.accuracy, total


def plot_frontier(path, profile, topology, frontier, source=0, destination=0, best=None, backend="auto",
                  title=None):
    """Writes a PNG (or any matplotlib format) of the configuration cloud, the frontier and the chosen plan."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    lat, acc, total = cloud(profile, topology, source, destination, backend=backend)
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


def plot_plan_table(path, table, title=None):
    """Writes a plot of a PlanTable: the chosen plan's accuracy (top) and latency (bottom) against the
    parameter, one colour per interval, breakpoints as dotted lines, ranges with no plan shaded."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .plantable import display_unit

    divisor, unit = display_unit(table.parameter)
    inverse = table.parameter in ("bandwidth", "scale")  # latency is affine in 1/value there
    fig, (top, bottom) = plt.subplots(2, 1, sharex=True, figsize=(7, 5), dpi=120)
    colours = plt.get_cmap("tab10")
    for i, r in enumerate(table.rows):
        lo, hi = r.low / divisor, r.high / divisor
        if r.config is None:
            for ax in (top, bottom):
                ax.axvspan(lo, hi, color="tab:gray", alpha=0.2, lw=0)
            continue
        c = colours(i % 10)
        top.plot([lo, hi], [r.accuracy, r.accuracy], color=c, lw=2)
        v = np.geomspace(r.low, r.high, 64) if inverse else np.linspace(r.low, r.high, 64)
        x, x0, x1 = (1 / v, 1 / r.low, 1 / r.high) if inverse else (v, r.low, r.high)
        lat = r.latency_low + (r.latency_high - r.latency_low) * (x - x0) / (x1 - x0)
        bottom.plot(v / divisor, lat * 1e3, color=c, lw=2)
    for b in table.breakpoints:
        for ax in (top, bottom):
            ax.axvline(b / divisor, color="black", ls=":", lw=0.8)
    if table.problem == "max_accuracy":
        bottom.axhline(table.bound * 1e3, color="tab:red", ls="--", lw=0.8, label="latency bound")
        bottom.legend(fontsize=8)
    else:
        top.axhline(table.bound, color="tab:red", ls="--", lw=0.8, label="accuracy bound")
        top.legend(fontsize=8)
    if inverse:
        bottom.set_xscale("log")
    top.set_ylabel("accuracy")
    bottom.set_ylabel("latency (ms)")
    bottom.set_xlabel(f"{table.parameter} of {table.target_name} ({unit})")
    problem = "P_lat" if table.problem == "min_latency" else "P_acc"
    top.set_title((title + "\n" if title else "") + f"{problem}: {len(table.rows)} intervals, "
                  f"{len(table.breakpoints)} breakpoints, {table.searches} searches", fontsize=9)
    for ax in (top, bottom):
        ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
