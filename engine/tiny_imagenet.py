"""Tiny-ImageNet in its official `tiny-imagenet-200` layout (the folder inside tiny-imagenet-200.zip):

    wnids.txt                          the 200 class ids (wnids), one per line
    train/<wnid>/images/<image>        500 JPEGs per class (train/<wnid>/<wnid>_boxes.txt is not read)
    val/images/<image>                 10,000 JPEGs in one folder
    val/val_annotations.txt            <image> TAB <wnid> TAB <4 box numbers>, one line per val image
    test/                              unlabelled, never read

Samples and labels as in the reference code (NAYER's datafree/datasets/tiny_imagenet.py): the label of a wnid is
its position in the sorted list of wnids; the train split is every class folder in sorted order with its images in
sorted order, the val split the images of val/images in sorted order, each labelled by val_annotations.txt.
Only image files (by extension) are read. Every item is (transform(PIL RGB image), label); a missing or
inconsistent copy raises UserError with one line naming the problem and the fix.
"""
import os

from torchvision.datasets.folder import IMG_EXTENSIONS

from .errors import UserError
from .transfer_datasets import ImageFileList

URL = "http://cs231n.stanford.edu/tiny-imagenet-200.zip"
FOLDER = "tiny-imagenet-200"


def _layout(root):
    return (f"expected {root}/wnids.txt, {root}/train/<wnid>/images/<image>, {root}/val/images/<image> and "
            f"{root}/val/val_annotations.txt: unzip {URL} into {os.path.dirname(root) or '.'}")


def _missing(root, path):
    return UserError(f"dataset 'tiny_imagenet': {path} not found ({_layout(root)})")


def _images(folder):
    """The image files of `folder`, sorted by name."""
    return sorted(name for name in os.listdir(folder) if name.lower().endswith(IMG_EXTENSIONS))


def read_wnids(root):
    """The sorted wnids of `root`/wnids.txt (blank lines skipped)."""
    path = os.path.join(root, "wnids.txt")
    if not os.path.isfile(path):
        raise _missing(root, path)
    with open(path) as f:
        wnids = [line.strip() for line in f if line.strip()]
    if not wnids:
        raise UserError(f"dataset 'tiny_imagenet': {path} lists no wnids ({_layout(root)})")
    if len(set(wnids)) != len(wnids):
        duplicate = next(w for i, w in enumerate(wnids) if w in wnids[:i])
        raise UserError(f"dataset 'tiny_imagenet': {path} lists {duplicate} twice: restore the official "
                        f"wnids.txt from {URL}")
    return sorted(wnids)


def read_val_annotations(root, class_to_idx):
    """{val image name: label} from `root`/val/val_annotations.txt."""
    path = os.path.join(root, "val", "val_annotations.txt")
    if not os.path.isfile(path):
        raise _missing(root, path)
    labels = {}
    with open(path) as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            fields = line.rstrip("\r\n").split("\t")
            if len(fields) < 2:
                raise UserError(f"dataset 'tiny_imagenet': {path}:{n}: expected '<image> TAB <wnid> TAB <box>', "
                                f"got {line.strip()!r}: restore the official file from {URL}")
            name, wnid = fields[0].strip(), fields[1].strip()
            if wnid not in class_to_idx:
                raise UserError(f"dataset 'tiny_imagenet': {path}:{n}: wnid {wnid!r} is not in "
                                f"{os.path.join(root, 'wnids.txt')}: restore both files from {URL}")
            labels[name] = class_to_idx[wnid]
    return labels


class TinyImageNet(ImageFileList):
    """Split 'train' or 'val' of the tiny-imagenet-200 folder `root`; `classes` are the sorted wnids."""

    def __init__(self, root, split="train", transform=None):
        if split not in ("train", "val"):
            raise ValueError(f"split must be 'train' or 'val', not {split!r}")
        if not os.path.isdir(root):
            raise _missing(root, root)
        self.root, self.split = root, split
        self.classes = read_wnids(root)
        self.class_to_idx = {wnid: i for i, wnid in enumerate(self.classes)}
        paths, targets = self._train() if split == "train" else self._val()
        super().__init__(paths, targets, transform)

    def _train(self):
        train = os.path.join(self.root, "train")
        if not os.path.isdir(train):
            raise _missing(self.root, train)
        strays = sorted(name for name in os.listdir(train)
                        if os.path.isdir(os.path.join(train, name)) and name not in self.class_to_idx)
        if strays:
            raise UserError(f"dataset 'tiny_imagenet': {os.path.join(train, strays[0])} is not a class of "
                            f"{os.path.join(self.root, 'wnids.txt')}: remove it or restore the official copy "
                            f"from {URL}")
        paths, targets = [], []
        for label, wnid in enumerate(self.classes):   # sorted wnids = sorted class folders
            folder = os.path.join(train, wnid, "images")
            if not os.path.isdir(folder):
                raise _missing(self.root, folder)
            names = _images(folder)
            paths += [os.path.join(folder, name) for name in names]
            targets += [label] * len(names)
        if not paths:
            raise UserError(f"dataset 'tiny_imagenet': no images in {train}/<wnid>/images ({_layout(self.root)})")
        return paths, targets

    def _val(self):
        folder = os.path.join(self.root, "val", "images")
        if not os.path.isdir(folder):
            raise _missing(self.root, folder)
        labels = read_val_annotations(self.root, self.class_to_idx)
        names = _images(folder)
        if not names:
            raise UserError(f"dataset 'tiny_imagenet': no images in {folder} ({_layout(self.root)})")
        unlisted = [name for name in names if name not in labels]
        if unlisted:
            raise UserError(f"dataset 'tiny_imagenet': {os.path.join(folder, unlisted[0])} is not listed in "
                            f"{os.path.join(self.root, 'val', 'val_annotations.txt')} ({len(unlisted)} such "
                            f"images): remove them or restore the official val_annotations.txt from {URL}")
        return [os.path.join(folder, name) for name in names], [labels[name] for name in names]
