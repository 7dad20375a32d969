"""Linux powercap (Intel and AMD RAPL): energy counters of the CPU packages, their cores, uncore and DRAM,
and the platform (psys), read from /sys/class/powercap/<zone>/energy_uj.

A zone is a directory with `name`, `energy_uj` (microjoules, counting up) and `max_energy_range_uj` (where
the counter wraps to 0). Sub-zones (intel-rapl:0:0, "core") lie inside their package (intel-rapl:0) and
are listed beside it, flat, under /sys/class/powercap.
"""
from __future__ import annotations

from pathlib import Path

from .reader import ReaderUnavailable, counter_delta

ROOT = Path("/sys/class/powercap")
# Since Linux 5.10 (the PLATYPUS power side channel, CVE-2020-8694) energy_uj is readable by root only.
FIX = ("run as root, or let users read it: sudo chmod a+r /sys/class/powercap/*/energy_uj "
       "(until the next boot)")


def _read_text(path: Path) -> str:
    return path.read_text()


class PowercapReader:
    """The energy of powercap zones chosen by name, summed.

    Parameters
    ----------
    domains : sequence of str, optional
        Zone names (``package-0``, ``core``, ``uncore``, ``dram``, ``psys``); a name several zones share
        (``core`` of each package) takes them all. Default: every ``package-N`` zone (the CPU sockets).
    root : path, optional
        Where the zones are (/sys/class/powercap); a test points it at a fake tree.
    read : callable, optional
        ``read(path) -> str``, Path.read_text by default.

    Raises
    ------
    ReaderUnavailable
        No powercap zones here, or a counter that cannot be read (one line naming the file and the fix).
    ValueError
        A domain name no zone has, or a zone chosen together with the zone it lies in.
    """

    name = "powercap"

    def __init__(self, *, domains=None, root=ROOT, read=None):
        self._root = Path(root)
        self._read = read or _read_text
        zones = self._zones()
        if domains is None:
            chosen = [z for z in zones if z["name"].startswith("package-")] or [z for z in zones if not z["parent"]]
        else:
            domains = [domains] if isinstance(domains, str) else list(domains)
            if not domains:
                raise ValueError("powercap domains: an empty list (leave it out for the CPU packages)")
            chosen = []
            for d in dict.fromkeys(domains):
                found = [z for z in zones if z["name"] == d]
                if not found:
                    names = ", ".join(dict.fromkeys(z["name"] for z in zones))
                    raise ValueError(f"powercap domain {d!r}: no zone under {self._root} has that name "
                                     f"(found: {names})")
                chosen += found
        ids = {z["id"] for z in chosen}
        for z in chosen:
            if z["parent"] in ids:
                parent = next(p for p in chosen if p["id"] == z["parent"])
                raise ValueError(f"powercap domains: {z['name']} ({z['id']}) lies inside {parent['name']} "
                                 f"({parent['id']}); summing both counts its energy twice")
        self._chosen = chosen
        self.domains = [f"{z['name']} ({z['id']})" for z in chosen]
        self._wrap = [self._number(z["dir"] / "max_energy_range_uj") for z in chosen]
        self.start()  # a counter that cannot be read is refused now, not at the first measurement

    def _zones(self) -> list:
        if not self._root.is_dir():
            raise ReaderUnavailable(f"powercap: {self._root} does not exist: this kernel exposes no RAPL energy "
                                    "counters (a virtual machine, a CPU without RAPL, or the intel_rapl modules "
                                    "not loaded)")
        zones = []
        for d in sorted(self._root.iterdir()):
            # intel-rapl-mmio:N repeats package N's counter through another interface: counting it would
            # count the package twice.
            if ":" not in d.name or d.name.split(":")[0].endswith("-mmio") or not (d / "energy_uj").exists():
                continue
            parts = d.name.split(":")
            zones.append({"id": d.name, "dir": d, "name": self._text(d / "name").strip(),
                          "parent": ":".join(parts[:-1]) if len(parts) > 2 else None})
        if not zones:
            raise ReaderUnavailable(f"powercap: no zone under {self._root} has an energy counter (energy_uj)")
        return zones

    def _text(self, path: Path) -> str:
        try:
            return self._read(path)
        except PermissionError:
            raise ReaderUnavailable(f"powercap: cannot read {path}: permission denied; {FIX}") from None
        except OSError as exc:
            raise ReaderUnavailable(f"powercap: cannot read {path}: {exc.strerror or exc}") from None

    def _number(self, path: Path) -> int:
        text = self._text(path).strip()
        try:
            value = int(text)
        except ValueError:
            raise ValueError(f"powercap: {path} holds {text[:40]!r}, not a whole number of microjoules") from None
        if value < 0:
            raise ValueError(f"powercap: {path} holds {value}, a negative counter")
        return value

    def describe(self) -> str:
        return (f"Linux powercap (RAPL) energy counters {', '.join(self.domains)}, summed: energy_uj read at "
                "start and stop, one wrap-around at max_energy_range_uj allowed")

    def start(self) -> tuple:
        return tuple(self._number(z["dir"] / "energy_uj") for z in self._chosen)

    def stop(self, token) -> float:
        end = self.start()
        return sum(counter_delta(a, b, w) for a, b, w in zip(token, end, self._wrap)) / 1e6

    def close(self) -> None:
        pass
