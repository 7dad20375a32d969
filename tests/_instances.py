"""Random instances for the differential tests: realistic shapes, random everything else."""
from __future__ import annotations

import os

import numpy as np
from hypothesis import strategies as st

import eepart_fast as ef
from eepart_fast.engine import reference


def random_profile(rng: np.random.Generator, N: int, K: int, rising_accuracy: bool = False) -> ef.Profile:
    block_time = rng.uniform(1e-4, 5e-3, N)
    branch_time = rng.uniform(1e-5, 1e-3, N)
    output_bits = rng.uniform(1e3, 1e6, N)
    accuracy = rng.uniform(0.1, 1.0, N)
    if rising_accuracy:
        accuracy = np.sort(accuracy)
    # Exit rates: a random cumulative curve per threshold, rising with the threshold.
    thresholds = np.sort(rng.choice(np.linspace(0, 1, 101), K, replace=False))
    exit_rate = rng.dirichlet(np.ones(N), size=K)
    if rng.random() < 0.3:  # sometimes exact zeros: samples that never leave early
        exit_rate[0] = 0.0
        exit_rate[0, -1] = 1.0
    return ef.Profile(block_time, branch_time, output_bits, rng.uniform(1e3, 1e6), rng.uniform(32, 1e4),
                      accuracy, thresholds, exit_rate)


def random_topology(rng: np.random.Generator, M: int) -> ef.Topology:
    ratio = rng.uniform(0.5, 100.0, M)
    if rng.random() < 0.5:
        return ef.Topology.chain([f"t{j}" for j in range(M)], ratio, rng.uniform(1e5, 1e9, M - 1),
                                 rng.uniform(0, 0.05, M - 1))
    # Any topology: random symmetric routes, zero on the diagonal.
    lat = rng.uniform(0, 0.05, (M, M))
    inv = rng.uniform(1e-9, 1e-5, (M, M))
    lat, inv = (lat + lat.T) / 2, (inv + inv.T) / 2
    np.fill_diagonal(lat, 0)
    np.fill_diagonal(inv, 0)
    return ef.Topology([f"t{j}" for j in range(M)], ratio, lat, inv)


@st.composite
def instances(draw, max_N=12, max_M=5, max_K=5):
    """(profile, topology, source, destination) with N 1..max_N, M 1..max_M, K 1..max_K."""
    N = draw(st.integers(1, max_N))
    M = draw(st.integers(1, max_M))
    K = draw(st.integers(1, max_K))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    return (random_profile(rng, N, K, rising_accuracy=draw(st.booleans())), random_topology(rng, M),
            draw(st.integers(0, M - 1)), draw(st.integers(0, M - 1)))


# The host emulator of the GPU kernels (EEPART_FAST_CUDA_MODULE=_cuda_emu) runs every kernel thread in turn:
# an instance a device sweeps in milliseconds takes it seconds, and CI's time is bounded. There the GPU tests
# draw smaller instances; their small chunks and windows still cross every seam.
EMULATED_GPU = os.environ.get("EEPART_FAST_CUDA_MODULE", "").strip() == "_cuda_emu"


def gpu_instances(max_N: int, max_M: int, max_K: int):
    """instances() of the given sizes on a device, smaller on the host emulator (EMULATED_GPU)."""
    if EMULATED_GPU:
        return instances(max_N=min(max_N, 7), max_M=min(max_M, 4), max_K=min(max_K, 2))
    return instances(max_N=max_N, max_M=max_M, max_K=max_K)


def drawn_bounds(tables, data) -> dict:
    """min_accuracy and max_latency at quantiles hypothesis draws, of every configuration's values."""
    every = reference.sweep(tables)
    return {"min_accuracy": float(np.quantile(every["accuracy"], data.draw(st.floats(0, 1)))),
            "max_latency": float(np.quantile(every["latency"], data.draw(st.floats(0, 1))))}


def assert_close(a, b, rtol=1e-12):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=rtol, atol=0)
