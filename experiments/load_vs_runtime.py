"""Plans under load, checked on the runtime (docs/model.md "Load", docs/running.md "Plans under load").

    bash tools/quick_tour.sh /tmp/tour          # a trained run folder (runs/tour) and its profile (tour.json)
    python experiments/load_vs_runtime.py --run-dir /tmp/tour/runs/tour --profile /tmp/tour/tour.json
    python experiments/load_vs_runtime.py --report-only   # rewrite results.md from results.json

1. Open loop (`run_local(mode='open')`, Poisson arrivals, `clock='profile'`: each partition takes ratio x its
   profiled time, a fixed service time) on PLANS, chosen so that each has a different bottleneck server, at
   RATES x the plan's capacity (the load model's utilisation bound: 1 / the busiest server's work per
   sample). Measured mean and p99 against `LoadModel.evaluate` with the Load the run had (its rate, the
   exit shares of the very images it ran: the profile's exit rates are recomputed on them), each server as
   M/G/1 (`queues="mg1"`) and with the tandem's variability carried along (`queues="qna"`), with and without
   the workers' per-message handling measured at 0.1 of capacity (`Load(overhead_s=)`). At LONG_LOADS the
   runs take LONG_SAMPLES samples (a 300-sample run at 0.8 is too short for its mean).
   Measured: each sample's time from the driver's send (its arrival) to its result (the runtime's own
   latency starts after the source's queue).
2. Where they part: each run's own arrivals and exits replayed through ideal FIFO servers (`simulate`),
   long ideal runs (tandem queues against the model's independent M/G/1 servers), and the workers'
   per-message handling from the records, at the lowest rate (receiving and decoding a message, the
   sleep's overshoot, sending the result) and under load (from a job's end to the next's start when the
   next was waiting), added to every tier's service time in the model and the replay.
3. A fleet of FLEET sources sharing the edge: emulated as one Poisson stream at FLEET x rate (the runtime
   has one source worker per plan; the sum of independent Poisson streams is Poisson, so the shared tiers
   see what a fleet sends them). The plan computes nothing on the device, so the device's compute is not
   shared by mistake; only the device's uplink, which a real fleet would not share, is (both models given).
4. The load-aware plan (`planning.load.load_min_latency`, links queueing) against the one-sample optimum
   (`Planner.min_latency`) at the same accuracy bound, both run at the same rate and seed; deadline misses
   counted against the deadline.

Checkpoints results.json after every run and resumes from it (a finished run is not repeated).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
try:
    import eepart_fast  # noqa: F401 - installed, or already on the path (as in the tests that import this file)
except ImportError:  # run from a source checkout: the package beside it, without touching an importer's path
    sys.path.insert(0, str(ROOT / "python"))

from eepart_fast import Planner, Profile, Topology
from eepart_fast.io.records import exit_rates, normalised_entropy
from eepart_fast.model.load import Load, LoadModel
from eepart_fast.nn.train import predict
from eepart_fast.planning.load import load_min_latency
from eepart_fast.runtime import RunFailed, run_local
from eepart_fast.runtime.export import export_partitions, load_run_net

# Service times stay well above the onnxruntime call (under 1 ms for the whole network here), so the
# profile clock's sleep, not the machine's load, sets them.
TOPOLOGY = {"names": ["device", "edge", "cloud"], "ratio": [20.0, 6.0, 2.0],
            "bandwidth": [20e6, 50e6], "latency": [0.005, 0.020]}
# (name, threshold index, end blocks, tiers): each plan's bottleneck server differs (see the results).
PLANS = [("device", 7, [10], [0]),
         ("edge", 7, [10], [1]),
         ("cloud", 7, [10], [2]),
         ("device-edge link", 7, [2, 10], [0, 1]),
         ("edge, exits", 7, [4, 10], [1, 2]),
         ("device, exits", 7, [3, 10], [0, 2])]
RATES = (0.1, 0.3, 0.5, 0.7, 0.8, 0.9)
LONG_LOADS, LONG_SAMPLES = (0.7, 0.8), 1500
FLEET = 4
FLEET_PLAN = ("fleet: edge + cloud", 7, [6, 10], [1, 2])
SECONDS_PER_RUN = 40.0  # a run's arrivals span at most this long (fewer samples at low rates)


def topology() -> Topology:
    return Topology.chain(TOPOLOGY["names"], TOPOLOGY["ratio"], TOPOLOGY["bandwidth"], TOPOLOGY["latency"])


def run_profile(profile: Profile, entropy: np.ndarray) -> Profile:
    """The profile with its exit rates measured on the images the runs send (so the model's exit shares
    are the runs')."""
    d = profile.to_dict() if hasattr(profile, "to_dict") else json.loads(json.dumps(profile.__dict__))
    d["exit_rate"] = exit_rates(entropy, np.asarray(profile.thresholds))
    d.pop("accuracy_estimator", None)
    return Profile(**{k: d[k] for k in ("block_time", "branch_time", "output_bits", "input_bits", "result_bits",
                                        "accuracy", "thresholds", "exit_rate")},
                   name=profile.name, block_time_statistic=profile.block_time_statistic)


def capacity(model: LoadModel, config) -> tuple:
    """(rate, bottleneck server): the utilisation bound 1 / max over servers of arrivals per unit rate x work."""
    loads = model.loads(config)
    util = {key: model.arrival(key, rate=1.0) * B for key, (_s, B, _A) in loads.servers.items()}
    key = max(util, key=util.get)
    return 1.0 / util[key], key


def overhead_s(handling: dict, names) -> list:
    """Per tier, the handling per job measured at a low rate (`handling_of`'s total), as Load.overhead_s."""
    return [handling[n]["total"] if isinstance(handling.get(n), dict) else 0.0 for n in names]


def models(profile: Profile, topo: Topology, config, rate: float, handling: dict, **load) -> dict:
    """The load model's mean for the run: each queue option, without and with the measured handling (the
    source's hand-off from the driver, `handling["forward"]`, is a delay added to the latter)."""
    out = {}
    forward = handling.get("forward", 0.0)
    for queues in ("mg1", "qna"):
        for suffix, extra in (("", {}), ("_handling", {"overhead_s": overhead_s(handling, topo.names)})):
            m = LoadModel(profile, topo, load=Load(rate, queues=queues, **extra, **load))
            out[("model" if queues == "mg1" else "model_qna") + suffix] = (m.evaluate(config).latency
                                                                          + (forward if suffix else 0.0))
    return out


def handling_of(records, names) -> dict:
    """Per tier, the mean seconds a worker spends on a compute job beyond its target: from the message's
    arrival to the compute's start when it did not queue, the sleep's overshoot, and from the compute's end
    to the next message's hand-off (taken at a low rate, where jobs seldom queue)."""
    out = {}
    for name in names:
        pre, over, post = [], [], []
        for r in records:
            hops = r["hops"]
            for i, h in enumerate(hops):
                if h["kind"] != "compute" or h["tier"] != name:
                    continue
                ready = r["t_sent"] if i == 0 else hops[i - 1].get("arrive", hops[i - 1].get("end"))
                pre.append(h["start"] - ready)
                over.append(h["end"] - h["start"] - h["target"])
                if i + 1 < len(hops):
                    post.append(hops[i + 1]["enter"] - h["end"])
        if name == names[0]:
            # A source that computes nothing still takes each sample from the driver and hands it on.
            fwd = [r["hops"][0]["enter"] - r["t_sent"] for r in records if r["hops"][0]["kind"] == "link"]
            if fwd:
                out["forward"] = float(np.median(fwd))
        # Under load: from one job's end to the next's start when the next was already waiting (the worker
        # sends the result, then takes, decrypts and decodes the next message).
        jobs = sorted(((h["start"], h["end"], r["t_sent"] if i == 0 else r["hops"][i - 1].get("arrive"))
                       for r in records for i, h in enumerate(r["hops"])
                       if h["kind"] == "compute" and h["tier"] == name), key=lambda j: j[0])
        busy = [b[0] - a[1] for a, b in zip(jobs, jobs[1:]) if b[2] is not None and b[2] <= a[1]]
        if pre:
            # The median of the pre-compute gap: a job that queued behind another has a long one.
            out[name] = {"jobs": len(pre), "receive": float(np.median(pre)), "overshoot": float(np.mean(over)),
                         "send": float(np.mean(post)) if post else 0.0}
            out[name]["total"] = out[name]["receive"] + out[name]["overshoot"] + out[name]["send"]
            out[name]["queued_jobs"] = len(busy)
            out[name]["between_queued"] = float(np.mean(busy)) if busy else None
    return out


def routes(model: LoadModel, config, exits: np.ndarray) -> list:
    """Per sample, its servers in order: [(server key, service s, delay after s)], for a chain with one FIFO
    per link direction and store and forward (as runtime/netem.py), compute a fixed service (the profile
    clock). `exits[i]`: the partition (1-based) sample i leaves at."""
    topo, tables, prof = model.topology, model.tables, model.profile
    bw, lat = topo.links["bandwidth"], topo.links["latency"]

    def move(a, b, bits):
        step = 1 if b > a else -1
        return [(("link", min(j, j + step), j, j + step), bits / bw[min(j, j + step)], lat[min(j, j + step)])
                for j in range(a, b, step)]

    _t, P, A = config
    out = {}
    for e in np.unique(exits):
        path, p = move(model.source, A[0], prof.input_bits), 0
        for k in range(int(e)):
            path.append((("tier", A[k]), float(tables.compute_cost[A[k], p, P[k]]), 0.0))
            if k + 1 < e:
                path += move(A[k], A[k + 1], prof.output_bits[P[k] - 1])
            p = P[k]
        out[int(e)] = path + move(A[int(e) - 1], model.destination, prof.result_bits)
    return [out[int(e)] for e in exits]


def simulate(paths: list, arrivals: np.ndarray, handling=None) -> np.ndarray:
    """Each sample's latency through FIFO servers (Lindley's recursion per server, servers taken in the order
    every path visits them; a path visits each server once). `handling[key]` s added to that server's jobs."""
    order = []
    for path in sorted(paths, key=len, reverse=True):
        for key, _s, _d in path:
            if key not in order:
                order.append(key)
    ready = np.array(arrivals, float)
    step = [0] * len(paths)
    for key in order:
        jobs = [i for i, path in enumerate(paths) if step[i] < len(path) and path[step[i]][0] == key]
        free = -math.inf
        for i in sorted(jobs, key=lambda j: ready[j]):
            _k, service, delay = paths[i][step[i]]
            start = max(ready[i], free)
            free = start + service + (handling or {}).get(key, 0.0)
            ready[i] = free + delay
            step[i] += 1
    assert all(st == len(path) for st, path in zip(step, paths)), "a path visits its servers out of order"
    return ready - np.asarray(arrivals, float)


def sojourn(record) -> float:
    """Seconds from the driver sending the sample (its arrival) to its result: the runtime's latency (from
    the source taking it) plus the time before the source's first step began."""
    first = record["hops"][0]
    begin = first["start"] if first["kind"] == "compute" else first["enter"]
    return record["latency"] + max(0.0, begin - record["t_sent"])


def stats(lat) -> dict:
    lat = np.asarray(lat)
    return {"mean": float(lat.mean()), "p50": float(np.percentile(lat, 50)), "p99": float(np.percentile(lat, 99))}


def batch_ci(latencies_ms, batches: int = 10) -> float:
    """Half-width (ms) of the mean's 95 % interval from `batches` batch means in arrival order (successive
    samples' latencies are correlated under load, so the plain standard error is too small)."""
    means = [float(np.mean(b)) for b in np.array_split(np.asarray(latencies_ms), batches)]
    return 2.262 * float(np.std(means, ddof=1)) / math.sqrt(batches)  # Student t, 9 degrees of freedom


def samples_for(rate: float, most: int, load: float | None = None) -> int:
    if load in LONG_LOADS:
        return LONG_SAMPLES
    return int(min(most, max(100, math.ceil(rate * SECONDS_PER_RUN))))


class Experiment:
    def __init__(self, a):
        self.out = Path(a.out)
        self.work = Path(a.work)
        self.path = self.out / "results.json"
        self.result = json.loads(self.path.read_text()) if self.path.exists() else {}
        self.result.setdefault("topology", TOPOLOGY)
        self.result.setdefault("runs", {})
        self.samples = a.samples
        _spec, self.data, self.net, _meta = load_run_net(a.run_dir, False)
        torch.set_num_threads(1)
        n = max(a.samples, LONG_SAMPLES)
        self.x = self.data.test.batch(torch.arange(n))[0].numpy()
        probs, _ = predict(self.net, self.data.test)
        self.entropy = normalised_entropy(probs.numpy()[:n])
        self.base_profile = Profile.load(a.profile)
        self.topo = topology()
        self.exported = {}

    def save(self) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.result, indent=1) + "\n")
        tmp.replace(self.path)
        write_markdown(self.result, self.out / "results.md")

    def profile(self, n: int) -> Profile:
        return run_profile(self.base_profile, self.entropy[:n])

    def deploy(self, config) -> Path:
        t, P, A = config
        key = f"t{t}-" + "-".join(f"{q}@{a}" for q, a in zip(P, A))
        folder = self.work / key
        if key not in self.exported:
            names = self.topo.names
            spec = {"partitions": list(P), "tier_names": [names[a] for a in A],
                    "threshold": float(self.base_profile.thresholds[t]), "source": names[0],
                    "destination": names[0]}
            export_partitions(self.net, spec, folder, self.data.input_shape, {"backbone": "resnet20"})
            self.exported[key] = folder
        return folder

    def run(self, key: str, config, rate: float, n: int, seed: int = 1):
        """One open-loop run (or its checkpointed row): the records' latencies and the run's exit shares. A row
        with fewer samples than asked is run again (the shorter one kept under "replaced")."""
        old = self.result["runs"].get(key)
        if old is not None and ("failed" in old or old["samples"] >= n):
            return old, None
        if old is not None:
            self.result.setdefault("replaced", {})[key] = old
        t0 = time.time()
        try:
            res = run_local(self.deploy(config), self.topo, self.x[:n], mode="open", rate=rate, timeout=30.0,
                            seed=seed, clock="profile", profile=self.base_profile)
        except RunFailed as exc:
            row = {"rate": rate, "samples": n, "failed": str(exc)}
            self.result["runs"][key] = row
            self.save()
            return row, None
        # The runtime's latency starts when the source worker takes the sample, after any queue there; the
        # model's includes the source's wait: the sojourn from the driver's send (the Poisson arrival).
        records = sorted(res.records, key=lambda r: r["sample"])  # arrival order, for the batch means
        lat = [sojourn(r) for r in records]
        exits = np.bincount([r["exit_partition"] for r in res.records], minlength=len(config[1]) + 1)[1:]
        row = {"rate": rate, "samples": n, "seed": seed, **stats(lat), "exit_fraction": (exits / n).tolist(),
               "latencies_ms": [round(v * 1e3, 3) for v in lat], "seconds": time.time() - t0,
               "runtime_latency": stats([r["latency"] for r in res.records]),
               "handling": handling_of(res.records, self.topo.names),
               "load_average": os.getloadavg()[0],
               "sent_s": [round(r["t_sent"] - records[0]["t_sent"], 6) for r in records]}
        self.result["runs"][key] = row
        self.save()
        print(f"{key}: {rate:.2f}/s, {n} samples: mean {row['mean'] * 1e3:.2f} ms, p99 {row['p99'] * 1e3:.2f} ms "
              f"({row['seconds']:.0f} s)", flush=True)
        return row, res.records

    def open_loop(self) -> None:
        plans = self.result.setdefault("plans", [])
        for i, (name, t, P, A) in enumerate(PLANS):
            config = (t, P, A)
            model = LoadModel(self.base_profile, self.topo, load=Load(1.0))
            cap, key = capacity(model, config)
            if len(plans) <= i:
                plans.append({"name": name, "config": [t, P, A], "capacity": cap, "bottleneck": list(key)})
            for u in RATES:
                n = samples_for(u * cap, self.samples, u)
                row, _ = self.run(f"open/{i}/{u}", config, u * cap, n)
                if u == RATES[0] and "handling" in row:
                    plans[i]["handling"] = row["handling"]
                self.price(row, config, u * cap, Load(u * cap), plans[i].get("handling", {}))
            self.save()

    def price(self, row, config, rate, load, handling) -> None:
        if "failed" in row:
            return
        n = row["samples"]
        model = LoadModel(self.profile(n), self.topo, load=load)
        names = self.topo.names
        h = {names.index(k): v["total"] for k, v in handling.items() if k in names}
        forward = handling.get("forward", 0.0)
        row.update(models(self.profile(n), self.topo, config, load.rate, handling))
        row["model_exit_fraction"] = [float(v) for v in exit_shares(model, config)]
        # The same arrivals (the driver's: cumsum of exponentials from default_rng(seed)) and the same exits
        # through ideal FIFO servers: what the queues alone give this very run.
        exits = self.exits(config, n)
        paths = routes(model, config, exits)
        nominal = np.cumsum(np.random.default_rng(row.get("seed", 1)).exponential(1.0 / rate, n))
        row["simulated_nominal"] = float(simulate(paths, nominal).mean())
        # The driver's actual sends where recorded (it can fall behind the schedule and send in bursts).
        arrivals = np.asarray(row["sent_s"]) if "sent_s" in row else nominal
        row["simulated"] = float(simulate(paths, arrivals).mean())
        hk = {("tier", a): v for a, v in h.items()}
        row["simulated_handling"] = float(simulate(paths, arrivals + forward, hk).mean()) + forward
        # The handling this run's workers took between queued jobs (under load), where measured.
        hq = dict(hk)
        for k, v in row.get("handling", {}).items():
            if isinstance(v, dict) and v.get("between_queued") is not None:
                hq[("tier", names.index(k))] = v["between_queued"]
        row["simulated_loaded"] = float(simulate(paths, arrivals + forward, hq).mean()) + forward
        # Runs as long as this one from empty, 40 seeds: the mean a run of n samples has on average.
        rng = np.random.default_rng(12345)
        row["simulated_runs"] = float(np.mean([simulate(paths, np.cumsum(rng.exponential(1.0 / rate, n))).mean()
                                               for _ in range(40)]))
        long = np.resize(exits, 20000)
        row["simulated_long"] = float(simulate(routes(model, config, long),
                                               np.cumsum(rng.exponential(1.0 / rate, len(long)))).mean())

    def exits(self, config, n: int) -> np.ndarray:
        """The partition (1-based) each of the first n images leaves at: the first whose branch's
        normalised entropy is under the threshold (the worker's rule), else the last."""
        t, P, _A = config
        thr = float(self.base_profile.thresholds[t])
        out = np.full(n, len(P))
        for k in range(len(P) - 1, 0, -1):
            out[self.entropy[:n, P[k - 1] - 1] < thr] = k
        return out

    def fleet(self) -> None:
        name, t, P, A = FLEET_PLAN
        config = (t, P, A)
        fleet_model = LoadModel(self.base_profile, self.topo, load=Load(1.0, fleet=FLEET))
        cap, key = capacity(fleet_model, config)
        info = self.result.setdefault("fleet", {"name": name, "config": [t, P, A], "sources": FLEET,
                                                "capacity_per_source": cap, "bottleneck": list(key)})
        handling = self._handling_any()
        for u in RATES:
            n = samples_for(u * cap * FLEET, self.samples, u)
            row, _ = self.run(f"fleet/{u}", config, u * cap * FLEET, n)
            self.price(row, config, u * cap * FLEET, Load(u * cap * FLEET), handling)
            if "failed" not in row:
                fleet = models(self.profile(row["samples"]), self.topo, config, u * cap, handling, fleet=FLEET)
                row.update({k.replace("model", "model_fleet"): v for k, v in fleet.items()})
                row["per_source_rate"] = u * cap
        info["runs"] = [f"fleet/{u}" for u in RATES]
        self.save()

    def _handling_any(self) -> dict:
        """The handling per tier measured on the first plans (each tier's from the first plan computing there)."""
        out = {}
        for p in self.result.get("plans", []):
            for k, v in p.get("handling", {}).items():
                out.setdefault(k, v)
        return out

    def versus(self, min_accuracy: float, rates, deadline_factors) -> None:
        """The load-aware plan against the one-sample optimum, at the first rate in `rates` where they differ."""
        n = self.samples
        prof = self.profile(n)
        idle = Planner(prof, self.topo, source=0, destination=0).min_latency(min_accuracy=min_accuracy)
        idle_cfg = (idle.threshold_index, list(idle.partitions), list(idle.placement))
        rows = self.result.setdefault("versus", {"min_accuracy": min_accuracy,
                                                 "idle": {"config": [*idle_cfg[:1], *idle_cfg[1:]],
                                                          "latency": idle.latency, "accuracy": idle.accuracy},
                                                 "rates": {}})
        handling = self._handling_any()
        if not rates:
            cap, _key = capacity(LoadModel(prof, self.topo, load=Load(1.0)), idle_cfg)
            rates = [round(u * cap, 1) for u in (0.8, 0.9)]
        for rate in rates:
            best = load_min_latency(prof, self.topo, load=Load(rate), min_accuracy=min_accuracy, link_queues=True)
            if best is None:
                continue
            aware = (best.threshold_index, list(best.partitions), list(best.placement))
            if aware == idle_cfg:
                continue
            entry = rows["rates"].setdefault(str(rate), {"aware": list(aware), "aware_accuracy": best.accuracy})
            model = LoadModel(prof, self.topo, load=Load(rate))
            entry["model"] = {"aware": model.evaluate(aware).latency, "idle": model.evaluate(idle_cfg).latency}
            entry["deadlines"] = [f * idle.latency for f in deadline_factors]
            for which, cfg in (("idle", idle_cfg), ("aware", aware)):
                row, _ = self.run(f"versus/{rate}/{which}", cfg, rate, n, seed=2)
                self.price(row, cfg, rate, Load(rate), handling)
                if "failed" not in row:
                    row["misses"] = [int(sum(v > d * 1e3 for v in row["latencies_ms"])) for d in entry["deadlines"]]
            self.save()


def exit_shares(model: LoadModel, config) -> list:
    t, P, _A = config
    c = model.tables.cum_exit[t]
    out, prev = [], 0.0
    for k, q in enumerate(P):
        now = 1.0 if k == len(P) - 1 else float(c[q])
        out.append(now - prev)
        prev = now
    return out


def open_rows(r: dict, field: str, failed: bool = False):
    """(plan, load, row) of the open-loop runs whose row has `field` (or failed, with `failed`)."""
    for i, p in enumerate(r.get("plans", [])):
        for u in RATES:
            row = r.get("runs", {}).get(f"open/{i}/{u}")
            if row is not None and (field in row or (failed and "failed" in row)):
                yield p, u, row


def write_markdown(r: dict, path: Path) -> None:
    runs = r.get("runs", {})
    options = (("model", "M/G/1"), ("model_handling", "M/G/1 + handling"), ("model_qna", "QNA"),
               ("model_qna_handling", "QNA + handling"))
    lines = [("| plan (bottleneck) | capacity (1/s) | load | rate (1/s) | samples | load average | measured mean (ms) "
              "| measured p99 (ms) | " + " | ".join(f"{label} (ms) | measured / {label}" for _, label in options)
              + " |"), "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |" + " ---: | ---: |" * len(options)]
    for p, u, row in open_rows(r, "model", failed=True):
        head = (f"| {p['name']} ({'-'.join(map(str, p['bottleneck']))}) | {p['capacity']:.1f} | {u:.1f} | "
                f"{row['rate']:.1f} | {row['samples']} |")
        if "failed" in row:
            lines.append(head + f" failed: {row['failed'][:60]} |" + " |" * (3 + 2 * len(options)))
            continue
        lines.append(head + f" {row.get('load_average', math.nan):.1f} | {row['mean'] * 1e3:.2f} ± "
                     f"{batch_ci(row['latencies_ms']):.2f} | {row['p99'] * 1e3:.2f} | "
                     + " | ".join(f"{row[k] * 1e3:.2f} | {row['mean'] / row[k]:.3f}" for k, _ in options) + " |")
    lines += ["", "| model | plans within 15 % of the measured mean at every load up to 0.8 | those plans |",
              "| --- | ---: | --- |"]
    for k, label in options:
        good = [p["name"] for i, p in enumerate(r.get("plans", []))
                if all(abs(row["mean"] / row[k] - 1) <= 0.15 for pp, u, row in open_rows(r, k)
                       if pp is p and u <= 0.8)
                and all(f"open/{i}/{u}" in r.get("runs", {}) and "failed" not in r["runs"][f"open/{i}/{u}"]
                        for u in RATES if u <= 0.8)]
        lines.append(f"| {label} | {len(good)} of {len(r.get('plans', []))} | {', '.join(good)} |")
    lines += ["", ("| plan | load | model (ms) | QNA (ms) | long run, ideal queues (ms) | M/G/1 / long run | "
                   "QNA / long run | runs of this length from empty, ideal (ms) | "
                   "this run's arrivals and exits, ideal (ms) | the same + handling (ms) | measured (ms) | "
                   "measured / ideal same run | measured / (ideal same run + handling) | the same + handling under "
                   "load (ms) | measured / that |"),
              "| --- |" + " ---: |" * 14]
    for p, u, row in open_rows(r, "simulated_loaded"):
        long = row["simulated_long"]
        lines.append(f"| {p['name']} | {u:.1f} | {row['model'] * 1e3:.2f} | {row['model_qna'] * 1e3:.2f} | "
                     f"{long * 1e3:.2f} | {row['model'] / long:.3f} | {row['model_qna'] / long:.3f} | "
                     f"{row['simulated_runs'] * 1e3:.2f} | {row['simulated'] * 1e3:.2f} | "
                     f"{row['simulated_handling'] * 1e3:.2f} | {row['mean'] * 1e3:.2f} | "
                     f"{row['mean'] / row['simulated']:.3f} | {row['mean'] / row['simulated_handling']:.3f} | "
                     f"{row['simulated_loaded'] * 1e3:.2f} | {row['mean'] / row['simulated_loaded']:.3f} |")
    lines += ["", ("| plan | tier | jobs | receive (ms) | sleep overshoot (ms) | send (ms) | handling per job (ms) | "
                   "end to next start when queued, at 0.8 / 0.9 (ms) |"),
              "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |"]
    for i, p in enumerate(r.get("plans", [])):
        for tier, h in p.get("handling", {}).items():
            if not isinstance(h, dict):  # the source's forwarding delay, in the text
                continue
            gaps = []
            for u in (0.8, 0.9):
                g = runs.get(f"open/{i}/{u}", {}).get("handling", {}).get(tier, {}).get("between_queued")
                gaps.append("–" if g is None else f"{g * 1e3:.3f}")
            lines.append(f"| {p['name']} | {tier} | {h['jobs']} | {h['receive'] * 1e3:.3f} | "
                         f"{h['overshoot'] * 1e3:.3f} | {h['send'] * 1e3:.3f} | {h['total'] * 1e3:.3f} | "
                         f"{' / '.join(gaps)} |")
    f = r.get("fleet")
    lines += ["", ("| fleet load | per-source rate (1/s) | stream (1/s) | samples | measured mean (ms) "
              "| measured p99 (ms) | model, fleet (ms) | measured / model | model, fleet + handling (ms) "
              "| model, one stream (ms) | QNA, fleet + handling (ms) | measured / that |"),
              "| ---: |" + " ---: |" * 11]
    for u in RATES if f else ():
        row = runs.get(f"fleet/{u}")
        if row is None or "model_fleet" not in row:
            continue
        lines.append(f"| {u:.1f} | {row['per_source_rate']:.2f} | {row['rate']:.1f} | {row['samples']} | "
                     f"{row['mean'] * 1e3:.2f} ± {batch_ci(row['latencies_ms']):.2f} | {row['p99'] * 1e3:.2f} | "
                     f"{row['model_fleet'] * 1e3:.2f} | "
                     f"{row['mean'] / row['model_fleet']:.3f} | {row['model_fleet_handling'] * 1e3:.2f} | "
                     f"{row['model'] * 1e3:.2f} | {row['model_fleet_qna_handling'] * 1e3:.2f} | "
                     f"{row['mean'] / row['model_fleet_qna_handling']:.3f} |")
    v = r.get("versus")
    lines += ["", ("| rate (1/s) | plan | configuration (t, P, A) | model mean (ms) | measured mean (ms) "
              "| measured p99 (ms) | deadline (ms): misses |"), "| ---: | --- | --- | ---: | ---: | ---: | --- |"]
    for rate, e in (v or {}).get("rates", {}).items():
        for which in ("idle", "aware"):
            row = runs.get(f"versus/{rate}/{which}")
            if row is None or "misses" not in row:
                continue
            cfg = e["aware"] if which == "aware" else v["idle"]["config"]
            label = "load-aware" if which == "aware" else "one-sample optimum"
            lines.append(f"| {float(rate):.1f} | {label} | {cfg} | {e['model'][which] * 1e3:.2f} | "
                         f"{row['mean'] * 1e3:.2f} | {row['p99'] * 1e3:.2f} | "
                         + ", ".join(f"{d * 1e3:.1f}: {m} / {row['samples']}"
                                     for d, m in zip(e["deadlines"], row["misses"]))
                         + " |")
    path.write_text("\n".join(lines) + "\n")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run-dir", help="a trained run folder (tools/quick_tour.sh DIR: DIR/runs/tour)")
    ap.add_argument("--profile", help="its profile (DIR/tour.json): the service times of the profile clock")
    ap.add_argument("--out", default=str(ROOT / "experiments" / "results" / "load"))
    ap.add_argument("--work", default="/tmp/eepart-load-experiment")
    ap.add_argument("--samples", type=int, default=300, help="the most samples per run")
    ap.add_argument("--min-accuracy", type=float, default=0.5, help="the accuracy bound of part 4")
    ap.add_argument("--versus-rates", default="",
                    help="comma-separated rates (1/s) for part 4 (default: 0.8 and 0.9 of the one-sample "
                         "optimum's capacity)")
    ap.add_argument("--deadlines", default="2.5,4,6",
                    help="part 4's deadlines, comma-separated, x the one-sample optimum's latency")
    ap.add_argument("--parts", default="open,fleet,versus")
    ap.add_argument("--report-only", action="store_true")
    a = ap.parse_args()
    out = Path(a.out)
    if a.report_only:
        write_markdown(json.loads((out / "results.json").read_text()), out / "results.md")
        return 0
    if not a.run_dir or not a.profile:
        ap.error("--run-dir and --profile: the trained run folder and its profile (see the module's docstring)")
    out.mkdir(parents=True, exist_ok=True)
    Path(a.work).mkdir(parents=True, exist_ok=True)
    ex = Experiment(a)
    parts = a.parts.split(",")
    if "open" in parts:
        ex.open_loop()
    if "fleet" in parts:
        ex.fleet()
    if "versus" in parts:
        rates = [float(v) for v in a.versus_rates.split(",") if v]
        ex.versus(a.min_accuracy, rates, [float(v) for v in a.deadlines.split(",")])
    ex.save()
    return 0


if __name__ == "__main__":
    sys.exit(main())
