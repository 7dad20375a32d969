"""Studies: many scenarios (profiles x topologies x parameter grids or traces x sources x destinations x
bounds) planned on Dask, the results a Parquet dataset. See docs/studies.md.

    from eepart_fast.study import run_study, read_study
    run_study("study.yaml", "results/")            # a LocalCluster here; client=... for a cluster
    df = read_study("results/").to_pandas()

Public functions take their data first (a study, a result folder, a spec) and the rest by keyword only.
The package needs the `study` extra (pyarrow, dask[distributed]): importing it without them raises
MissingExtra naming the extra.
"""
from .. import _extras

_extras.require("pyarrow", "dask", "distributed", what="eepart_fast.study")

from . import lock, parts, runner, schema, spec, tasks  # noqa: E402
from .lock import StudyLocked  # noqa: E402
from .runner import StudyFailed, StudyResult, read_study, run_study  # noqa: E402
from .spec import StudySpec, apply_params, load_study, scenario  # noqa: E402

__all__ = ["StudyFailed", "StudyLocked", "StudyResult", "StudySpec", "apply_params", "load_study", "read_study",
           "run_study", "scenario",
           # the modules
           "lock", "parts", "runner", "schema", "spec", "tasks"]
