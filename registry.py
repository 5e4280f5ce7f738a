"""Name -> object registries: models, datasets and their normalisation constants."""
import os

import torch
from PIL import Image
from torchvision import datasets
from torchvision import models as tv_models
from torchvision import transforms as T

from engine.checkpoint import load_weights
from engine.datasets import IDX_FILES, IdxImageDataset, find_idx_folder, idx_path, read_idx
from engine.errors import UserError
from engine.guard import module_is_finite
from engine.loaders import take_subset
from engine.memdata import TensorImages
from engine.tiny_imagenet import FOLDER as TINY_IMAGENET_FOLDER
from engine.tiny_imagenet import URL as TINY_IMAGENET_URL
from engine.tiny_imagenet import TinyImageNet
from engine.transfer_datasets import (
    ImageFolder,
    SmallImageNet,
    cub200,
    small_imagenet_batches,
    stanford_cars,
    stanford_dogs,
)
from models import MODEL_DICT

NORMALIZE_DICT = {
    "mnist": dict(mean=(0.1307,), std=(0.3081,)),
    "fmnist": dict(mean=(0.2860,), std=(0.3530,)),
    "cifar10": dict(mean=(0.4914, 0.4822, 0.4465), std=(0.2023, 0.1994, 0.2010)),
    "cifar100": dict(mean=(0.5071, 0.4867, 0.4408), std=(0.2675, 0.2565, 0.2761)),
    "svhn": dict(mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5)),
    "imagenet": dict(mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225)),
    "tiny_imagenet": dict(mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5)),
    # transfer sets: upstream normalises all of them with mean = std = 0.5
    **{name: dict(mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5))
       for name in ("places365", "places365_32x32", "places365_64x64", "imagenet_32x32", "cub200", "stanford_dogs",
                    "stanford_cars")},
}

# name -> (num_classes, channels, image size)
DATASET_INFO = {
    "mnist": (10, 1, 32),
    "fmnist": (10, 1, 32),
    "cifar10": (10, 3, 32),
    "cifar100": (100, 3, 32),
    "svhn": (10, 3, 32),
    "imagenet": (1000, 3, 224),
    "tiny_imagenet": (200, 3, 64),
    "places365": (365, 3, 224),
    "places365_32x32": (365, 3, 32),
    "places365_64x64": (365, 3, 64),
    "imagenet_32x32": (1000, 3, 32),
    "cub200": (200, 3, 64),
    "stanford_dogs": (120, 3, 64),
    "stanford_cars": (196, 3, 64),
}
DATASET_ALIASES = {"fashion-mnist": "fmnist", "fashion_mnist": "fmnist", "tiny-imagenet": "tiny_imagenet",
                   "tinyimagenet": "tiny_imagenet", "small_imagenet": "imagenet_32x32"}

# Transfer sets stored as ImageFolder trees: name -> folder under --data_root (upstream's names).
PLACES_FOLDERS = {"places365": "Places365", "places365_32x32": "Places365_32x32",
                  "places365_64x64": "Places365_64x64"}
# Fine-grained transfer sets: name -> (folder under --data_root, reader, name of the evaluation split).
FINE_GRAINED = {"cub200": ("CUB200", cub200, "val"), "stanford_dogs": ("StanfordDogs", stanford_dogs, "test"),
                "stanford_cars": ("StanfordCars", stanford_cars, "test")}

# Debian's dataset-fashion-mnist package installs the idx files here.
DEBIAN_FMNIST = "/usr/share/datasets/fashion-mnist"


def canonical_dataset(name):
    key = DATASET_ALIASES.get(name.lower(), name.lower())
    if key not in DATASET_INFO:
        raise UserError(f"unknown dataset '{name}': choose one of {', '.join(sorted(DATASET_INFO))}")
    return key


def dataset_info(name):
    """(num_classes, channels, image_size) of a dataset, without loading it."""
    return DATASET_INFO[canonical_dataset(name)]


# ImageNet models: torchvision's architectures (and state_dict names), weights only from a local file.
# name -> (torchvision constructor, name of the weights torchvision downloads for it)
IMAGENET_MODELS = {
    "resnet50_imagenet": ("resnet50", "IMAGENET1K_V1"),
    "resnet18_imagenet": ("resnet18", "IMAGENET1K_V1"),
    "mobilenetv2_imagenet": ("mobilenet_v2", "IMAGENET1K_V1"),
}


def get_model(name, num_classes, in_channels=3, **kwargs):
    if name in IMAGENET_MODELS:
        if in_channels != 3:
            raise UserError(f"{name} takes 3-channel images, not {in_channels}: use it with an RGB dataset")
        return getattr(tv_models, IMAGENET_MODELS[name][0])(weights=None, num_classes=num_classes, **kwargs)
    if name not in MODEL_DICT:
        names = sorted([*MODEL_DICT, *IMAGENET_MODELS])
        raise UserError(f"unknown model '{name}': choose one of {', '.join(names)}")
    return MODEL_DICT[name](num_classes=num_classes, in_channels=in_channels, **kwargs)


def load_teacher(model, name, path):
    """Load the teacher's weights from `path` (a state_dict, or a dict holding one under 'state_dict')."""
    if name in IMAGENET_MODELS and not os.path.isfile(path):
        ctor, weights = IMAGENET_MODELS[name]
        raise UserError(f"teacher weights not found: {path}; {name} uses torchvision's ImageNet weights: on a "
                        f"machine with internet access run python -c \"import torch, torchvision; torch.save("
                        f"torchvision.models.{ctor}(weights='{weights}').state_dict(), '{path}')\" "
                        f"and copy the file there (or pass --teacher_ckpt)")
    ckpt = load_weights(model, path, what="teacher checkpoint")
    if not module_is_finite(model):
        raise UserError(f"teacher checkpoint {path} holds non-finite weights (NaN or inf): it cannot teach; "
                        "re-train or re-download it")
    return ckpt


def teacher_and_student(args, num_classes, in_channels):
    """The models of a KD run (--teacher with its weights from --teacher_ckpt, --student freshly initialised)."""
    teacher = get_model(args.teacher, num_classes=num_classes, in_channels=in_channels)
    student = get_model(args.student, num_classes=num_classes, in_channels=in_channels)
    load_teacher(teacher, args.teacher, args.teacher_ckpt)
    return teacher, student


def test_split(args):
    """The test split of --dataset (a fixed --val_subset of it when given): every entry script evaluates on it."""
    _, _, val_dst = get_dataset(args.dataset, args.data_root, in_memory=args.in_memory)
    return take_subset(val_dst, args.val_subset, "--val_subset")


MNIST_RESIZE = T.Resize((32, 32))
TO_TENSOR = T.ToTensor()


def _fmnist_folder(data_root):
    local = os.path.join(data_root, "torchdata", "FashionMNIST", "raw")
    return find_idx_folder([local, os.path.join(data_root, "fashion-mnist"), DEBIAN_FMNIST])


def _tensor_images(name, data_root):
    """(train, val) TensorImages of an IN_MEMORY dataset: uint8 images as the per-sample pipeline sees them before
    its random crop/flip and normalisation (Fashion-MNIST zero-padded to 32 px, MNIST resized to 32 px)."""
    padding, flip = IN_MEMORY[name]
    root = os.path.join(data_root, "torchdata")
    splits = []
    for train in (True, False):
        if name == "fmnist":
            folder = _fmnist_folder(data_root)
            if folder is not None:
                images, targets = (read_idx(idx_path(folder, stem)) for stem in IDX_FILES[train])
            else:
                dst = _torchvision(datasets.FashionMNIST, root, name, train=train)
                images, targets = dst.data, dst.targets
            images = torch.nn.functional.pad(images.unsqueeze(1), (2, 2, 2, 2))
        elif name == "mnist":
            dst = _torchvision(datasets.MNIST, root, name, train=train)
            images = torch.stack([T.functional.pil_to_tensor(MNIST_RESIZE(Image.fromarray(a.numpy(), mode="L")))
                                  for a in dst.data])
            targets = dst.targets
        elif name == "svhn":
            dst = _torchvision(datasets.SVHN, root, name, split="train" if train else "test")
            images, targets = torch.from_numpy(dst.data), dst.labels
        else:
            ctor = datasets.CIFAR10 if name == "cifar10" else datasets.CIFAR100
            dst = _torchvision(ctor, root, name, train=train)
            images, targets = torch.from_numpy(dst.data).permute(0, 3, 1, 2), dst.targets
        if len(images) != len(targets):
            raise UserError(f"dataset '{name}': {len(images)} images but {len(targets)} labels: a damaged copy; "
                            "re-install or re-download it")
        splits.append(TensorImages(images.contiguous(), torch.as_tensor(targets, dtype=torch.long),
                                   **NORMALIZE_DICT[name], padding=padding if train else 0, flip=flip and train))
    return splits


def _cifar_like_transforms(name, size, pad_to=None):
    norm = T.Normalize(**NORMALIZE_DICT[name])
    pad = [T.Pad((pad_to - size) // 2)] if pad_to else []
    train = T.Compose(pad + [T.RandomCrop(pad_to or size, padding=4), T.RandomHorizontalFlip(), norm])
    val = T.Compose(pad + [norm])
    return train, val


def _torchvision(ctor, root, name, **kw):
    try:
        return ctor(root, download=True, **kw)
    except ImportError as err:   # torchvision's SVHN reads MAT files with scipy
        raise UserError(f"dataset '{name}' needs the Python package {err.name or 'scipy'}: pip install "
                        f"{err.name or 'scipy'} (or pip install -r requirements.txt)") from None
    except Exception as err:
        raise UserError(f"dataset '{name}' is not under {root} and could not be downloaded "
                        f"({type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}); "
                        f"put the files there or check the network") from None


def _image_folder(root, split, transform, name):
    path = os.path.join(root, split)
    if not os.path.isdir(path):
        raise UserError(f"dataset '{name}': no ImageFolder tree at {path} (expected {path}/<class>/<image>)")
    try:
        return ImageFolder(path, transform=transform)
    except FileNotFoundError as err:   # no class folders, or no images in them
        raise UserError(f"dataset '{name}': {err} (expected {path}/<class>/<image>)") from None


def _small_imagenet(data_root, name, train_tf, val_tf):
    """ImageNet 32x32: an ImageFolder tree in ImageNet_32x32/{train,val}, or the official downsampled batches
    (train_data_batch_<k>, val_data) in ImageNet_32x32/ or directly in --data_root (upstream's small_imagenet)."""
    root = os.path.join(data_root, "ImageNet_32x32")
    if os.path.isdir(os.path.join(root, "train")):
        return _image_folder(root, "train", train_tf, name), _image_folder(root, "val", val_tf, name)
    for folder in (root, data_root):
        found = small_imagenet_batches(folder)
        if found:
            size = DATASET_INFO[name][2]
            return SmallImageNet(found[0], size, train_tf), SmallImageNet([found[1]], size, val_tf)
    raise UserError(f"dataset '{name}': found neither an ImageFolder tree at {root}/train (expected "
                    f"{root}/{{train,val}}/<class>/<image>) nor the downsampled-ImageNet batches "
                    f"(train_data_batch_1..10 and val_data, pickled or .npz) in {root} or {data_root}")


# Datasets small enough to hold in memory as uint8: augmentation of their training split (crop padding, flip).
IN_MEMORY = {"fmnist": (4, True), "mnist": (0, False), "cifar10": (4, True), "cifar100": (4, True),
             "svhn": (0, False)}


def _fmnist(name, data_root):
    folder = _fmnist_folder(data_root)
    train_tf, val_tf = _cifar_like_transforms(name, 28, pad_to=32)
    if folder is not None:
        return (IdxImageDataset(folder, train=True, transform=train_tf),
                IdxImageDataset(folder, train=False, transform=val_tf))
    root = os.path.join(data_root, "torchdata")
    return (_torchvision(datasets.FashionMNIST, root, name, train=True, transform=T.Compose([TO_TENSOR, train_tf])),
            _torchvision(datasets.FashionMNIST, root, name, train=False, transform=T.Compose([TO_TENSOR, val_tf])))


def _mnist(name, data_root):
    root = os.path.join(data_root, "torchdata")
    tf = T.Compose([MNIST_RESIZE, TO_TENSOR, T.Normalize(**NORMALIZE_DICT[name])])
    return (_torchvision(datasets.MNIST, root, name, train=True, transform=tf),
            _torchvision(datasets.MNIST, root, name, train=False, transform=tf))


def _cifar(name, data_root):
    root = os.path.join(data_root, "torchdata")
    ctor = datasets.CIFAR10 if name == "cifar10" else datasets.CIFAR100
    train_tf, val_tf = _cifar_like_transforms(name, 32)
    return (_torchvision(ctor, root, name, train=True, transform=T.Compose([TO_TENSOR, train_tf])),
            _torchvision(ctor, root, name, train=False, transform=T.Compose([TO_TENSOR, val_tf])))


def _svhn(name, data_root):
    root = os.path.join(data_root, "torchdata")
    tf = T.Compose([TO_TENSOR, T.Normalize(**NORMALIZE_DICT[name])])
    return (_torchvision(datasets.SVHN, root, name, split="train", transform=tf),
            _torchvision(datasets.SVHN, root, name, split="test", transform=tf))


def _imagenet_transforms(name):
    norm, size = T.Normalize(**NORMALIZE_DICT[name]), DATASET_INFO[name][2]
    return (T.Compose([T.RandomResizedCrop(size), T.RandomHorizontalFlip(), TO_TENSOR, norm]),
            T.Compose([T.Resize(size * 256 // 224), T.CenterCrop(size), TO_TENSOR, norm]))


def _imagenet(name, data_root):
    root = os.path.join(data_root, "ILSVRC2012")
    train_tf, val_tf = _imagenet_transforms(name)
    return _image_folder(root, "train", train_tf, name), _image_folder(root, "val", val_tf, name)


def _downsampled_transforms(name):
    """Images already size x size: pad-crop and flip for training."""
    norm, size = T.Normalize(**NORMALIZE_DICT[name]), DATASET_INFO[name][2]
    return (T.Compose([T.RandomCrop(size, padding=size // 8), T.RandomHorizontalFlip(), TO_TENSOR, norm]),
            T.Compose([TO_TENSOR, norm]))


def _places(name, data_root):
    full_size = DATASET_INFO[name][2] == 224   # full-size Places365: ImageNet-style crops
    train_tf, val_tf = _imagenet_transforms(name) if full_size else _downsampled_transforms(name)
    root = os.path.join(data_root, PLACES_FOLDERS[name])
    # Upstream has no val split of Places365_64x64 (a transfer set only): None when there is none.
    optional = name == "places365_64x64" and not os.path.isdir(os.path.join(root, "val"))
    return (_image_folder(root, "train", train_tf, name),
            None if optional else _image_folder(root, "val", val_tf, name))


def _imagenet_32x32(name, data_root):
    return _small_imagenet(data_root, name, *_downsampled_transforms(name))


def _fine_grained(name, data_root):
    folder, reader, val_split = FINE_GRAINED[name]
    root = os.path.join(data_root, folder)
    norm, size = T.Normalize(**NORMALIZE_DICT[name]), DATASET_INFO[name][2]
    train_tf = T.Compose([T.Resize(size), T.RandomCrop(size, padding=size // 8), T.RandomHorizontalFlip(),
                          TO_TENSOR, norm])
    val_tf = T.Compose([T.Resize(size), T.CenterCrop(size), TO_TENSOR, norm])
    return reader(root, "train", train_tf), reader(root, val_split, val_tf)


def _tiny_imagenet(name, data_root):
    """The official tiny-imagenet-200 folder in --data_root (engine/tiny_imagenet.py), or one level deeper, where
    NAYER's registry reads it (its reader appends tiny-imagenet-200/ to data_root/tiny-imagenet-200)."""
    root = os.path.join(data_root, TINY_IMAGENET_FOLDER)
    nested = os.path.join(root, TINY_IMAGENET_FOLDER)
    if not os.path.isfile(os.path.join(root, "wnids.txt")) and os.path.isfile(os.path.join(nested, "wnids.txt")):
        root = nested
    norm = T.Normalize(**NORMALIZE_DICT[name])
    train_tf = T.Compose([T.RandomCrop(64, padding=4), T.RandomHorizontalFlip(), TO_TENSOR, norm])
    train = TinyImageNet(root, "train", train_tf)
    if len(train.classes) > DATASET_INFO[name][0]:
        raise UserError(f"dataset '{name}': {os.path.join(root, 'wnids.txt')} lists {len(train.classes)} wnids, "
                        f"more than its {DATASET_INFO[name][0]} classes: restore the official copy from "
                        f"{TINY_IMAGENET_URL}")
    return train, TinyImageNet(root, "val", T.Compose([TO_TENSOR, norm]))


# dataset name -> (name, data_root) -> (train split, test split) with their per-sample transforms
DATASET_BUILDERS = {"fmnist": _fmnist, "mnist": _mnist, "cifar10": _cifar, "cifar100": _cifar, "svhn": _svhn,
                    "imagenet": _imagenet, "imagenet_32x32": _imagenet_32x32, "tiny_imagenet": _tiny_imagenet,
                    **{name: _places for name in PLACES_FOLDERS}, **{name: _fine_grained for name in FINE_GRAINED}}


def get_dataset(name, data_root="data", in_memory=False):
    """Returns (num_classes, train_dst, val_dst) like the upstream registry. `in_memory`: the datasets of
    IN_MEMORY as TensorImages (the same images, labels and augmentation, served in batches); others unchanged."""
    name = canonical_dataset(name)
    data_root = os.path.expanduser(data_root)
    if in_memory and name in IN_MEMORY:
        return (DATASET_INFO[name][0], *_tensor_images(name, data_root))
    return (DATASET_INFO[name][0], *DATASET_BUILDERS[name](name, data_root))



def cmi_feature_layers(teacher_name, teacher):
    """The modules whose inputs CMI reads instance features from: the reference uses the four residual stages
    of a resnet34 teacher, and every BatchNorm2d (None here) for any other."""
    if teacher_name == "resnet34":
        return [teacher.layer1, teacher.layer2, teacher.layer3, teacher.layer4]
    return None
