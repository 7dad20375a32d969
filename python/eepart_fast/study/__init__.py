"""Studies: many scenarios (profiles x topologies x parameter grids or traces x sources x destinations x
bounds) planned on Dask, the results a Parquet dataset. See docs/studies.md.

    import eepart_fast as ef
    ef.study("study.yaml", "results/")            # a LocalCluster here; client=... for a cluster
    df = pandas.read_parquet("results/")

`eepart_fast.study` is this package and is callable: `eepart_fast.study(...)` is `run_study(...)`.
"""
import sys
import types

from .._extras import require

require("pyarrow", "dask", "distributed", what="eepart_fast.study")

from .lock import StudyLocked  # noqa: E402
from .runner import StudyFailed, StudyResult, read_study, run_study  # noqa: E402
from .spec import StudySpec, apply_params, load_study, scenario  # noqa: E402

__all__ = ["StudyFailed", "StudyLocked", "StudyResult", "StudySpec", "apply_params", "load_study", "read_study", "run_study",
           "scenario"]


class _CallableModule(types.ModuleType):
    def __call__(self, study, out, **options) -> StudyResult:
        """Runs (or resumes) a study into the folder `out`: see run_study."""
        return run_study(study, out, **options)


sys.modules[__name__].__class__ = _CallableModule
