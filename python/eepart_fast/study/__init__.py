"""Studies: many scenarios (profiles x topologies x parameter grids or traces x sources x destinations x
bounds) planned on Dask, the results a Parquet dataset. See README "Studies".

    import eepart_fast as ef
    ef.study("study.yaml", "results/")            # a LocalCluster here; client=... for a cluster
    df = pandas.read_parquet("results/")
"""
from .runner import StudyFailed, StudyResult, read_study, run_study
from .spec import StudySpec, apply_params, load_study, scenario

study = run_study

__all__ = [
           "StudyFailed",
           "StudyResult",
           "StudySpec",
           "apply_params",
           "load_study",
           "read_study",
           "run_study",
           "scenario",
           "study",
]
