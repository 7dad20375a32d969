"""NVIDIA Jetson boards' power rails, read from the `tegrastats` utility of Jetson Linux.

tegrastats prints one line every --interval milliseconds; each power rail appears as
``<rail> <current>/<average>`` in milliwatts (``VDD_IN 5083mW/5083mW`` since Jetson Linux 35, bare
numbers before it: ``POM_5V_IN 3221/3221``), beside RAM, CPU and temperature fields. The reader runs it
for each measurement, stamps each line as it arrives, and integrates the chosen rails' current power over
the measured window by the trapezoid rule.
"""
from __future__ import annotations

import re
import shutil
import subprocess
import threading
import time

from .reader import ReaderUnavailable
from .sampling import MAX_SAMPLES, PowerTrace

# A rail: a name, one space, two whole numbers of milliwatts with an optional "mW" each, and nothing glued
# after (which keeps "RAM 2263/30536MB" and "SWAP 0/3882MB" out).
RAIL = re.compile(r"\b([A-Za-z][A-Za-z0-9_]*) (\d+)(?:mW)?/(\d+)(?:mW)?(?=\s|$)")
# The whole board's input where the board reports it: Orin Nano/NX, Xavier NX, TX2 (VDD_IN); Nano (POM_5V_IN).
INPUT_RAILS = ("VDD_IN", "POM_5V_IN")


def parse_line(line: str) -> dict:
    """{rail: current milliwatts} of one tegrastats line ({} where it has no rail).

    Examples
    --------
    >>> parse_line("RAM 2448/7764MB (lfb 1x4MB) CPU [1%@1190] VDD_IN 5083mW/4990mW VDD_SOC 1437mW/1437mW")
    {'VDD_IN': 5083, 'VDD_SOC': 1437}
    """
    return {m.group(1): int(m.group(2)) for m in RAIL.finditer(line)}


class _Session:
    """One tegrastats process and the thread that stamps its lines; the process dies in close()."""

    def __init__(self, argv, clock, rails):
        self.trace = PowerTrace()
        self.first_rails: dict = {}
        self.last_other = ""
        self._clock, self._rails = clock, rails
        try:
            self._proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                          stderr=subprocess.STDOUT, text=True, bufsize=1)
        except OSError as exc:
            raise ReaderUnavailable(f"tegrastats: cannot run {argv[0]}: {exc.strerror or exc}") from None
        self._thread = threading.Thread(target=self._run, name="eepart-tegrastats", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            for _ in range(MAX_SAMPLES):
                line = self._proc.stdout.readline()
                if not line:
                    return
                t = self._clock()
                found = parse_line(line)
                if not found:
                    self.last_other = line.strip()[:120]
                    continue
                if not self.first_rails:
                    self.first_rails = found
                rails = self._rails or found
                if all(r in found for r in rails):
                    self.trace.add(t, sum(found[r] for r in rails) / 1e3)
        finally:
            self.trace.end()

    @property
    def returncode(self):
        return self._proc.poll()

    def close(self) -> None:
        self._proc.terminate()
        try:
            self._proc.wait(timeout=1.0)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait(timeout=5.0)
        self._thread.join(timeout=5.0)
        self._proc.stdout.close()


class TegrastatsReader:
    """The energy of Jetson power rails, from `tegrastats --interval MS`.

    Parameters
    ----------
    rails : sequence of str, optional
        Rails to sum (``VDD_CPU_GPU_CV``, ``VDD_SOC``, ...). Default: the board's input rail (VDD_IN or
        POM_5V_IN) where it reports one, else every rail it reports.
    interval_ms : int
        tegrastats' --interval, milliseconds between lines.
    executable : str
        The program (a name on the PATH or a path); a test points it at a fake.
    clock : callable
        Seconds, to stamp lines and measurements (time.perf_counter).
    timeout : float
        Seconds to wait for tegrastats' first line.

    Raises
    ------
    ReaderUnavailable
        No such program (not a Jetson), or it prints no power rail.
    ValueError
        A rail this board does not report.
    """

    name = "tegrastats"

    def __init__(self, *, rails=None, interval_ms: int = 100, executable: str = "tegrastats", clock=time.perf_counter,
                 timeout: float = 5.0):
        if not (isinstance(interval_ms, int) and 1 <= interval_ms <= 1000):
            raise ValueError(f"interval_ms: expected a whole number of milliseconds from 1 to 1000, "
                             f"got {interval_ms!r}")
        path = shutil.which(executable)
        if path is None:
            raise ReaderUnavailable(f"tegrastats: no program {executable!r} on the PATH (it comes with NVIDIA Jetson "
                                    "Linux: this is not a Jetson)")
        self._argv = [path, "--interval", str(interval_ms)]
        self._clock, self._timeout, self._interval = clock, float(timeout), interval_ms / 1e3
        probe = self._open(None)
        probe.close()
        seen = probe.first_rails
        if rails is None:
            rails = [r for r in INPUT_RAILS if r in seen][:1] or list(seen)
        else:
            rails = list(dict.fromkeys([rails] if isinstance(rails, str) else rails))
            if not rails:
                raise ValueError("tegrastats rails: an empty list (leave it out for the board's input)")
            for r in rails:
                if r not in seen:
                    raise ValueError(f"tegrastats rail {r!r}: this board reports {', '.join(seen)}")
        self.domains = rails

    def _open(self, rails) -> _Session:
        session = _Session(self._argv, self._clock, rails)
        if not session.trace.wait(count=1, timeout=self._timeout):
            session.close()
            said = f" (it printed {session.last_other!r})" if session.last_other else ""
            raise ReaderUnavailable(f"tegrastats: {self._argv[0]} printed no power rail within {self._timeout:g} s"
                                    f"{said}")
        return session

    def describe(self) -> str:
        return (f"tegrastats rails {' + '.join(self.domains)} (current mW of each line, every "
                f"{self._interval * 1e3:g} ms), integrated by the trapezoid rule (linear between lines, held "
                "before the first and after the last)")

    def start(self) -> _Session:
        session = self._open(self.domains)
        session.t0 = self._clock()
        return session

    def stop(self, token: _Session) -> float:
        t1 = self._clock()
        try:
            token.trace.wait(after=t1, timeout=2 * self._interval + 2.0)
        finally:
            token.close()
        return token.trace.energy(token.t0, t1)

    def close(self) -> None:
        pass
