"""The energy readers of `eepart profile --energy` on recorded data: a fake powercap tree, a fake pynvml
module replaying counter and power values, and a fake tegrastats printing recorded lines; the joules
against hand-computed sums and trapezoids, every refusal one line. No clock is real where a value is
checked: each test hands the reader its own."""
from __future__ import annotations

import os
import shutil
import stat
import sys
import threading
import types
from pathlib import Path

import pytest

from eepart_fast._extras import MissingExtra
from eepart_fast.nn import energy
from eepart_fast.nn.energy import ReaderUnavailable, detect, measure, reader
from eepart_fast.nn.energy.nvml import NvmlReader
from eepart_fast.nn.energy.powercap import PowercapReader
from eepart_fast.nn.energy.sampling import PowerSampler, integrate
from eepart_fast.nn.energy.tegrastats import TegrastatsReader, parse_line

BIG = 262143328850  # max_energy_range_uj of an Intel package (2^38 - 1 units of 61 uJ, as the kernel shows)


# ---- sampled power: the trapezoid rule ---------------------------------------------------------------------

def test_integrate_trapezoid_with_interpolated_and_held_edges():
    times, watts = [0.75, 1.25, 1.75, 2.25], [5.0, 6.0, 7.0, 5.0]
    # Window [1, 2]: power 5.5 at 1 (halfway from 5 to 6), 6 at 1.25, 7 at 1.75, 6 at 2 (halfway from 7 to 5).
    assert integrate(times, watts, 1.0, 2.0) == (5.5 + 6) / 2 * 0.25 + (6 + 7) / 2 * 0.5 + (7 + 6) / 2 * 0.25
    assert integrate(times, watts, 1.0, 2.0) == 6.3125
    # Before the first sample and after the last, the power is held: 5 W over [0, 0.75] and [2.25, 3].
    assert integrate(times, watts, 0.0, 0.75) == 3.75
    assert integrate(times, watts, 2.25, 3.0) == 3.75
    assert integrate(times, watts, 1.5, 1.5) == 0.0
    with pytest.raises(ValueError, match="no power sample"):
        integrate([], [], 0.0, 1.0)
    with pytest.raises(ValueError, match="ends"):
        integrate(times, watts, 2.0, 1.0)


class Waits:
    """A sampler's wait: `k` intervals pass at once (the thread samples k times), then it waits for stop."""

    def __init__(self, k):
        self.k, self.calls, self.done = k, 0, threading.Event()

    def __call__(self, event, seconds):
        if self.calls < self.k:
            self.calls += 1
            return False
        self.done.set()
        return event.wait(30)


def test_power_sampler_integrates_its_samples_and_stops_its_thread():
    watts = iter([100.0, 120.0, 80.0, 100.0])
    clock = iter([0.0, 0.5, 1.0, 2.0])
    waits = Waits(2)
    sampler = PowerSampler(lambda: next(watts), interval=0.05, clock=lambda: next(clock), wait=waits)
    assert waits.done.wait(10)
    assert sampler.stop() == (100 + 120) / 2 * 0.5 + (120 + 80) / 2 * 0.5 + (80 + 100) / 2 * 1.0 == 195.0
    assert not sampler._thread.is_alive()


def test_power_sampler_bounded_loop_and_errors():
    watts = iter([1.0, 2.0, 3.0])
    sampler = PowerSampler(lambda: next(watts), interval=0.05, clock=iter([0.0, 1.0, 2.0]).__next__,
                           max_samples=3, wait=Waits(5))
    sampler._thread.join(10)
    assert not sampler._thread.is_alive()  # stopped by itself after max_samples - 2 samples
    with pytest.raises(OverflowError, match="3 times"):
        sampler.stop()

    values = [5.0, OSError("sensor gone")]

    def read():
        value = values.pop(0)
        if isinstance(value, Exception):
            raise value
        return value
    failing = PowerSampler(read, interval=0.05, clock=iter([0.0, 1.0]).__next__, wait=Waits(1))
    with pytest.raises(OSError, match="sensor gone"):  # raised in the thread, handed to the caller
        failing.stop()
    for bad in (0, -1, 1.5):
        with pytest.raises(ValueError, match="interval"):
            PowerSampler(lambda: 1.0, interval=bad, clock=lambda: 0.0)


# ---- powercap: a fake sysfs tree ---------------------------------------------------------------------------

def zone(root: Path, zid: str, name: str, energy_uj: int, wrap: int = BIG) -> Path:
    d = root / zid
    d.mkdir(parents=True)
    (d / "name").write_text(name + "\n")
    (d / "energy_uj").write_text(f"{energy_uj}\n")
    (d / "max_energy_range_uj").write_text(f"{wrap}\n")
    (d / "enabled").write_text("1\n")
    return d


def set_energy(d: Path, energy_uj: int) -> None:
    (d / "energy_uj").write_text(f"{energy_uj}\n")


@pytest.fixture
def rapl(tmp_path):
    """Two sockets as /sys/class/powercap shows them: packages, their core and dram sub-zones, psys, the
    control-type folder (no counter) and an MMIO copy of package 0."""
    root = tmp_path / "powercap"
    (root / "intel-rapl").mkdir(parents=True)
    (root / "intel-rapl" / "enabled").write_text("1\n")
    z = {"p0": zone(root, "intel-rapl:0", "package-0", 1_000_000),
         "core0": zone(root, "intel-rapl:0:0", "core", 10_000),
         "dram0": zone(root, "intel-rapl:0:1", "dram", 7_000),
         "p1": zone(root, "intel-rapl:1", "package-1", 5_000_000),
         "core1": zone(root, "intel-rapl:1:0", "core", 20_000),
         "psys": zone(root, "intel-rapl:2", "psys", 0),
         "mmio": zone(root, "intel-rapl-mmio:0", "package-0", 123)}
    return root, z


def test_powercap_default_is_the_packages_summed(rapl):
    root, z = rapl
    r = PowercapReader(root=root)
    # the packages: not psys, not the MMIO copy
    assert r.name == "powercap" and r.domains == ["package-0 (intel-rapl:0)", "package-1 (intel-rapl:1)"]
    assert "intel-rapl:0" in r.describe() and "intel-rapl:1" in r.describe() and "mmio" not in r.describe()
    token = r.start()
    set_energy(z["p0"], 3_500_000)
    set_energy(z["p1"], 5_250_000)
    set_energy(z["mmio"], 99_999_999)  # never read
    assert r.stop(token) == 2.5 + 0.25 == 2.75
    assert isinstance(r, energy.Reader)


def test_powercap_wraps_at_max_energy_range(tmp_path):
    d = zone(tmp_path, "intel-rapl:0", "package-0", 999_000_000, wrap=1_000_000_000)
    r = PowercapReader(root=tmp_path)
    token = r.start()
    set_energy(d, 500_000)  # wrapped: 1_000_000 up to the range, 500_000 after it
    assert r.stop(token) == 1.5


def test_powercap_domains_by_name_take_every_zone_of_that_name(rapl):
    root, z = rapl
    r = PowercapReader(root=root, domains=["core", "dram"])
    assert r.domains == ["core (intel-rapl:0:0)", "core (intel-rapl:1:0)", "dram (intel-rapl:0:1)"]
    token = r.start()
    set_energy(z["core0"], 110_000)
    set_energy(z["dram0"], 57_000)
    set_energy(z["core1"], 270_000)
    assert r.stop(token) == (100_000 + 50_000 + 250_000) / 1e6 == 0.4
    assert PowercapReader(root=root, domains="psys").domains == ["psys (intel-rapl:2)"]


def test_powercap_refuses_unknown_and_overlapping_domains(rapl):
    root, _ = rapl
    with pytest.raises(ValueError, match=r"domain 'gpu': no zone .* \(found: package-0, core, dram, package-1, psys\)"):
        PowercapReader(root=root, domains=["gpu"])
    with pytest.raises(ValueError, match=r"core \(intel-rapl:0:0\) lies inside package-0 \(intel-rapl:0\)"):
        PowercapReader(root=root, domains=["package-0", "core"])
    with pytest.raises(ValueError, match="empty list"):
        PowercapReader(root=root, domains=[])


def test_powercap_missing_tree_or_counter(tmp_path):
    with pytest.raises(ReaderUnavailable, match=r"powercap: .*nowhere does not exist: .*no RAPL"):
        PowercapReader(root=tmp_path / "nowhere")
    (tmp_path / "intel-rapl").mkdir()
    with pytest.raises(ReaderUnavailable, match="no zone .* has an energy counter"):
        PowercapReader(root=tmp_path)
    d = zone(tmp_path, "intel-rapl:0", "package-0", 1)
    (d / "max_energy_range_uj").unlink()
    with pytest.raises(ReaderUnavailable, match=r"cannot read .*intel-rapl:0/max_energy_range_uj"):
        PowercapReader(root=tmp_path)
    (d / "max_energy_range_uj").write_text("a lot\n")
    with pytest.raises(ValueError, match=r"max_energy_range_uj holds 'a lot', not a whole number"):
        PowercapReader(root=tmp_path)


def test_powercap_permission_denied_names_the_file_and_the_fix(rapl):
    root, _ = rapl

    def root_only(path):  # energy_uj as kernels since 5.10 show it to a user: mode 0400, owner root
        if path.name == "energy_uj":
            raise PermissionError(13, "Permission denied", str(path))
        return path.read_text()
    with pytest.raises(ReaderUnavailable) as info:
        PowercapReader(root=root, read=root_only)
    msg = str(info.value)
    assert "\n" not in msg
    assert f"cannot read {root / 'intel-rapl:0' / 'energy_uj'}: permission denied" in msg
    assert "run as root" in msg and "chmod a+r /sys/class/powercap/*/energy_uj" in msg


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads a file of mode 000")
def test_powercap_permission_denied_on_a_real_file(tmp_path):
    d = zone(tmp_path, "intel-rapl:0", "package-0", 1)
    (d / "energy_uj").chmod(0)
    try:
        with pytest.raises(ReaderUnavailable, match="energy_uj: permission denied"):
            PowercapReader(root=tmp_path)
    finally:
        (d / "energy_uj").chmod(stat.S_IRUSR | stat.S_IWUSR)


# ---- NVML: a fake pynvml replaying recorded values --------------------------------------------------------

class FakeNvml(types.ModuleType):
    """pynvml as nvidia-ml-py has it, over per-GPU queues of values: `energy[i]` millijoules (None: no
    counter, raised as NVML does on GPUs before Volta) and `power[i]` milliwatts, read in turn."""

    class NVMLError(Exception):
        pass

    class NVMLError_NotSupported(NVMLError):
        pass

    def __init__(self, names, energy=None, power=None, init_error=None):
        super().__init__("pynvml")
        self.names, self.init_error = names, init_error
        self.energy = {i: iter(v) for i, v in (energy or {}).items() if v is not None}
        self.power = {i: iter(v) for i, v in (power or {}).items()}
        self.inits = self.shutdowns = 0

    def nvmlInit(self):
        if self.init_error:
            raise self.NVMLError(self.init_error)
        self.inits += 1

    def nvmlShutdown(self):
        self.shutdowns += 1

    def nvmlDeviceGetCount(self):
        return len(self.names)

    def nvmlDeviceGetHandleByIndex(self, i):
        return i

    def nvmlDeviceGetName(self, h):
        return self.names[h].encode()  # bytes, as older nvidia-ml-py returns

    def nvmlDeviceGetTotalEnergyConsumption(self, h):
        if h not in self.energy:
            raise self.NVMLError_NotSupported("Not Supported")
        return next(self.energy[h])

    def nvmlDeviceGetPowerUsage(self, h):
        if h not in self.power:
            raise self.NVMLError_NotSupported("Not Supported")
        return next(self.power[h])


def fake_nvml(monkeypatch, *args, **kwargs) -> FakeNvml:
    module = FakeNvml(*args, **kwargs)
    monkeypatch.setitem(sys.modules, "pynvml", module)
    return module


def test_nvml_energy_counters_summed_over_gpus(monkeypatch):
    # Each GPU's counter is read once to see that it exists, then at start and at stop.
    nv = fake_nvml(monkeypatch, ["NVIDIA H100 80GB HBM3", "NVIDIA A100-SXM4-40GB"],
                   energy={0: [9_000_000, 9_100_000, 9_112_345], 1: [40_000, 41_000, 41_250]})
    r = reader("nvml")
    assert r.name == "nvml" and r.domains == ["gpu0", "gpu1"]
    assert "GPU 0 (NVIDIA H100 80GB HBM3): energy counter" in r.describe()
    assert r.stop(r.start()) == (12_345 + 250) / 1e3 == 12.595
    r.close()
    r.close()
    assert nv.inits == nv.shutdowns == 1


def test_nvml_chosen_gpus_and_a_bad_index(monkeypatch):
    nv = fake_nvml(monkeypatch, ["a", "b"], energy={0: [], 1: [5, 1_005, 3_005]})
    r = NvmlReader(gpus=1)
    assert r.domains == ["gpu1"] and r.stop(r.start()) == 2.0
    with pytest.raises(ValueError, match=r"gpus has index 2; NVML sees 2 GPU\(s\), 0 to 1"):
        NvmlReader(gpus=[2])
    with pytest.raises(ValueError, match="empty list"):
        NvmlReader(gpus=[])
    assert nv.shutdowns == nv.inits - 1  # the refused reader shut NVML down; r still holds it


def test_nvml_samples_power_where_there_is_no_counter(monkeypatch):
    # GPU 0 (Pascal) has power only: read once to see that it exists, at start, twice by the thread, at stop.
    fake_nvml(monkeypatch, ["Tesla P100-PCIE-16GB", "NVIDIA V100"],
              energy={0: None, 1: [0, 1_000, 3_000]}, power={0: [30_000, 100_000, 120_000, 80_000, 100_000]})
    waits = Waits(2)
    r = NvmlReader(clock=iter([0.0, 0.5, 1.0, 2.0]).__next__, wait=waits)
    assert "GPU 0 (Tesla P100-PCIE-16GB): power sampled every 0.05 s" in r.describe()
    token = r.start()
    assert waits.done.wait(10)
    assert r.stop(token) == 195.0 + 2.0


def test_nvml_sampling_thread_stops_on_stop(monkeypatch):
    fake_nvml(monkeypatch, ["Tesla K80"], power={0: iter(lambda: 60_000, None)})  # 60 W, as often as read
    ticks = iter(range(10_000_000))
    r = NvmlReader(interval=0.01, clock=lambda: float(next(ticks)))
    counters, sampler = token = r.start()
    joules = r.stop(token)
    assert counters == () and not sampler._thread.is_alive()
    assert joules == 60.0 * (len(sampler.trace) - 1)  # one tick between samples, 60 W throughout


def test_nvml_unavailable(monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", None)
    with pytest.raises(MissingExtra, match=r"^the nvml energy reader needs nvidia-ml-py, which is not installed: "
                                           r"pip install 'eepart_fast\[energy\]'$"):
        reader("nvml")
    fake_nvml(monkeypatch, [], init_error="Driver Not Loaded")
    with pytest.raises(ReaderUnavailable, match=r"^nvml: NVML does not start \(Driver Not Loaded\): no NVIDIA driver"):
        reader("nvml")
    nv = fake_nvml(monkeypatch, [])
    with pytest.raises(ReaderUnavailable, match="NVML sees no GPU"):
        reader("nvml")
    assert nv.shutdowns == 1
    fake_nvml(monkeypatch, ["GeForce GT 710"])
    with pytest.raises(ReaderUnavailable, match=r"GPU 0 \(GeForce GT 710\) reports neither energy nor power"):
        reader("nvml")
    with pytest.raises(ValueError, match="interval"):
        reader("nvml", interval=2.0)


# ---- tegrastats: recorded lines through a fake program ----------------------------------------------------
# Lines as tegrastats prints them, one per board generation. The field format (`<rail> <current>/<average>`
# in mW; "mW" written out since Jetson Linux 35, i.e. JetPack 5, which also puts the date first) is the one
# NVIDIA's Jetson Linux Developer Guide documents under "tegrastats Utility"; rail names per board from the
# same guide's power-monitoring tables (Orin Nano / NX: VDD_IN, VDD_CPU_GPU_CV, VDD_SOC; Nano: POM_5V_*).
ORIN_NANO = ("12-06-2026 06:34:01 RAM 2263/7620MB (lfb 6x4MB) SWAP 0/3810MB (cached 0MB) "
             "CPU [2%@729,1%@729,0%@729,0%@729,off,off] EMC_FREQ 0%@2133 GR3D_FREQ 0%@[305] VIC_FREQ 729 "
             "APE 200 cpu@47.5C soc2@46.875C soc0@47.656C gpu@48.093C tj@48.093C soc1@46.562C "
             "VDD_IN {}mW/5083mW VDD_CPU_GPU_CV 1397mW/1397mW VDD_SOC 1437mW/1437mW")
XAVIER_NX = ("RAM 2448/7764MB (lfb 1x4MB) SWAP 0/3882MB (cached 0MB) CPU [1%@1190,0%@1190,0%@1190,0%@1190,off,off] "
             "EMC_FREQ 0% GR3D_FREQ 0% AO@40C GPU@39.5C PMIC@100C AUX@38.5C CPU@40.5C thermal@39.65C "
             "VDD_IN 4473/4473 VDD_CPU_GPU_CV 1019/1019 VDD_SOC 1387/1387")
NANO = ("RAM 1393/3956MB (lfb 5x4MB) SWAP 0/1978MB (cached 0MB) IRAM 0/252kB(lfb 252kB) "
        "CPU [5%@102,3%@102,0%@102,0%@102] EMC_FREQ 0%@1600 GR3D_FREQ 0%@76 APE 25 PLL@23.5C CPU@26C PMIC@100C "
        "GPU@25C AO@31.5C thermal@25.5C POM_5V_IN 3221/3221 POM_5V_GPU 0/0 POM_5V_CPU 461/461")
AGX_XAVIER = ("RAM 3069/31927MB (lfb 6880x4MB) SWAP 0/15963MB (cached 0MB) "
              "CPU [1%@1190,0%@1190,off,off,off,off,off,off] EMC_FREQ 0%@2133 GR3D_FREQ 0%@1377 APE 150 MTS fg 0% bg "
              "0% AO@39C GPU@38.5C Tdiode@41.5C PMIC@100C "
              "AUX@38C CPU@39.5C thermal@38.9C Tboard@39C GPU 0/0 CPU 311/311 SOC 1244/1244 CV 0/0 VDDRQ 155/155 "
              "SYS5V 1456/1456")


def test_parse_the_rails_of_each_board():
    assert parse_line(ORIN_NANO.format(5083)) == {"VDD_IN": 5083, "VDD_CPU_GPU_CV": 1397, "VDD_SOC": 1437}
    assert parse_line(XAVIER_NX) == {"VDD_IN": 4473, "VDD_CPU_GPU_CV": 1019, "VDD_SOC": 1387}
    assert parse_line(NANO) == {"POM_5V_IN": 3221, "POM_5V_GPU": 0, "POM_5V_CPU": 461}
    assert parse_line(AGX_XAVIER) == {"GPU": 0, "CPU": 311, "SOC": 1244, "CV": 0, "VDDRQ": 155, "SYS5V": 1456}
    assert parse_line("tegrastats: must be run as root") == {}


def fake_tegrastats(folder: Path, lines, linger: float = 30.0, name: str = "tegrastats") -> Path:
    """A program that records its arguments, prints `lines` and lingers (until killed)."""
    path = folder / name
    path.write_text(f"#!{sys.executable}\n"
                    "import sys, time\n"
                    f"open({str(folder / 'argv')!r}, 'w').write(' '.join(sys.argv[1:]))\n"
                    f"for line in {list(lines)!r}:\n"
                    "    print(line, flush=True)\n"
                    f"time.sleep({linger})\n")
    path.chmod(0o755)
    return path


class ThreadClock:
    """The main thread reads `main` in turn; each other thread (one per tegrastats run, stamping its lines)
    reads `lines` from the start, so stamps do not depend on how the threads interleave."""

    def __init__(self, main, lines):
        self._main, self._lines, self._each = iter(main), lines, {}
        self._lock = threading.Lock()

    def __call__(self):
        thread = threading.current_thread()
        if thread is threading.main_thread():
            return next(self._main)
        with self._lock:
            stamps = self._each.setdefault(thread, iter(self._lines))
        return next(stamps)


def test_tegrastats_integrates_the_input_rail(tmp_path):
    lines = [ORIN_NANO.format(mw) for mw in (5000, 6000, 7000, 5000)]
    exe = fake_tegrastats(tmp_path, lines)
    clock = ThreadClock(main=[1.0, 2.0], lines=[0.75, 1.25, 1.75, 2.25])
    r = TegrastatsReader(executable=str(exe), interval_ms=100, clock=clock)
    assert (tmp_path / "argv").read_text() == "--interval 100"
    assert r.name == "tegrastats" and r.domains == ["VDD_IN"] and "VDD_IN" in r.describe()
    token = r.start()
    joules = r.stop(token)
    assert token.returncode is not None  # killed, not left lingering
    # test_integrate_trapezoid_with_interpolated_and_held_edges's window, in watts
    assert joules == 6.3125


def test_tegrastats_chosen_rails_are_summed(tmp_path):
    exe = fake_tegrastats(tmp_path, [XAVIER_NX] * 3)
    clock = ThreadClock(main=[0.0, 2.0], lines=[-1.0, 1.0, 3.0])
    r = TegrastatsReader(executable=str(exe), rails=["VDD_CPU_GPU_CV", "VDD_SOC"], clock=clock)
    assert r.domains == ["VDD_CPU_GPU_CV", "VDD_SOC"]
    assert r.stop(r.start()) == 4.812  # (1019 + 1387) mW for 2 s


def test_tegrastats_default_rails_of_older_boards(tmp_path):
    for line, rails in ((NANO, ["POM_5V_IN"]), (AGX_XAVIER, ["GPU", "CPU", "SOC", "CV", "VDDRQ", "SYS5V"])):
        exe = fake_tegrastats(tmp_path, [line] * 2, linger=0.0)
        clock = ThreadClock(main=[0.0, 1.0], lines=[0.0, 1.0])
        r = TegrastatsReader(executable=str(exe), clock=clock)
        assert r.domains == rails
        assert r.stop(r.start()) == pytest.approx(sum(parse_line(line)[k] for k in rails) / 1e3, rel=1e-12)


def test_tegrastats_unavailable_or_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(ReaderUnavailable, match=r"^tegrastats: no program 'tegrastats' on the PATH .*not a Jetson\)$"):
        TegrastatsReader()
    exe = fake_tegrastats(tmp_path, ["Error: must be run as root"], linger=0.0)
    with pytest.raises(ReaderUnavailable, match=r"printed no power rail within 5 s \(it printed 'Error: must be run"):
        TegrastatsReader(executable=str(exe))
    exe = fake_tegrastats(tmp_path, [XAVIER_NX])
    with pytest.raises(ValueError, match=r"rail 'VDD_GPU': this board reports VDD_IN, VDD_CPU_GPU_CV, VDD_SOC"):
        TegrastatsReader(executable=str(exe), rails=["VDD_GPU"])
    with pytest.raises(ValueError, match="empty list"):
        TegrastatsReader(executable=str(exe), rails=[])
    assert TegrastatsReader(executable=str(exe), rails="VDD_SOC").domains == ["VDD_SOC"]
    for bad in (0, 1001, 0.5):
        with pytest.raises(ValueError, match="interval_ms"):
            TegrastatsReader(executable=str(exe), interval_ms=bad)


# ---- choosing a reader -------------------------------------------------------------------------------------

@pytest.mark.skipif(Path("/sys/class/powercap").is_dir() or bool(shutil.which("tegrastats"))
                    or bool(shutil.which("nvidia-smi")), reason="this machine may have an energy reader")
def test_detect_on_a_machine_without_any_says_why_in_one_line():
    with pytest.raises(ValueError) as info:
        detect()
    msg = str(info.value)
    assert "\n" not in msg and msg.startswith("no energy reader works on this machine: powercap: ")
    assert "/sys/class/powercap does not exist" in msg
    assert "; nvml: NVML does not start" in msg or "; the nvml energy reader needs nvidia-ml-py" in msg
    assert "; tegrastats: no program 'tegrastats' on the PATH" in msg
    with pytest.raises(ValueError, match="no energy reader works"):
        reader("auto")


def test_detect_takes_the_first_that_works(monkeypatch):
    class Absent:
        def __init__(self):
            raise ReaderUnavailable("absent: not here")

    class NoModule:
        def __init__(self):
            raise MissingExtra("x", "pynvml")

    class Works:
        name = "works"
    monkeypatch.setattr(energy, "READERS", {"a": Absent, "b": NoModule, "c": Works, "d": Absent})
    assert isinstance(detect(), Works)
    monkeypatch.setattr(energy, "READERS", {"a": Absent, "b": NoModule})
    with pytest.raises(ReaderUnavailable, match=r"works on this machine: absent: not here; x needs nvidia-ml-py"):
        detect()


def test_reader_by_name(rapl):
    root, _ = rapl
    assert reader("none") is None
    assert reader("powercap", root=root).domains == ["package-0 (intel-rapl:0)", "package-1 (intel-rapl:1)"]
    with pytest.raises(ValueError, match=r"^energy reader 'rapl': expected one of auto, powercap, nvml, "
                                         r"tegrastats, none$"):
        reader("rapl")
    with pytest.raises(ValueError, match="'auto' takes no options"):
        reader("auto", root=root)


# ---- measuring a stretch: Span and idle --------------------------------------------------------------------

class RecordedReader:
    """A reader replaying recorded joules, logging its calls into `events`."""

    name, domains = "recorded", ["package-0"]

    def __init__(self, joules, events):
        self._joules, self.events = iter(joules), events

    def describe(self):
        return "recorded joules"

    def start(self):
        self.events.append("start")
        return len(self.events)

    def stop(self, token):
        self.events.append("stop")
        return next(self._joules)

    def close(self):
        pass


def test_span_and_idle_with_their_own_clock():
    events = []
    sleeps = []
    rest = measure.idle(RecordedReader([3.0], events), 1.5, sleep=sleeps.append, clock=iter([10.0, 11.5]).__next__)
    assert sleeps == [1.5] and events == ["start", "stop"]
    assert (rest.joules, rest.seconds, rest.watts) == (3.0, 1.5, 2.0)
    with pytest.raises(ValueError, match="idle seconds"):
        measure.idle(RecordedReader([], []), 0.0)
    span = measure.Span(RecordedReader([1.0], events))
    with pytest.raises(RuntimeError, match="before start"):
        span.stop()
    span.start()
    span.abandon()  # work cut short: the reader's measurement is ended
    assert events[-2:] == ["start", "stop"]
    span.abandon()
    assert events[-1] == "stop" and len(events) == 4


# ---- the profiler and the command line ---------------------------------------------------------------------

class LoggedSplit:
    def __init__(self, split, events):
        self.split, self.events = split, events

    def __len__(self):
        return len(self.split)

    def batch(self, index):
        self.events.append("batch")
        return self.split.batch(index)


def test_profile_records_the_energy_of_the_timed_samples(tmp_path):
    pytest.importorskip("torch", reason="needs the train extra: pip install 'eepart_fast[train]'")
    import dataclasses

    from eepart_fast.model.profile import Profile
    from eepart_fast.nn.profiling import make_profile, profile_net

    from _tiny_net import tiny_net_and_data

    events = []
    net, data = tiny_net_and_data()
    data = dataclasses.replace(data, profile=LoggedSplit(data.profile, events))
    fields, meta, _ = profile_net(net, {}, data, timing_samples=3, warmup=2, n_thresholds=3, progress=False,
                                  energy=RecordedReader([2.0, 9.0], events), idle_seconds=0.01)
    # idle first, then the meter runs over exactly the timed samples, not the warm-up, nor what follows
    assert events[:9] == ["start", "stop", "batch", "batch", "start", "batch", "batch", "batch", "stop"]
    assert "start" not in events[9:]
    e = meta["energy"]
    assert (e["reader"], e["domains"], e["how"], e["idle_joules"], e["joules"]) == (
        "recorded", ["package-0"], "recorded joules", 2.0, 9.0)
    assert e["active_power_w"] == 9.0 / e["seconds"] and e["idle_power_w"] == 2.0 / e["idle_seconds"]
    profile = make_profile(fields, name="tiny", meta=meta)
    profile.save(tmp_path / "p.json")
    assert Profile.load(tmp_path / "p.json").meta["energy"] == e

    fields, meta, _ = profile_net(net, {}, data, timing_samples=2, warmup=0, n_thresholds=3, progress=False)
    assert "energy" not in meta


def test_eepart_profile_energy_refused_before_any_work(tmp_path, capsys, monkeypatch):
    pytest.importorskip("torch", reason="needs the train extra: pip install 'eepart_fast[train]'")
    from eepart_fast.cli import main
    run = tmp_path / "run"
    run.mkdir()
    argv = ["profile", "--run-dir", str(run), "--out", str(tmp_path / "p.json")]
    monkeypatch.setitem(sys.modules, "pynvml", None)
    assert main([*argv, "--energy", "nvml"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == ("eepart: error: eepart profile --energy nvml needs nvidia-ml-py, which is not installed: "
                   "pip install 'eepart_fast[energy]'")
    monkeypatch.setattr(energy, "READERS", {"powercap": lambda: PowercapReader(root=tmp_path / "no-powercap")})
    assert main([*argv, "--energy", "auto"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no energy reader works on this machine: powercap: " in err[0]
    assert not (tmp_path / "p.json").exists() and list(run.iterdir()) == []
    assert main([*argv, "--energy", "rapl"]) == 2
    assert "invalid choice: 'rapl'" in capsys.readouterr().err


def test_eepart_profile_energy_end_to_end(tmp_path, capsys, monkeypatch):
    torch = pytest.importorskip("torch", reason="needs the train extra: pip install 'eepart_fast[train]'")
    from eepart_fast.cli import nn as cli
    from eepart_fast.model.profile import Profile
    from eepart_fast.nn.data import DatasetMissing, load_fashion_mnist
    try:
        load_fashion_mnist(train_limit=1, profile_limit=1, test_limit=1)
    except DatasetMissing as exc:
        pytest.skip(f"Fashion-MNIST missing (apt-get install -y dataset-fashion-mnist): {exc}")
    monkeypatch.setattr(torch, "set_num_threads", lambda n: None)  # leave the process's torch as it was
    zone(tmp_path / "powercap", "intel-rapl:0", "package-0", 0)
    reads = iter(range(0, 10**12, 250_000))

    def counter(path):  # the package counter goes up 0.25 J at each read
        return f"{next(reads)}\n" if path.name == "energy_uj" else path.read_text()
    monkeypatch.setattr(energy, "READERS", {"powercap": lambda: PowercapReader(root=tmp_path / "powercap",
                                                                               read=counter)})
    tiny = ["--backbone", "resnet8", "--limit", "160", "--epochs", "1", "--max-batches", "1", "--batch-size", "32",
            "--separate", "none", "--no-progress"]
    out = tmp_path / "p.json"
    assert cli.main(["profile", "--train", *tiny, "--run-dir", str(tmp_path / "run"), "--out", str(out),
                     "--timing-samples", "3", "--warmup", "1", "--energy", "auto"]) == 0
    e = Profile.load(out).meta["energy"]
    assert e["reader"] == "powercap" and e["domains"] == ["package-0 (intel-rapl:0)"]
    assert e["idle_joules"] == e["joules"] == 0.25  # one read at start, one at stop, for each window
    assert "--energy auto" in Profile.load(out).meta["command"]
    printed = capsys.readouterr().out
    assert f"energy (powercap: package-0 (intel-rapl:0)): {e['active_power_w']:.3f} W over the timed" in printed
