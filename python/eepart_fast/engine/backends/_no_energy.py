"""The GPU backends' refusal of the search with energy (docs/backends.md): their evaluate and sweep have the
energy column and bound, their pareto does not (it has no labels carrying energy), so an energy bound or goal
asked of it is an error naming the backends that have it, never rows without it."""
from __future__ import annotations

import numpy as np


def refuse_energy(backend: str, tables, energy=None, max_energy=np.inf, objectives=2) -> None:
    """NotImplementedError when energy is asked: energy tables given, carried by `tables` (a _core.Tables
    built with energy=), a max_energy bound, or an energy goal (objectives 3, the 3-objective frontier; 1,
    min_energy)."""
    if energy is None and max_energy == np.inf and objectives == 2 and not getattr(tables, "has_energy", False):
        return
    raise NotImplementedError(f"the {backend} backend's search has no energy yet (docs/backends.md): use "
                              "backend='cpu' or 'numpy' for pareto with energy, min_energy and the 3-objective "
                              "frontier")
