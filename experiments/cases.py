"""What the four case scripts share (paper 3.3): every configuration of a shipped profile on a paper
topology, the best plan of a class of configurations under a bound, a zoomed trade-off figure and a
Markdown table. Every plan is checked against the engine's exact search (ef.min_latency / max_accuracy).
"""
from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib
import numpy as np

import eepart_fast as ef

matplotlib.use("Agg")
import matplotlib.pyplot as plt

__all__ = ["ef", "plt"]

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
PROFILES = ("resnet20-fashionmnist", "mobilenetv2-fashionmnist")
TOPOLOGIES = ("mobile", "iot")


def args(description: str):
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--out-dir", default=str(RESULTS), help="where the PNG and the Markdown table go")
    return p.parse_args()


class Space:
    """Every configuration of (profile, topology, source 0, destination) as sweep columns."""

    def __init__(self, profile: str, topology: str, destination: int = 0):
        self.profile_name, self.topology_name, self.destination = profile, topology, destination
        self.profile = ef.Profile.preset(profile)
        self.topology = ef.Topology.preset(topology)
        self.rows = ef.sweep(self.profile, self.topology, destination=destination, backend="cpu")
        L = self.rows.num_partitions
        self.last_block = self.rows.partitions[np.arange(len(L)), L - 1]
        A = self.rows.placement
        later = np.arange(1, A.shape[1])[None, :] < L[:, None]
        self.consecutive = np.all((A[:, 1:] > A[:, :-1]) | ~later, axis=1)
        # Whether any sample reaches the last partition (c at the block before it is below 1).
        before = np.where(L > 1, self.rows.partitions[np.arange(len(L)), np.maximum(L - 2, 0)], 0)
        c = self.profile.cum_exit()
        self.reach_last = c[self.rows.threshold_index, np.where(L > 1, before, 0)] < 1.0 - 1e-12

    def min_latency(self, min_accuracy: float, mask=None) -> int | None:
        """Row of least latency with accuracy >= min_accuracy (among `mask`); ties: higher accuracy."""
        ok = self.rows.accuracy >= min_accuracy
        if mask is not None:
            ok &= mask
        if not ok.any():
            return None
        idx = np.flatnonzero(ok)
        return int(idx[np.lexsort((-self.rows.accuracy[idx], self.rows.latency[idx]))[0]])

    def max_accuracy(self, max_latency: float, mask=None) -> int | None:
        """Row of highest accuracy with latency <= max_latency (among `mask`); ties: lower latency."""
        ok = self.rows.latency <= max_latency
        if mask is not None:
            ok &= mask
        if not ok.any():
            return None
        idx = np.flatnonzero(ok)
        return int(idx[np.lexsort((self.rows.latency[idx], -self.rows.accuracy[idx]))[0]])

    def check_exact(self, row: int, plan) -> None:
        """The engine's exact search must find the same latency and accuracy as the full sweep."""
        assert plan is not None, "the exact search found no plan where the sweep found one"
        assert abs(plan.latency - self.rows.latency[row]) <= 1e-12 * plan.latency, (plan, self.describe(row))
        assert abs(plan.accuracy - self.rows.accuracy[row]) <= 1e-12, (plan, self.describe(row))

    def describe(self, row: int) -> dict:
        t, P, A = self.rows.row(row)
        return {"t": t, "threshold": float(self.profile.thresholds[t]), "P": list(P),
                "A": [self.topology.names[a] for a in A], "A_index": list(A),
                "latency_ms": float(self.rows.latency[row] * 1e3), "accuracy": float(self.rows.accuracy[row])}

    def frontier(self):
        return self.rows.pareto()

    def bound_intervals(self, prop) -> list:
        """Latency bounds (ms, [lo, hi)) under which P_acc's answer has property prop(row dict)."""
        f = self.frontier()
        out = []
        for i in range(len(f)):
            t, P, A = f.row(i)
            d = {"t": t, "P": list(P), "A_index": list(A)}
            if prop(d):
                hi = f.latency[i + 1] * 1e3 if i + 1 < len(f) else float("inf")
                if out and out[-1][1] == float(f.latency[i] * 1e3):
                    out[-1] = (out[-1][0], float(hi))  # adjoining ranges merged
                else:
                    out.append((float(f.latency[i] * 1e3), float(hi)))
        return out


def plan_line(label: str, d: dict | None) -> str:
    if d is None:
        return f"| {label} | none | | | | |"
    return (f"| {label} | {d['P']} | {', '.join(d['A'])} | {d['threshold']:.3f} | {d['latency_ms']:.3f} | "
            f"{100 * d['accuracy']:.2f} % |")


PLAN_HEADER = ("| plan | P (block counts) | A (tiers) | threshold | latency (ms) | accuracy |\n"
               "| --- | --- | --- | --- | ---: | ---: |")


def figure(path, space: Space, marks, bound=None, xlim=None, ylim=None, title="", ax=None):
    """The trade-off cloud, its frontier, a dashed bound and the marked plans (label, row, marker)."""
    own = ax is None
    if own:
        fig, ax = plt.subplots(figsize=(7, 4.6), dpi=120)
    r = space.rows
    lat, acc = r.latency * 1e3, r.accuracy * 100
    keep = np.ones(len(r), bool)
    if xlim:
        keep &= (lat >= xlim[0]) & (lat <= xlim[1])
    if ylim:
        keep &= (acc >= ylim[0]) & (acc <= ylim[1])
    ax.scatter(lat[keep], acc[keep], s=3, alpha=0.3, color="tab:gray", rasterized=True,
               label=f"configurations ({keep.sum():,} shown of {len(r):,})")
    f = space.frontier()
    ax.step(f.latency * 1e3, f.accuracy * 100, where="post", color="black", lw=1.2, label="Pareto frontier")
    if bound:
        kind, value = bound
        if kind == "latency":
            ax.axvline(value * 1e3, ls="--", color="tab:red", lw=1, label=f"latency bound {value * 1e3:g} ms")
        else:
            ax.axhline(value * 100, ls="--", color="tab:red", lw=1, label=f"accuracy floor {100 * value:.2f} %")
    for label, row, style in marks:
        if row is None:
            continue
        star = style == "*"
        ax.plot([lat[row]], [acc[row]], style, ms=16 if star else 8, mec="black", label=label,
                zorder=5 if star else 4, mfc="gold" if star else "none" if style == "D" else None)
    if xlim:
        ax.set_xlim(*xlim)
    if ylim:
        ax.set_ylim(*ylim)
    ax.set_xlabel("end-to-end latency (ms)")
    ax.set_ylabel("accuracy (%)")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7, loc="lower right")
    if own:
        fig.tight_layout()
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path)
        plt.close(fig)


def write(path, text: str) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(text.rstrip() + "\n")
    print(f"wrote {path}")
