"""Offline datasets, each cut into three disjoint splits: train, profile (never trained on) and test.

Nothing here downloads. Fashion-MNIST comes from the Debian package `dataset-fashion-mnist`; any
torchvision dataset or image folder the user already has on disk works too (download=False).
"""
from __future__ import annotations

import gzip
import os
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from .choices import DEFAULT_PROFILE_SIZE

FASHION_MNIST_DIRS = ("/usr/share/datasets/fashion-mnist",)
FASHION_MNIST_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
FASHION_MNIST_HELP = (
    "Fashion-MNIST not found{where}. Install it offline from Debian with "
    "`apt-get install -y dataset-fashion-mnist` (idx files in /usr/share/datasets/fashion-mnist), "
    "or pass --data-dir to a folder holding the four idx files (gzipped or not)."
)
IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


class DatasetMissing(FileNotFoundError):
    """A dataset is not on disk; the message says how to install it."""


MAX_IDX_BYTES = 1 << 30  # an idx file's data as its header claims it (Fashion-MNIST's largest: 47 MB)
MAX_IDX_DIMS = 8
FASHION_MNIST_MAX = 100_000  # images of one Fashion-MNIST file (the official ones: 60000 and 10000)


def read_idx(path, ndim: int | None = None, dims: tuple | None = None, dtype=None, max_items: int | None = None,
             max_bytes: int = MAX_IDX_BYTES) -> np.ndarray:
    """One idx file (the MNIST format), gzipped or not, as a numpy array.

    The header is read first and checked (magic, element type, dimensions; with `ndim`, `dims` (the shape
    after the first axis), `dtype` and `max_items` (first axis) against what the file should be), and
    only the bytes it claims, at most `max_bytes`, are then read or decompressed: a small gzip file that
    inflates far past its header's claim is never expanded. Every fault is a ValueError naming the file.
    """
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            head = f.read(4)
            if len(head) < 4 or head[0] != 0 or head[1] != 0:
                raise ValueError(f"{path}: not an idx file (bad magic {head!r}; expected 00 00 TYPE NDIM)")
            code, n_dims = head[2], head[3]
            if code not in IDX_DTYPES:
                raise ValueError(f"{path}: unknown idx element type 0x{code:02x}")
            if not 1 <= n_dims <= MAX_IDX_DIMS:
                raise ValueError(f"{path}: {n_dims} dimensions in the header, an idx file here has 1..{MAX_IDX_DIMS}")
            raw_dims = f.read(4 * n_dims)
            if len(raw_dims) < 4 * n_dims:
                raise ValueError(f"{path}: truncated header ({4 + len(raw_dims)} bytes, {n_dims} dimensions "
                                 f"need {4 + 4 * n_dims})")
            shape = struct.unpack(f">{n_dims}I", raw_dims)
            kind = np.dtype(IDX_DTYPES[code])
            if ndim is not None and n_dims != ndim:
                raise ValueError(f"{path}: shape {list(shape)} in the header, expected {ndim} dimensions")
            if dims is not None and tuple(shape[1:]) != tuple(dims):
                want = "[n" + "".join(f", {d}" for d in dims) + "]"
                raise ValueError(f"{path}: shape {list(shape)} in the header, expected {want}")
            if dtype is not None and kind != np.dtype(dtype):
                raise ValueError(f"{path}: elements of type {kind.name} (0x{code:02x}), expected "
                                 f"{np.dtype(dtype).name}")
            if max_items is not None and shape[0] > max_items:
                raise ValueError(f"{path}: {shape[0]} items in the header, more than {max_items}")
            claim = kind.itemsize
            for d in shape:
                claim *= d
            if claim > max_bytes:
                raise ValueError(f"{path}: header claims shape {list(shape)} ({claim} bytes of data), more than "
                                 f"the {max_bytes} bytes an idx file may hold here")
            raw = f.read(claim)
            if len(raw) < claim:
                raise ValueError(f"{path}: data shorter than the header claims ({len(raw)} of {claim} bytes for "
                                 f"shape {list(shape)}; truncated?)")
            if f.read(1):
                raise ValueError(f"{path}: more data than the header's shape {list(shape)} claims ({claim} bytes)")
    except (OSError, EOFError, zlib.error) as exc:  # gzip.BadGzipFile, a truncated stream, unreadable file
        if isinstance(exc, FileNotFoundError):
            raise
        raise ValueError(f"{path}: unreadable idx file ({type(exc).__name__}: {exc})") from None
    data = np.frombuffer(raw, dtype=kind)
    return data.reshape(shape).astype(kind.newbyteorder("="), copy=False)


def _find_idx(folder: Path, stem: str) -> Path | None:
    for name in (stem, stem + ".gz"):
        if (folder / name).is_file():
            return folder / name
    return None


@dataclass
class ArraySplit:
    """Images held in memory as uint8 (n, C, H, W) with int64 labels; batches are cut by index."""

    images: torch.Tensor
    labels: torch.Tensor
    mean: tuple
    std: tuple

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def batch(self, index: torch.Tensor):
        x = self.images[index].float().div_(255.0)
        mean = torch.tensor(self.mean).view(1, -1, 1, 1)
        std = torch.tensor(self.std).view(1, -1, 1, 1)
        return (x - mean) / std, self.labels[index]


@dataclass
class DatasetSplit:
    """A torch Dataset yielding (image tensor, label); batches are fetched item by item."""

    dataset: object
    indices: np.ndarray

    def __len__(self) -> int:
        return len(self.indices)

    def batch(self, index: torch.Tensor):
        items = [self.dataset[int(self.indices[i])] for i in index.tolist()]
        x = torch.stack([torch.as_tensor(im, dtype=torch.float32) for im, _ in items])
        return x, torch.tensor([int(label) for _, label in items], dtype=torch.int64)


@dataclass
class Data:
    """A dataset cut into train / profile / test, with what the network needs to know of it."""

    name: str
    train: object
    profile: object
    test: object
    channels: int
    size: tuple
    classes: int
    info: dict = field(default_factory=dict)

    @property
    def input_shape(self) -> tuple:
        return (self.channels, *self.size)


def _take(n_total: int, limit: int | None, seed: int) -> np.ndarray:
    """The first `limit` items of a fixed shuffle (all, in order, when limit is None)."""
    if limit is None or limit >= n_total:
        return np.arange(n_total)
    return np.sort(np.random.default_rng(seed).permutation(n_total)[:limit])


def load_fashion_mnist(data_dir=None, profile_size: int = DEFAULT_PROFILE_SIZE, train_limit=None,
                       profile_limit=None, test_limit=None, seed: int = 0) -> Data:
    """Fashion-MNIST at its native 28 x 28, one channel, ten classes.

    The last `profile_size` images of the official training set are held out for profiling; the
    official test set is the test split. The *_limit arguments keep a fixed random subset (for tests).
    """
    folders = [Path(data_dir)] if data_dir else [Path(d) for d in FASHION_MNIST_DIRS]
    env = os.environ.get("EEPART_FASHION_MNIST")
    if env and not data_dir:
        folders.insert(0, Path(env))
    for folder in folders:
        files = {k: _find_idx(folder, v) for k, v in FASHION_MNIST_FILES.items()}
        if all(files.values()):
            break
    else:
        raise DatasetMissing(FASHION_MNIST_HELP.format(where=" in " + ", ".join(map(str, folders))))
    # Fashion-MNIST's own shapes: images (n, 28, 28) uint8, labels (n,) uint8 in 0..9, as many of each.
    arrays = {k: read_idx(p, ndim=3 if k.endswith("images") else 1, dims=(28, 28) if k.endswith("images") else (),
                          dtype=np.uint8, max_items=FASHION_MNIST_MAX) for k, p in files.items()}
    for split in ("train", "test"):
        x, y = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        if len(x) != len(y):
            raise ValueError(f"{files[f'{split}_labels']}: {len(y)} labels for the {len(x)} images of "
                             f"{files[f'{split}_images']}")
        if y.size and int(y.max()) > 9:
            raise ValueError(f"{files[f'{split}_labels']}: label {int(y.max())} at index {int(y.argmax())}; "
                             "Fashion-MNIST has classes 0..9")
    train_x, train_y = arrays["train_images"], arrays["train_labels"]
    if not 0 < profile_size < len(train_y):
        raise ValueError(f"profile_size: must be in 1..{len(train_y) - 1}, got {profile_size}")
    cut = len(train_y) - profile_size
    fit_x = train_x[:cut]
    # Normalisation constants come from the training split alone, so profile and test stay unseen.
    mean, std = float(fit_x.mean() / 255.0), float(fit_x.std() / 255.0)

    def split(x, y, limit, salt):
        keep = _take(len(y), limit, seed + salt)
        return ArraySplit(torch.from_numpy(np.ascontiguousarray(x[keep][:, None])),
                          torch.from_numpy(y[keep].astype(np.int64)), (mean,), (std,))

    return Data(
        name="fashion-mnist",
        train=split(train_x[:cut], train_y[:cut], train_limit, 1),
        profile=split(train_x[cut:], train_y[cut:], profile_limit, 2),
        test=split(arrays["test_images"], arrays["test_labels"], test_limit, 3),
        channels=1, size=(28, 28), classes=10,
        info={"source": str(folder), "train": f"official train[0:{cut}]",
              "profile": f"official train[{cut}:{len(train_y)}]", "test": "official test",
              "normalise_mean": [mean], "normalise_std": [std], "input_size": [28, 28],
              "limits": {"train": train_limit, "profile": profile_limit, "test": test_limit}},
    )


def _holdout(n: int, profile_size: int):
    if not 0 < profile_size < n:
        raise ValueError(f"profile_size: must be in 1..{n - 1}, got {profile_size}")
    return np.arange(n - profile_size), np.arange(n - profile_size, n)


def _image_transform(size, mean, std):
    from torchvision import transforms
    steps = [transforms.Resize(tuple(size))] if size else []
    steps += [transforms.ToTensor(), transforms.Normalize(mean, std)]
    return transforms.Compose(steps)


def _finish(name, train_ds, test_ds, classes, profile_size, info) -> Data:
    fit, prof = _holdout(len(train_ds), profile_size)
    x0, _ = train_ds[0]
    x0 = torch.as_tensor(x0)
    return Data(name=name, train=DatasetSplit(train_ds, fit), profile=DatasetSplit(train_ds, prof),
                test=DatasetSplit(test_ds, np.arange(len(test_ds))), channels=int(x0.shape[0]),
                size=tuple(int(s) for s in x0.shape[1:]), classes=classes,
                info={**info, "train": f"train[0:{len(fit)}]", "profile": f"train[{len(fit)}:{len(train_ds)}]",
                      "test": "test", "input_size": [int(s) for s in x0.shape[1:]]})


def load_torchvision(name: str, root, profile_size: int = DEFAULT_PROFILE_SIZE, size=None,
                     mean=(0.5,), std=(0.5,)) -> Data:
    """A torchvision dataset class (e.g. CIFAR10) already on disk under `root`, never downloaded."""
    import torchvision.datasets as tvd
    cls = getattr(tvd, name, None)
    if cls is None or not isinstance(cls, type):
        raise ValueError(f"dataset: torchvision has no dataset class {name!r}")
    tf = _image_transform(size, mean, std)
    try:
        train_ds = cls(root=str(root), train=True, download=False, transform=tf)
        test_ds = cls(root=str(root), train=False, download=False, transform=tf)
    except TypeError as exc:
        raise ValueError(f"dataset: torchvision {name} has no train/test switch (train=...); "
                         "export it as an image folder and use --data folder") from exc
    except RuntimeError as exc:
        raise DatasetMissing(f"torchvision {name} not found under {root!s} ({exc}). Nothing is downloaded "
                             "at run time: place the dataset there first (torchvision's own layout).") from exc
    classes = len(getattr(train_ds, "classes", [])) or int(max(int(t) for t in train_ds.targets)) + 1
    if len(mean) == 1:
        # One mean for all channels: widen it to the image's channels.
        ch = int(torch.as_tensor(train_ds[0][0]).shape[0])
        mean, std = tuple(mean) * ch, tuple(std) * ch
        train_ds.transform = test_ds.transform = _image_transform(size, mean, std)
    return _finish(name.lower(), train_ds, test_ds, classes, profile_size,
                   {"source": f"torchvision.datasets.{name}({root})", "normalise_mean": list(mean),
                    "normalise_std": list(std)})


def load_image_folder(root, profile_size: int = DEFAULT_PROFILE_SIZE, size=None, mean=(0.5, 0.5, 0.5),
                      std=(0.5, 0.5, 0.5)) -> Data:
    """An image folder `root/train/<class>/*` and `root/test/<class>/*` (or val/ for test)."""
    from torchvision.datasets import ImageFolder
    root = Path(root)
    test_dir = next((root / d for d in ("test", "val") if (root / d).is_dir()), None)
    if not (root / "train").is_dir() or test_dir is None:
        raise DatasetMissing(f"image folder {root}: expected {root}/train/<class>/... and "
                             f"{root}/test/<class>/... (or val/)")
    tf = _image_transform(size, mean, std)
    train_ds = ImageFolder(str(root / "train"), transform=tf)
    test_ds = ImageFolder(str(test_dir), transform=tf)
    if train_ds.classes != test_ds.classes:
        raise ValueError(f"image folder {root}: train and {test_dir.name} class folders differ")
    # ImageFolder lists files class by class; the profiling holdout must mix classes, so shuffle once.
    order = np.random.default_rng(0).permutation(len(train_ds))
    train_ds.samples = [train_ds.samples[i] for i in order]
    train_ds.targets = [s[1] for s in train_ds.samples]
    return _finish(root.name, train_ds, test_ds, len(train_ds.classes), profile_size,
                   {"source": f"ImageFolder({root})", "normalise_mean": list(mean), "normalise_std": list(std)})


def limit_data(data: Data, limit: int, seed: int = 0) -> Data:
    """At most `limit` items of each split, a fixed random subset (for quick trials)."""
    def cut(split, salt):
        keep = torch.from_numpy(_take(len(split), limit, seed + salt))
        if isinstance(split, ArraySplit):
            return ArraySplit(split.images[keep], split.labels[keep], split.mean, split.std)
        return DatasetSplit(split.dataset, split.indices[keep.numpy()])
    data.info = {**data.info, "limit_each_split": limit}
    data.train, data.profile, data.test = cut(data.train, 1), cut(data.profile, 2), cut(data.test, 3)
    return data


def load_data(spec: str, data_dir=None, profile_size: int = DEFAULT_PROFILE_SIZE, size=None,
              limit: int | None = None) -> Data:
    """`fashion-mnist`, `torchvision:<Class>` (with data_dir as root) or `folder` (data_dir = the folder)."""
    if limit is not None and limit < 1:
        raise ValueError(f"--limit: must be at least 1, got {limit}")
    if spec in ("fashion-mnist", "fashionmnist", "fmnist"):
        if size:
            raise ValueError("--size: Fashion-MNIST is used at its native 28 x 28")
        data = load_fashion_mnist(data_dir, profile_size=profile_size)
    elif spec.startswith("torchvision:"):
        if not data_dir:
            raise ValueError("--data-dir: a torchvision dataset needs the folder it is stored in")
        data = load_torchvision(spec.split(":", 1)[1], data_dir, profile_size=profile_size, size=size)
    elif spec == "folder":
        if not data_dir:
            raise ValueError("--data-dir: an image folder dataset needs its folder")
        data = load_image_folder(data_dir, profile_size=profile_size, size=size)
    else:
        raise ValueError(f"--data: unknown dataset {spec!r}; use fashion-mnist, torchvision:<Class> or folder")
    return limit_data(data, limit) if limit else data


def batches(split, batch_size: int, shuffle: bool = False, seed: int = 0, start: int = 0):
    """(x, y) batches; a shuffle is fixed by `seed`, so a resumed epoch skips its first `start` batches."""
    n = len(split)
    if shuffle:
        order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    else:
        order = torch.arange(n)
    for b in range(start, (n + batch_size - 1) // batch_size):
        yield split.batch(order[b * batch_size:(b + 1) * batch_size])
