"""The GPU backends' refusal of energy (docs/backends.md): their kernels sum the latency only, so an energy
column or bound asked of them is an error naming the backends that have it, never rows without it."""
from __future__ import annotations

import numpy as np


def refuse_energy(backend: str, tables, energy=None, max_energy=np.inf) -> None:
    """NotImplementedError when energy is asked: energy tables given, carried by `tables` (a _core.Tables
    built with energy=), or a max_energy bound."""
    if energy is None and max_energy == np.inf and not getattr(tables, "has_energy", False):
        return
    raise NotImplementedError(f"the {backend} backend has no energy yet (docs/backends.md): use backend='cpu' or "
                              "'numpy' for energy= and max_energy")
