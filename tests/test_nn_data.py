"""idx reading, the Fashion-MNIST splits, and the missing-dataset message."""
import gzip

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="needs the train extra: pip install 'eepart_fast[train]'")
from eepart_fast.nn import data as D  # noqa: E402

pytestmark = pytest.mark.train


def _idx(arr: np.ndarray, code: int) -> bytes:
    header = bytes([0, 0, code, arr.ndim]) + b"".join(int(s).to_bytes(4, "big") for s in arr.shape)
    return header + arr.tobytes()


@pytest.mark.parametrize("gz", [False, True])
def test_read_idx(tmp_path, gz):
    a = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    raw = _idx(a, 0x08)
    path = tmp_path / ("a.idx.gz" if gz else "a.idx")
    path.write_bytes(gzip.compress(raw) if gz else raw)
    np.testing.assert_array_equal(D.read_idx(path), a)


def test_read_idx_big_endian_int32(tmp_path):
    a = np.array([1, -2, 70000], dtype=">i4")
    (tmp_path / "b").write_bytes(_idx(a, 0x0C))
    np.testing.assert_array_equal(D.read_idx(tmp_path / "b"), [1, -2, 70000])


def test_read_idx_rejects_bad_files(tmp_path):
    (tmp_path / "bad").write_bytes(b"\x01\x02\x08\x01" + b"\x00" * 8)
    with pytest.raises(ValueError, match="magic"):
        D.read_idx(tmp_path / "bad")
    a = np.zeros(5, np.uint8)
    (tmp_path / "short").write_bytes(_idx(a, 0x08)[:-2])
    with pytest.raises(ValueError, match="shape"):
        D.read_idx(tmp_path / "short")


def test_missing_fashion_mnist_says_how_to_install(tmp_path):
    with pytest.raises(D.DatasetMissing, match="apt-get install -y dataset-fashion-mnist"):
        D.load_fashion_mnist(tmp_path)


def test_missing_torchvision_dataset_is_clear(tmp_path):
    pytest.importorskip("torchvision", reason="needs the train extra: pip install 'eepart_fast[train]'")
    with pytest.raises(D.DatasetMissing, match="Nothing is downloaded"):
        D.load_torchvision("CIFAR10", tmp_path)


def test_fashion_mnist_in_a_folder_and_disjoint_splits(tmp_path):
    rng = np.random.default_rng(0)
    imgs = rng.integers(0, 256, (30, 28, 28), dtype=np.uint8)
    labels = (np.arange(30) % 10).astype(np.uint8)
    for stem, arr, code in [("train-images-idx3-ubyte", imgs, 8), ("train-labels-idx1-ubyte", labels, 8),
                            ("t10k-images-idx3-ubyte", imgs[:7], 8), ("t10k-labels-idx1-ubyte", labels[:7], 8)]:
        (tmp_path / (stem + ".gz")).write_bytes(gzip.compress(_idx(arr, code)))
    d = D.load_fashion_mnist(tmp_path, profile_size=10)
    assert (len(d.train), len(d.profile), len(d.test)) == (20, 10, 7)
    assert d.input_shape == (1, 28, 28) and d.classes == 10
    # Profiling images are the last 10 of the training file, untouched by training.
    np.testing.assert_array_equal(d.profile.images[:, 0].numpy(), imgs[20:])
    np.testing.assert_array_equal(d.train.images[:, 0].numpy(), imgs[:20])
    assert d.info["normalise_mean"][0] == pytest.approx(imgs[:20].mean() / 255)
    x, y = d.train.batch(torch.tensor([0, 3]))
    assert x.dtype == torch.float32 and x.shape == (2, 1, 28, 28)
    np.testing.assert_allclose(x[1, 0].numpy(), (imgs[3] / 255 - d.train.mean[0]) / d.train.std[0], rtol=1e-5,
                               atol=1e-6)
    assert y.tolist() == [0, 3]
    with pytest.raises(ValueError, match="profile_size"):
        D.load_fashion_mnist(tmp_path, profile_size=30)


def test_batches_resume_skips_exactly():
    split = D.ArraySplit(torch.arange(10, dtype=torch.uint8).view(10, 1, 1, 1), torch.arange(10), (0.0,), (1 / 255,))
    full = [y.tolist() for _, y in D.batches(split, 3, shuffle=True, seed=5)]
    rest = [y.tolist() for _, y in D.batches(split, 3, shuffle=True, seed=5, start=2)]
    assert rest == full[2:]
    assert sorted(sum(full, [])) == list(range(10))


def _fake_raw_fmnist(folder, n_train=12, n_test=5):
    rng = np.random.default_rng(1)
    folder.mkdir(parents=True)
    imgs = rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8)
    labels = (np.arange(n_train) % 10).astype(np.uint8)
    for stem, arr in [("train-images-idx3-ubyte", imgs), ("train-labels-idx1-ubyte", labels),
                      ("t10k-images-idx3-ubyte", imgs[:n_test]), ("t10k-labels-idx1-ubyte", labels[:n_test])]:
        (folder / stem).write_bytes(_idx(arr, 8))
    return imgs


def test_torchvision_dataset_on_disk(tmp_path):
    pytest.importorskip("torchvision", reason="needs the train extra: pip install 'eepart_fast[train]'")
    imgs = _fake_raw_fmnist(tmp_path / "FashionMNIST" / "raw")
    d = D.load_data("torchvision:FashionMNIST", tmp_path, profile_size=4)
    assert (len(d.train), len(d.profile), len(d.test)) == (8, 4, 5)
    assert d.input_shape == (1, 28, 28) and d.classes == 10
    x, y = d.profile.batch(torch.tensor([1]))
    # ToTensor then Normalize(0.5, 0.5): (v / 255 - 0.5) / 0.5, on training image 9 (the 2nd held out).
    np.testing.assert_allclose(x[0, 0].numpy(), (imgs[9] / 255 - 0.5) / 0.5, atol=1e-6)
    assert y.tolist() == [9]
    small = D.load_data("torchvision:FashionMNIST", tmp_path, profile_size=4, size=(16, 16), limit=3)
    assert small.input_shape == (1, 16, 16) and len(small.train) == 3 and len(small.test) == 3


def test_image_folder(tmp_path):
    pytest.importorskip("torchvision", reason="needs the train extra: pip install 'eepart_fast[train]'")
    from PIL import Image
    rng = np.random.default_rng(2)
    for part, n in (("train", 6), ("test", 2)):
        for cls in ("cat", "dog"):
            (tmp_path / part / cls).mkdir(parents=True)
            for k in range(n):
                pixels = rng.integers(0, 256, (10, 12, 3), dtype=np.uint8)
                Image.fromarray(pixels).save(tmp_path / part / cls / f"{k}.png")
    d = D.load_data("folder", tmp_path, profile_size=4)
    assert (len(d.train), len(d.profile), len(d.test)) == (8, 4, 4)
    assert d.input_shape == (3, 10, 12) and d.classes == 2
    x, y = d.train.batch(torch.tensor([0, 1, 2]))
    assert x.shape == (3, 3, 10, 12) and set(y.tolist()) <= {0, 1}
    with pytest.raises(D.DatasetMissing, match="train/<class>"):
        D.load_data("folder", tmp_path / "test")


def test_unknown_dataset_spec():
    with pytest.raises(ValueError, match="unknown dataset 'cifar'"):
        D.load_data("cifar")
    with pytest.raises(ValueError, match="--data-dir"):
        D.load_data("torchvision:CIFAR10")
