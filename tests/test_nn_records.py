"""The exit rule and entropy on hand-computed values (numpy only; runs without torch)."""
import numpy as np
import pytest

from eepart_fast.io.records import exit_rates, load_records, normalised_entropy, records_path, save_records


def test_normalised_entropy_bounds_and_value():
    uniform = np.full((1, 4), 0.25)
    onehot = np.array([[0.0, 1.0, 0.0, 0.0]])
    half = np.array([[0.5, 0.5, 0.0, 0.0]])
    got = normalised_entropy(np.concatenate([uniform, onehot, half]))
    # log 2 / log 4 = 0.5 for two equal classes out of four.
    np.testing.assert_allclose(got, [1.0, 0.0, 0.5], atol=1e-15)


def test_exit_rates_hand_computed():
    e = np.array([[0.2, 0.1, 0.9],
                  [0.5, 0.5, 0.5],
                  [0.0, 0.0, 0.0],
                  [0.9, 0.3, 0.0]])
    thresholds = [0.0, 0.2, 0.3, 0.5, 0.51]
    # t=0: nothing is strictly below 0, all four leave at the last branch.
    # t=0.2: sample 0 at branch 2 (0.1 < 0.2; 0.2 is not strictly below), sample 2 at branch 1,
    #        sample 3 at branch 3, sample 1 at the last branch.
    # t=0.3: sample 0 now at branch 1 (0.2 < 0.3); sample 3 back to the last (0.3 is not below 0.3).
    # t=0.5: sample 0 at branch 1, sample 2 at branch 1, sample 3 at branch 2, sample 1 at the last.
    # t=0.51: sample 1 now leaves at branch 1 too.
    want = np.array([[0, 0, 4], [1, 1, 2], [2, 0, 2], [2, 1, 1], [3, 1, 0]]) / 4
    np.testing.assert_array_equal(exit_rates(e, thresholds), want)


def test_exit_rates_rejects_empty():
    with pytest.raises(ValueError, match="norm_entropy"):
        exit_rates(np.zeros((0, 3)), [0.5])


def test_records_round_trip_without_pickle(tmp_path):
    arrays = dict(norm_entropy=np.random.default_rng(0).random((5, 3)), correct=np.ones((5, 3), bool),
                  prediction=np.zeros((5, 3), np.int16), label=np.arange(5), thresholds=np.linspace(0, 1, 4),
                  exit_rate=np.full((4, 3), 1 / 3), block_seconds=np.ones((2, 3)), branch_seconds=np.ones((2, 3)))
    path = records_path(tmp_path / "p.json")
    assert path.name == "p.samples.npz"
    save_records(path, **arrays)
    back = load_records(path)
    for k, v in arrays.items():
        np.testing.assert_array_equal(back[k], v)
    with pytest.raises(ValueError, match="block_seconds"):
        save_records(path, **{k: v for k, v in arrays.items() if k != "block_seconds"})
