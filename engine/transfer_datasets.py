"""Readers for the transfer-set datasets that are not plain ImageFolder trees.

* downsampled ImageNet (Chrabaszcz et al. 2017): pickled or .npz batches `train_data_batch_<k>`, `val_data`
* CUB-200-2011: the official `CUB_200_2011` folder (images/ plus the images/labels/split text files)
* Stanford Dogs: `Images/` plus the official `train_list.mat` / `test_list.mat`
* Stanford Cars: `cars_train/`, `cars_test/` plus the devkit's annotation .mat files

Every item is (transform(PIL RGB image), label starting at 0). A missing or incomplete copy raises UserError
naming the path and the layout that was expected.
"""
import os
import pickle
import re
import zlib

import numpy as np
from PIL import Image
from torch.utils.data import Dataset
from torchvision import datasets

from .errors import UserError
from .images import SKIP_BAD_IMAGES, first_readable, read_image


class ImageFileList(Dataset):
    """Images given as a list of file paths with integer labels (unreadable files: engine.images)."""

    def __init__(self, paths, targets, transform=None):
        if len(paths) != len(targets):
            raise ValueError(f"{len(paths)} images but {len(targets)} labels")
        self.paths, self.targets, self.transform = list(paths), [int(t) for t in targets], transform
        self.skip_bad = SKIP_BAD_IMAGES["enabled"]

    def __len__(self):
        return len(self.paths)

    def __getitem__(self, i):
        return first_readable(self._item, i, len(self), self.skip_bad)

    def _item(self, i):
        img = read_image(self.paths[i])
        if self.transform is not None:
            img = self.transform(img)
        return img, self.targets[i]


class ImageFolder(datasets.ImageFolder):
    """torchvision's ImageFolder reading through engine.images (an unreadable file: one line, or skipped)."""

    def __init__(self, root, transform=None):
        super().__init__(root, transform=transform, loader=read_image)
        self.skip_bad = SKIP_BAD_IMAGES["enabled"]

    def __getitem__(self, i):
        return first_readable(super().__getitem__, i, len(self), self.skip_bad)


# ---------------------------------------------------------------------------------------- downsampled ImageNet
SMALL_IMAGENET_VAL = "val_data"
_TRAIN_BATCH = re.compile(r"^train_data_batch_(\d+)(\.npz)?$")


def small_imagenet_batches(folder):
    """(train batch files in order, val file) of downsampled ImageNet in `folder`, or None when absent."""
    if not os.path.isdir(folder):
        return None
    train = sorted(((int(m.group(1)), name) for name in os.listdir(folder)
                    if (m := _TRAIN_BATCH.match(name))), key=lambda item: item[0])
    val = [name for name in (SMALL_IMAGENET_VAL, SMALL_IMAGENET_VAL + ".npz")
           if os.path.isfile(os.path.join(folder, name))]
    if not train or not val:
        return None
    return [os.path.join(folder, name) for _, name in train], os.path.join(folder, val[0])


def _read_batch(path):
    if path.endswith(".npz"):
        with np.load(path, allow_pickle=False) as f:
            return np.asarray(f["data"]), np.asarray(f["labels"])
    with open(path, "rb") as f:   # the official files are pickled dicts (written by Python 2: latin-1 keeps numpy)
        entry = pickle.load(f, encoding="latin1")
    return np.asarray(entry["data"]), np.asarray(entry["labels"])


class SmallImageNet(Dataset):
    """Downsampled ImageNet batches: rows of 3*size*size uint8 (R plane, G plane, B plane), labels 1..1000."""

    def __init__(self, files, size, transform=None):
        self.size, self.transform = size, transform
        self.chunks, targets = [], []
        for path in files:
            try:
                data, labels = _read_batch(path)
            except (OSError, KeyError, ValueError, EOFError, pickle.UnpicklingError) as err:
                raise UserError(f"{path}: not a downsampled-ImageNet batch ({type(err).__name__}: {err})") from None
            if data.ndim != 2 or data.shape[1] != 3 * size * size or len(data) != len(labels):
                raise UserError(f"{path}: expected {len(labels)} rows of {3 * size * size} bytes "
                                f"({size}x{size} RGB images), found data of shape {data.shape}")
            self.chunks.append(data.astype(np.uint8, copy=False))
            targets.append(labels.astype(np.int64) - 1)
        self.targets = np.concatenate(targets) if targets else np.zeros(0, np.int64)
        self.ends = np.cumsum([len(c) for c in self.chunks])

    def __len__(self):
        return len(self.targets)

    def __getitem__(self, i):
        if i < 0:
            i += len(self)
        chunk = int(np.searchsorted(self.ends, i, side="right"))
        row = i - (int(self.ends[chunk - 1]) if chunk else 0)
        pixels = self.chunks[chunk][row].reshape(3, self.size, self.size).transpose(1, 2, 0)
        img = Image.fromarray(np.ascontiguousarray(pixels))
        if self.transform is not None:
            img = self.transform(img)
        return img, int(self.targets[i])


# ---------------------------------------------------------------------------------------------- CUB-200-2011
CUB_FILES = ("images.txt", "image_class_labels.txt", "train_test_split.txt")


def _id_table(path):
    """{image id: rest of the line} of one of CUB's '<id> <value>' text files."""
    table = {}
    with open(path) as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            parts = line.split(maxsplit=1)
            if len(parts) != 2:
                raise UserError(f"{path}:{n}: expected '<image id> <value>', got {line.strip()!r}")
            table[parts[0]] = parts[1].strip()
    return table


def cub200(root, split, transform=None):
    """CUB-200-2011 from `root`/CUB_200_2011; split 'train' (is_training_img 1) or 'val'/'test' (0)."""
    base = os.path.join(root, "CUB_200_2011")
    missing = [p for p in [os.path.join(base, "images")] if not os.path.isdir(p)]
    missing += [os.path.join(base, f) for f in CUB_FILES if not os.path.isfile(os.path.join(base, f))]
    if missing:
        raise UserError(f"dataset 'cub200': {missing[0]} not found (expected {base}/images/<class>/<image>, "
                        f"{base}/{{{','.join(CUB_FILES)}}} as in CUB_200_2011.tgz)")
    images, labels, is_train = (_id_table(os.path.join(base, f)) for f in CUB_FILES)
    want = "1" if split == "train" else "0"
    paths, targets = [], []
    for img_id, rel in images.items():
        if img_id not in labels or img_id not in is_train:
            raise UserError(f"dataset 'cub200': image id {img_id} of images.txt has no label or split in {base}")
        if is_train[img_id] == want:
            paths.append(os.path.join(base, "images", rel))
            targets.append(int(labels[img_id]) - 1)
    return ImageFileList(paths, targets, transform)


# ---------------------------------------------------------------------------------------------- Stanford Dogs
def _load_mat(path, name):
    """{variable: value} of a MAT-file (v4 to v7; 7.3 is HDF5 and refused), read by scipy with simplify_cells:
    structs come back as dicts, cells as lists, 1x1 arrays as scalars, char arrays as str."""
    try:   # scipy only for the two datasets that need it
        from scipy.io import loadmat
        from scipy.io.matlab import MatReadError
    except ImportError:
        raise UserError(f"dataset '{name}' reads MAT-files with scipy, which is not installed: "
                        "pip install scipy") from None
    try:
        return loadmat(path, simplify_cells=True)
    except NotImplementedError:
        raise UserError(f"dataset '{name}': {path} is a MATLAB 7.3 (HDF5) file: save it again with "
                        "MATLAB's -v7 option") from None
    except (MatReadError, ValueError, OSError, zlib.error) as err:
        raise UserError(f"dataset '{name}': {path} is not a MAT-file scipy can read ({err})") from None


def _flat_strings(cells):
    """The strings of a cell array of char arrays (a list of str, or one str for a single cell)."""
    return [str(c) for c in np.ravel(np.asarray(cells, dtype=object))]


def stanford_dogs(root, split, transform=None):
    """Stanford Dogs from `root`: Images/<wnid-breed>/<image> and the official {train,test}_list.mat."""
    lst, images = os.path.join(root, f"{split}_list.mat"), os.path.join(root, "Images")
    for path in (images, lst):
        if not os.path.exists(path):
            raise UserError(f"dataset 'stanford_dogs': {path} not found (expected {root}/Images/<breed>/<image> "
                            f"from images.tar and {root}/{{train,test}}_list.mat from lists.tar)")
    mat = _load_mat(lst, "stanford_dogs")
    if "file_list" not in mat or "labels" not in mat:
        raise UserError(f"dataset 'stanford_dogs': {lst} lacks 'file_list' or 'labels'")
    files = _flat_strings(mat["file_list"])
    labels = np.ravel(mat["labels"]).astype(np.int64) - 1
    return ImageFileList([os.path.join(images, f) for f in files], labels, transform)


# ---------------------------------------------------------------------------------------------- Stanford Cars
def stanford_cars(root, split, transform=None):
    """Stanford Cars from `root`: cars_{train,test}/<image> and the devkit's annotations (with labels)."""
    folder = os.path.join(root, f"cars_{split}")
    devkit = os.path.join(root, "devkit")
    if split == "train":
        candidates = [os.path.join(devkit, "cars_train_annos.mat")]
    else:   # the labelled test annotations come separately; torchvision keeps them next to devkit/
        candidates = [os.path.join(devkit, "cars_test_annos_withlabels.mat"),
                      os.path.join(root, "cars_test_annos_withlabels.mat")]
    annos = next((p for p in candidates if os.path.isfile(p)), None)
    layout = (f"expected {root}/cars_train/<image>, {root}/cars_test/<image>, {devkit}/cars_train_annos.mat "
              f"and {devkit}/cars_test_annos_withlabels.mat")
    if not os.path.isdir(folder):
        raise UserError(f"dataset 'stanford_cars': {folder} not found ({layout})")
    if annos is None:
        raise UserError(f"dataset 'stanford_cars': {candidates[0]} not found ({layout})")
    mat = _load_mat(annos, "stanford_cars")
    records = np.ravel(mat.get("annotations", np.empty(0, dtype=object)))
    if not len(records) or not all(isinstance(r, dict) and {"fname", "class"} <= set(r) for r in records):
        raise UserError(f"dataset 'stanford_cars': {annos} has no 'annotations' with 'fname' and 'class' "
                        f"(the test split needs cars_test_annos_withlabels.mat)")
    paths = [os.path.join(folder, _flat_strings([r["fname"]])[0]) for r in records]
    targets = [int(np.ravel(r["class"])[0]) - 1 for r in records]
    return ImageFileList(paths, targets, transform)
