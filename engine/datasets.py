"""Dataset readers that need no network: idx files (MNIST format) held as uint8 tensors, and folders of images."""
import gzip
import os

import numpy as np
import torch
from torch.utils.data import Dataset
from torchvision.transforms.functional import pil_to_tensor

from .errors import UserError
from .images import SKIP_BAD_IMAGES, BadImageError, note_skipped, read_image

IDX_FILES = {
    True: ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    False: ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def find_idx_folder(candidates):
    """First folder among `candidates` that holds all four idx files (plain or .gz), else None."""
    for folder in candidates:
        if all(idx_path(folder, f) for pair in IDX_FILES.values() for f in pair):
            return folder
    return None


def idx_path(folder, stem):
    for name in (stem, stem + ".gz"):
        path = os.path.join(folder, name)
        if os.path.isfile(path):
            return path
    return None


def read_idx(path):
    """An idx file (MNIST format, uint8) as a tensor; a damaged file raises a one-line UserError."""
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            data = f.read()
    except (OSError, EOFError) as err:
        raise UserError(f"cannot read {path} ({type(err).__name__}: {err}): the file is damaged; re-install or "
                        "re-download the dataset") from None
    magic = int.from_bytes(data[0:4], "big")
    ndim = magic & 0xFF
    shape = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    if len(data) < 4 or (magic >> 8) != 0x08 or len(data) != 4 + 4 * ndim + int(np.prod(shape)):
        raise UserError(f"{path} is not a complete uint8 idx file ({len(data)} bytes): the file is damaged; "
                        "re-install or re-download the dataset")
    arr = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    return torch.from_numpy(arr.reshape(shape).copy())


class IdxImageDataset(Dataset):
    """Gray-scale images from idx files; items are (transform(float tensor 1xHxW in [0,1]), label)."""

    def __init__(self, folder, train, transform=None):
        img_stem, lbl_stem = IDX_FILES[train]
        self.images = read_idx(idx_path(folder, img_stem))
        self.targets = read_idx(idx_path(folder, lbl_stem)).long()
        if len(self.images) != len(self.targets):
            raise UserError(f"{folder}: {len(self.images)} images but {len(self.targets)} labels: a damaged copy; "
                            "re-install or re-download the dataset")
        self.transform = transform

    def __len__(self):
        return len(self.targets)

    def __getitem__(self, i):
        img = self.images[i].unsqueeze(0).float().div_(255)
        if self.transform is not None:
            img = self.transform(img)
        return img, int(self.targets[i])


def load_image_folder(path, img_shape):
    """Every .png/.jpg under `path`, resized to img_shape (C, H, W), as a float tensor in [0, 1]. An unreadable
    file ends with one line naming it, or is skipped and logged under --skip_bad_images."""
    if not os.path.isdir(path):
        raise UserError(f"--cmi_init {path}: no such folder (it should hold pre-inverted images; leave the flag out "
                        "to start from an empty pool)")
    files = sorted(os.path.join(root, f) for root, _, names in os.walk(path) for f in names
                   if f.lower().endswith((".png", ".jpg", ".jpeg")))
    if not files:
        raise UserError(f"--cmi_init {path}: no .png/.jpg images found there")
    mode = "L" if img_shape[0] == 1 else "RGB"
    images = []
    for f in files:
        try:
            images.append(pil_to_tensor(read_image(f, mode).resize((img_shape[2], img_shape[1]))))
        except BadImageError as err:
            if not SKIP_BAD_IMAGES["enabled"]:
                raise UserError(f"--cmi_init: {err}") from None
            note_skipped(f)
    if not images:
        raise UserError(f"--cmi_init {path}: none of its {len(files)} images can be read")
    return torch.stack(images).float().div_(255)
