"""Backend choice, in one place: `auto` takes cuda, then cupy, then cpu; EEPART_FAST_BACKEND overrides auto."""
from __future__ import annotations

import importlib
import os

ORDER = ("cuda", "cupy", "cpu", "numpy")
ENV = "EEPART_FAST_BACKEND"
_cache: dict = {}


def _probe(name: str):
    if name not in _cache:
        try:
            module = importlib.import_module(f"._backend_{name}", __package__)
            ok, reason = module.available()
        except Exception as exc:  # an optional backend must never break the others
            module, ok, reason = None, False, f"failed to load: {exc}"
        _cache[name] = (module, bool(ok), str(reason))
    return _cache[name]


def backends() -> dict:
    """Each backend with whether it can run here and, if not, why (not built, no device, CuPy missing)."""
    return {name: {"available": _probe(name)[1], "reason": _probe(name)[2]} for name in ORDER}


def resolve(backend: str = "auto") -> str:
    """The backend name that `backend` stands for here; a requested backend that cannot run is an error."""
    if not isinstance(backend, str):
        raise TypeError(f"backend: expected a string, got {type(backend).__name__}")
    if backend == "auto":
        forced = os.environ.get(ENV, "").strip()
        if forced and forced != "auto":
            if forced not in ORDER:
                raise ValueError(f"{ENV} = {forced!r}: unknown backend; choose one of auto, {', '.join(ORDER)}")
            backend = forced
        else:
            return next(name for name in ORDER if _probe(name)[1])
    if backend not in ORDER:
        raise ValueError(f"backend = {backend!r}: unknown; choose one of auto, {', '.join(ORDER)}")
    module, ok, reason = _probe(backend)
    if not ok:
        raise ValueError(f"backend = {backend!r} is not available here: {reason}")
    return backend


def get_backend(backend: str = "auto"):
    """The module implementing evaluate / sweep / pareto on cost tables for `backend`."""
    return _probe(resolve(backend))[0]
