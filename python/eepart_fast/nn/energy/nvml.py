"""NVIDIA GPUs through NVML (the nvidia-ml-py package, module pynvml): each GPU's total energy counter
(nvmlDeviceGetTotalEnergyConsumption, millijoules since the driver loaded; Volta and newer), or, where a
GPU has no such counter, its power (nvmlDeviceGetPowerUsage, milliwatts) sampled in a background thread
and integrated by the trapezoid rule."""
from __future__ import annotations

import time

from ..._extras import MissingExtra
from .reader import ReaderUnavailable, counter_delta
from .sampling import MAX_SAMPLES, PowerSampler, check_interval

COUNTER_WRAP = 2 ** 64  # an unsigned 64-bit count of millijoules: it does not wrap in practice


def _import_pynvml():
    try:
        import pynvml
    except ImportError:
        raise MissingExtra("the nvml energy reader", "pynvml") from None
    return pynvml


class NvmlReader:
    """The energy of NVIDIA GPUs, summed.

    Parameters
    ----------
    gpus : sequence of int, optional
        NVML device indices (default: every GPU NVML sees).
    interval : float
        Seconds between power samples of a GPU without an energy counter (at most 1: the sampling thread
        stops within it).
    clock : callable
        Seconds, for the sampled power (time.perf_counter).

    Raises
    ------
    MissingExtra
        nvidia-ml-py is not installed (one line naming the `energy` extra).
    ReaderUnavailable
        NVML does not start (no NVIDIA driver), sees no GPU, or a GPU reports neither energy nor power.
    ValueError
        A GPU index NVML does not have.
    """

    name = "nvml"

    def __init__(self, *, gpus=None, interval: float = 0.05, clock=time.perf_counter, max_samples: int = MAX_SAMPLES,
                 wait=None):
        check_interval(interval)
        nv = self._nv = _import_pynvml()
        try:
            nv.nvmlInit()
        except nv.NVMLError as exc:
            raise ReaderUnavailable(f"nvml: NVML does not start ({exc}): no NVIDIA driver on this machine") from None
        self._live = True
        self._sampler_options = {"interval": interval, "clock": clock, "max_samples": max_samples,
                                 "wait": wait}
        try:
            self._open(gpus)
        except BaseException:
            self.close()
            raise

    def _open(self, gpus) -> None:
        nv = self._nv
        count = nv.nvmlDeviceGetCount()
        if count == 0:
            raise ReaderUnavailable("nvml: NVML sees no GPU")
        if isinstance(gpus, int):
            gpus = [gpus]
        indices = list(range(count)) if gpus is None else [int(i) for i in dict.fromkeys(gpus)]
        if not indices:
            raise ValueError("nvml: gpus is an empty list (leave it out for every GPU)")
        for i in indices:
            if not 0 <= i < count:
                raise ValueError(f"nvml: gpus has index {i}; NVML sees {count} GPU(s), 0 to {count - 1}")
        self._counted, self._sampled, self._labels = [], [], []
        for i in indices:
            h = nv.nvmlDeviceGetHandleByIndex(i)
            name = nv.nvmlDeviceGetName(h)
            name = name.decode() if isinstance(name, bytes) else str(name)
            try:
                nv.nvmlDeviceGetTotalEnergyConsumption(h)
                self._counted.append(h)
                how = "energy counter (nvmlDeviceGetTotalEnergyConsumption, mJ, read at start and stop)"
            except nv.NVMLError:
                try:
                    nv.nvmlDeviceGetPowerUsage(h)
                except nv.NVMLError as exc:
                    raise ReaderUnavailable(f"nvml: GPU {i} ({name}) reports neither energy nor power "
                                            f"({exc})") from None
                self._sampled.append(h)
                how = (f"power sampled every {self._sampler_options['interval']:g} s (nvmlDeviceGetPowerUsage, "
                       "mW, integrated by the trapezoid rule)")
            self._labels.append(f"GPU {i} ({name}): {how}")
        self.domains = [f"gpu{i}" for i in indices]

    def _sampled_watts(self) -> float:
        return sum(self._nv.nvmlDeviceGetPowerUsage(h) for h in self._sampled) / 1e3

    def describe(self) -> str:
        return "NVML, summed over " + "; ".join(self._labels)

    def start(self):
        counters = tuple(self._nv.nvmlDeviceGetTotalEnergyConsumption(h) for h in self._counted)
        sampler = PowerSampler(self._sampled_watts, **self._sampler_options) if self._sampled else None
        return counters, sampler

    def stop(self, token) -> float:
        counters, sampler = token
        joules = sampler.stop() if sampler is not None else 0.0
        end = [self._nv.nvmlDeviceGetTotalEnergyConsumption(h) for h in self._counted]
        return joules + sum(counter_delta(a, b, COUNTER_WRAP) for a, b in zip(counters, end)) / 1e3

    def close(self) -> None:
        if self._live:  # NVML counts its inits: one shutdown for ours
            self._live = False
            try:
                self._nv.nvmlShutdown()
            except self._nv.NVMLError:
                pass
