"""Energy case study (issue 22, item 5): the shipped ResNet-20 on `mobile-energy`, samples from the phone and
results back to it, the phone's battery counted (energy_tiers="source").

Every configuration's (latency, accuracy, energy) by the NumPy reference and the exact 3-objective frontier;
at a few bounds, the plan a latency-only planner picks (ef.min_latency) beside the least-energy plan meeting
the same bounds (brute force), the device-only and cloud-only plans, and a random-restart local search of the
literature's kind with its exact optimality gap; then the watch, the paper's source, whose power no source
gave, with its energy exact in that power. Every power is the preset's (docs/model.md "Energy presets").

    python experiments/energy_case.py   ->  experiments/results/energy/energy_case.md, energy_frontier.png
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

import eepart_fast as ef
from eepart_fast.engine import reference
from eepart_fast.engine.frontier import frontier3_indices
from eepart_fast.model import power_presets
from eepart_fast.model.energy import energy_tables

PROFILE = "resnet20-fashionmnist"
DEVICE = "smartphone"
CLOUD = "cloud"
# (min accuracy, max latency in s)
BOUNDS = [(0.85, 0.020), (0.90, 0.050), (0.90, 0.100), (0.92, 0.100), (0.92, 1.0)]
RESTARTS = (1, 3, 10, 30)
SEED = 0
MAX_STEPS = 200  # descent steps per restart; every descent here ends well before


def case_topology(radio: str = "lte") -> ef.Topology:
    """mobile-energy; radio "wifi" swaps the phone's end of link 1 for ARO's WiFi model (the link's bandwidth
    and latency stay the chain's)."""
    topo = ef.Topology.preset("mobile-energy")
    if radio == "wifi":
        link = topo.to_dict()["link_energy"]
        link[1] = {"send": [power_presets.WIFI_SEND, None], "receive": [power_presets.WIFI_RECEIVE, None]}
        topo = topo.replace(link_energy=link)
    return topo


def every_configuration(profile, topology, device) -> dict:
    """Every configuration's columns ("latency", "accuracy", "energy", the packed configuration), samples
    from `device` and results back to it, the device's energy counted."""
    tables = ef.cost_tables(profile, topology, source=device, destination=device)
    energy = energy_tables(profile, topology, source=device, destination=device, energy_tiers="source")
    return reference.every_configuration_energy(tables, energy)


def config_of(rows, i: int) -> tuple:
    """(t, P, A) of row i, as tuples."""
    L = int(rows["num_partitions"][i])
    return (int(rows["threshold_index"][i]), tuple(int(x) for x in rows["partitions"][i][:L]),
            tuple(int(x) for x in rows["placement"][i][:L]))


def row_of(rows, plan) -> int:
    """The row of a Plan's configuration; its latency and accuracy agree with the engine's to 1e-12."""
    L = len(plan.partitions)
    hit = ((rows["threshold_index"] == plan.threshold_index) & (rows["num_partitions"] == L)
           & np.all(rows["partitions"][:, :L] == plan.partitions, axis=1)
           & np.all(rows["placement"][:, :L] == plan.placement, axis=1))
    i = int(np.flatnonzero(hit)[0])
    assert abs(rows["latency"][i] - plan.latency) <= 1e-12 * plan.latency, (plan, rows["latency"][i])
    assert abs(rows["accuracy"][i] - plan.accuracy) <= 1e-12, (plan, rows["accuracy"][i])
    return i


def feasible(rows, min_accuracy: float, max_latency: float, mask=None) -> np.ndarray:
    ok = (rows["accuracy"] >= min_accuracy) & (rows["latency"] <= max_latency)
    return ok if mask is None else ok & mask


def min_energy(rows, min_accuracy: float, max_latency: float, mask=None) -> int | None:
    """Row of least energy with accuracy >= min_accuracy and latency <= max_latency (among `mask`); ties:
    lower latency, then higher accuracy. None when no row meets the bounds."""
    idx = np.flatnonzero(feasible(rows, min_accuracy, max_latency, mask))
    if not idx.size:
        return None
    order = np.lexsort((-rows["accuracy"][idx], rows["latency"][idx], rows["energy"][idx]))
    return int(idx[order[0]])


def on_one_tier(rows, tier: int) -> np.ndarray:
    """Rows whose every partition is on `tier` (one partition, any threshold, any trim)."""
    L = rows["num_partitions"]
    return (L == 1) & (rows["placement"][:, 0] == tier)


def neighbours(config, N: int, M: int, K: int):
    """(t, P, A) one move away: the threshold one step, one boundary one block, one partition to another
    tier, a partition split in two (the new one on any tier), two neighbouring partitions merged. Invalid
    ones are filtered by the caller."""
    t, P, A = config
    L = len(P)
    for d in (-1, 1):
        if 0 <= t + d < K:
            yield t + d, P, A
    for k in range(L):
        for d in (-1, 1):
            yield t, P[:k] + (P[k] + d,) + P[k + 1:], A
        for m in range(M):
            if m != A[k]:
                yield t, P, A[:k] + (m,) + A[k + 1:]
        for c in range(P[k - 1] + 1 if k else 1, P[k]):
            for m in range(M):
                yield t, P[:k] + (c,) + P[k:], A[:k] + (m,) + A[k:]
    for k in range(L - 1):
        yield t, P[:k] + P[k + 1:], A[:k] + A[k + 1:]
        yield t, P[:k] + P[k + 1:], A[:k + 1] + A[k + 2:]


def local_search(rows, min_accuracy: float, max_latency: float, *, N: int, M: int, K: int, restarts: int,
                 seed: int = SEED, max_steps: int = MAX_STEPS):
    """Random-restart steepest descent over (t, P, A) on (bound violation, energy), lexicographic: each
    restart from a configuration drawn uniformly, moving to the best neighbour while it improves. The
    literature's kind of heuristic (a seeded, bounded search over splits, placements and the threshold).

    Returns
    -------
    list of (int or None, int)
        Per restart, the best feasible row found so far (None: none yet) and the evaluations so far.
    """
    index = {config_of(rows, i): i for i in range(len(rows["energy"]))}
    lat, acc, en = rows["latency"], rows["accuracy"], rows["energy"]

    def score(i):
        violation = max(0.0, lat[i] / max_latency - 1.0) + max(0.0, min_accuracy - acc[i])
        return violation, en[i]

    rng = np.random.default_rng(seed)
    best, evaluations, trace = None, 0, []
    for _ in range(restarts):
        i = int(rng.integers(len(en)))
        evaluations += 1
        for _ in range(max_steps):
            moves = [index[c] for c in set(neighbours(config_of(rows, i), N, M, K)) if c in index]
            evaluations += len(moves)
            j = min(moves, key=score, default=i)
            if score(j) >= score(i):
                break
            i = j
        if score(i)[0] == 0.0 and (best is None or en[i] < en[best]):
            best = i
        trace.append((best, evaluations))
    return trace


def _plan(topology, rows, i) -> str:
    if i is None:
        return "none"
    t, P, A = config_of(rows, i)
    return f"t={t}, P={list(P)}, A=[{', '.join(topology.names[a] for a in A)}]"


def _values(rows, i) -> str:
    if i is None:
        return "| | |"
    return f"{rows['latency'][i] * 1e3:.2f} | {100 * rows['accuracy'][i]:.2f} | {rows['energy'][i]:.4f}"


def _saving(rows, best, other) -> str:
    if best is None or other is None:
        return "n/a"
    return f"{100 * (1 - rows['energy'][best] / rows['energy'][other]):.1f} %"


def study(radio: str, profile, lines: list, out: Path, draw: bool):
    topo = case_topology(radio)
    device, cloud = topo.tier(DEVICE), topo.tier(CLOUD)
    rows = every_configuration(profile, topo, device)
    lat, acc, en = rows["latency"], rows["accuracy"], rows["energy"]
    front = frontier3_indices(lat, acc, en)
    two_d = ef.frontier_indices(lat, acc)
    lines += [f"## Phone radio: {radio.upper()}", "",
              (f"{len(en):,} configurations; the exact (latency, accuracy, energy) frontier has {len(front)} of "
              f"them (the (latency, accuracy) frontier {len(two_d)}); on it, energy from {en[front].min():.4f} J "
              f"to {en[front].max():.4f} J per sample, latency from {lat[front].min() * 1e3:.2f} ms to "
              f"{lat[front].max() * 1e3:.2f} ms."), "",
              ("| bounds | latency-only plan (ef.min_latency) | latency (ms) | accuracy (%) | energy (J) | "
              "least-energy plan | latency (ms) | accuracy (%) | energy (J) | saving vs latency-only | "
              "vs device-only | vs cloud-only |"),
              "| --- | --- | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    heuristic = []
    for amin, lmax in BOUNDS:
        plan = ef.min_latency(profile, topo, source=device, destination=device, min_accuracy=amin)
        i_lat = None
        if plan is not None:
            i_lat = row_of(rows, plan)
            i_lat = i_lat if lat[i_lat] <= lmax else None  # the latency-only plan misses the latency bound
        best = min_energy(rows, amin, lmax)
        dev = min_energy(rows, amin, lmax, on_one_tier(rows, device))
        cld = min_energy(rows, amin, lmax, on_one_tier(rows, cloud))
        bound = f"acc >= {amin:.2f}, lat <= {lmax * 1e3:g} ms"
        lines.append(f"| {bound} | {_plan(topo, rows, i_lat)} | {_values(rows, i_lat)} | {_plan(topo, rows, best)} "
                     f"| {_values(rows, best)} | {_saving(rows, best, i_lat)} | {_saving(rows, best, dev)} | "
                     f"{_saving(rows, best, cld)} |")
        if best is not None:
            trace = local_search(rows, amin, lmax, N=profile.N, M=topo.M, K=profile.K, restarts=max(RESTARTS))
            for r in RESTARTS:
                found, evaluations = trace[r - 1]
                gap = "no feasible plan found" if found is None else \
                    f"{100 * (en[found] / en[best] - 1):.2f} %"
                heuristic.append(f"| {bound} | {r} | {evaluations:,} | "
                                 f"{'' if found is None else f'{en[found]:.4f}'} | {en[best]:.4f} | {gap} |")
    lines += ["", ("Device-only: every block on the phone (one partition; the threshold and trim of least energy "
              "meeting the bounds). Cloud-only: the same with the one partition on the cloud (the input crosses "
              "the watch-free path phone → edge → cloud over LTE and the wired link). Savings are "
              "1 − E(least-energy) / E(other); n/a where the other plan does not meet the bounds."), "",
              ("Heuristic: random-restart steepest descent over (t, P, A) (threshold ±1, a boundary ±1 block, a "
              f"partition to another tier, a split, a merge) on (bound violation, energy), seed {SEED}; the "
              "best feasible plan after the first r restarts, and its exact gap to the brute-force optimum."), "",
              "| bounds | restarts | evaluations | heuristic energy (J) | optimum (J) | gap |",
              "| --- | ---: | ---: | ---: | ---: | ---: |", *heuristic, ""]
    if draw:
        figure(out / "energy_frontier.png", topo, rows, front, BOUNDS[1])
    return rows


WATCH = "smartwatch"
WATCH_BOUNDS = [(0.85, 1.0), (0.90, 1.0), (0.90, 3.0), (0.92, 5.0)]


def envelope(radio: np.ndarray, busy: np.ndarray, latency: np.ndarray, rows_ok: np.ndarray) -> list:
    """The least-energy row as the watch's active power x rises from 0, energy radio + x * busy: the lower
    envelope of these lines over the rows `rows_ok`, as [(x from, row), ...] (exact, no grid); of equal
    energies, the lower latency."""
    idx = np.flatnonzero(rows_ok)
    a, b, lat = radio[idx], busy[idx], latency[idx]
    cur = int(np.lexsort((lat, b, np.round(a, 12)))[0])  # equal within rounding: the faster
    x, out = 0.0, [(0.0, int(idx[cur]))]
    while True:
        steeper = b < b[cur]
        if not steeper.any():
            return out
        cross = np.full(len(a), np.inf)
        cross[steeper] = (a[steeper] - a[cur]) / (b[cur] - b[steeper])
        cross[cross < x] = np.inf
        nxt = int(np.lexsort((lat, b, np.round(cross, 12)))[0])
        if not np.isfinite(cross[nxt]):
            return out
        x, cur = float(cross[nxt]), nxt
        out.append((x, int(idx[cur])))


def watch_study(profile, lines: list):
    """The paper's source, the watch: no watch power could be read, so its energy is given as a function of
    its active power x (idle 0): radio + x * (its compute and (de)serialisation time), exact in x."""
    topo = ef.Topology.preset("mobile-energy")
    watch = topo.tier(WATCH)
    unit = np.zeros(topo.M)
    unit[watch] = 1.0
    radio = every_configuration(profile, topo.replace(active_power_w=np.zeros(topo.M).tolist()), watch)
    one = every_configuration(profile, topo.replace(active_power_w=unit.tolist()), watch)
    a, b = radio["energy"], one["energy"] - radio["energy"]
    lines += ["## The watch as source and destination (the paper's chain), its active power unread", "",
              ("The watch's energy is its Bluetooth radio's (ARO's 0.761 W while a transfer lasts) plus x W times "
               "its own compute and (de)serialisation time, x its active power, which no source gave; idle power "
               "0 (which favours offloading). Per bound, the least-energy plan as x rises (the exact lower "
               "envelope of the configurations' lines in x), beside the latency-only plan; energies in J as "
               "radio + busy seconds * x."), "",
              ("| bounds | latency-only plan | latency (ms) | its energy (J) | least energy for x (W) in | plan | "
               "latency (ms) | energy (J) |"), "| --- | --- | ---: | --- | --- | --- | ---: | --- |"]
    for amin, lmax in WATCH_BOUNDS:
        bound = f"acc >= {amin:.2f}, lat <= {lmax * 1e3:g} ms"
        ok = feasible(radio, amin, lmax)
        plan = ef.min_latency(profile, topo, source=watch, destination=watch, min_accuracy=amin)
        i_lat = row_of(radio, plan)
        if not ok.any():
            lines.append(f"| {bound} | no plan | | | | | | |")
            continue
        env = envelope(a, b, radio["latency"], ok)
        for k, (x, i) in enumerate(env):
            hi = env[k + 1][0] if k + 1 < len(env) else float("inf")
            rng = f"[{x:.3g}, {hi:.3g}) W"
            line = (f"{_plan(topo, radio, i_lat)} | {radio['latency'][i_lat] * 1e3:.1f} | "
                    f"{a[i_lat]:.4f} + {b[i_lat]:.4f} x" if k == 0 else " | |")
            lines.append(f"| {bound if k == 0 else ''} | {line} | {rng} | {_plan(topo, radio, i)} | "
                         f"{radio['latency'][i] * 1e3:.1f} | {a[i]:.4f} + {b[i]:.4f} x |")
    lines += ["", ("Energy in J as radio + busy-seconds x: below the first change the least-energy plan spends the "
                   "least radio energy, above the last it computes least on the watch."), ""]


def figure(path: Path, topo, rows, front, bound):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    lat, acc, en = rows["latency"] * 1e3, rows["accuracy"] * 100, rows["energy"]
    fig, ax = plt.subplots(figsize=(7, 4.6), dpi=100)
    sc = ax.scatter(lat, en, c=acc, s=2, cmap="viridis", alpha=0.4, rasterized=True,
                    label=f"configurations ({len(en):,})")
    ax.scatter(lat[front], en[front], c=acc[front], cmap="viridis", s=18, edgecolors="black", linewidths=0.6,
               label=f"(latency, accuracy, energy) frontier ({len(front)})", vmin=acc.min(), vmax=acc.max())
    amin, lmax = bound
    best = min_energy(rows, amin, lmax)
    if best is not None:
        ax.plot([lat[best]], [en[best]], "*", ms=15, mfc="gold", mec="black",
                label=f"least energy, acc >= {100 * amin:.0f} %, lat <= {lmax * 1e3:g} ms")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("end-to-end latency (ms)")
    ax.set_ylabel("phone's energy per sample (J)")
    ax.set_title(f"ResNet-20, mobile-energy (LTE), samples and results at the {DEVICE}", fontsize=9)
    fig.colorbar(sc, ax=ax, label="accuracy (%)")
    ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    print(f"wrote {path}")


def main():
    import argparse

    here = Path(__file__).resolve().parent
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--out-dir", default=str(here / "results" / "energy"), help="where the PNG and table go")
    out = Path(p.parse_args().out_dir)
    profile = ef.Profile.preset(PROFILE)
    idle, active = power_presets.DEVICE_POWER["htc-dream-cpu"]
    lines = ["# Energy case study: ResNet-20 on mobile-energy, the phone's battery", "",
             ("Regenerate: `python experiments/energy_case.py`. Samples from the smartphone, results back to it, "
             "its energy counted (energy_tiers=\"source\"); every number by the NumPy reference "
             "(`every_configuration_energy`) over every configuration, the frontier by `frontier3_indices`. "
             f"The phone's CPU draws {active} W computing and {idle} W waiting (the HTC Dream's, by "
             "PowerTutor's model: its power above idle, the phone's base power not counted); its LTE radio is ARO's "
             "model (438.39 mW/Mbps up, 51.97 mW/Mbps down, 1.2 W base, 11.04 J promotion and tail per request), "
             "the WiFi rows ARO's (0.403 W, 0.10 J tail). Latency in ms, energy in J per sample."), ""]
    for radio in ("lte", "wifi"):
        study(radio, profile, lines, out, draw=radio == "lte")
    watch_study(profile, lines)
    lines += ["Figure: `energy_frontier.png` (LTE; log-log, colour = accuracy, the frontier ringed).", ""]
    path = out / "energy_case.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines).rstrip() + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
