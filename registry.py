"""Name -> object registries: models, datasets and their normalisation constants."""
import os

from torchvision import datasets
from torchvision import models as tv_models
from torchvision import transforms as T

from engine.checkpoint import load_weights
from engine.datasets import IdxImageDataset, find_idx_folder
from engine.errors import UserError
from models import MODEL_DICT

NORMALIZE_DICT = {
    "mnist": dict(mean=(0.1307,), std=(0.3081,)),
    "fmnist": dict(mean=(0.2860,), std=(0.3530,)),
    "cifar10": dict(mean=(0.4914, 0.4822, 0.4465), std=(0.2023, 0.1994, 0.2010)),
    "cifar100": dict(mean=(0.5071, 0.4867, 0.4408), std=(0.2675, 0.2565, 0.2761)),
    "svhn": dict(mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5)),
    "imagenet": dict(mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225)),
    "tiny_imagenet": dict(mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5)),
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
}
DATASET_ALIASES = {"fashion-mnist": "fmnist", "fashion_mnist": "fmnist", "tiny-imagenet": "tiny_imagenet",
                   "tinyimagenet": "tiny_imagenet"}

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


def get_model(name, num_classes, in_channels=3, pretrained=False, **kwargs):
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
    return load_weights(model, path, what="teacher checkpoint")


def _cifar_like_transforms(name, size, pad_to=None):
    norm = T.Normalize(**NORMALIZE_DICT[name])
    pad = [T.Pad((pad_to - size) // 2)] if pad_to else []
    train = T.Compose(pad + [T.RandomCrop(pad_to or size, padding=4), T.RandomHorizontalFlip(), norm])
    val = T.Compose(pad + [norm])
    return train, val


def _torchvision(ctor, root, name, **kw):
    try:
        return ctor(root, download=True, **kw)
    except Exception as err:
        raise UserError(f"dataset '{name}' is not under {root} and could not be downloaded "
                        f"({type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}); "
                        f"put the files there or check the network") from None


def _image_folder(root, split, transform, name):
    path = os.path.join(root, split)
    if not os.path.isdir(path):
        raise UserError(f"dataset '{name}': no ImageFolder tree at {path} (expected {path}/<class>/<image>)")
    return datasets.ImageFolder(path, transform=transform)


def get_dataset(name, data_root="data", return_transform=False):
    """Returns (num_classes, train_dst, val_dst) like the upstream registry."""
    name = canonical_dataset(name)
    data_root = os.path.expanduser(data_root)
    num_classes = DATASET_INFO[name][0]
    to_tensor = T.ToTensor()
    if name == "fmnist":
        local = os.path.join(data_root, "torchdata", "FashionMNIST", "raw")
        folder = find_idx_folder([local, os.path.join(data_root, "fashion-mnist"), DEBIAN_FMNIST])
        train_tf, val_tf = _cifar_like_transforms(name, 28, pad_to=32)
        if folder is not None:
            train_dst = IdxImageDataset(folder, train=True, transform=train_tf)
            val_dst = IdxImageDataset(folder, train=False, transform=val_tf)
        else:
            root = os.path.join(data_root, "torchdata")
            train_dst = _torchvision(datasets.FashionMNIST, root, name, train=True,
                                     transform=T.Compose([to_tensor, train_tf]))
            val_dst = _torchvision(datasets.FashionMNIST, root, name, train=False,
                                   transform=T.Compose([to_tensor, val_tf]))
    elif name == "mnist":
        root = os.path.join(data_root, "torchdata")
        tf = T.Compose([T.Resize((32, 32)), to_tensor, T.Normalize(**NORMALIZE_DICT[name])])
        train_tf = val_tf = tf
        train_dst = _torchvision(datasets.MNIST, root, name, train=True, transform=tf)
        val_dst = _torchvision(datasets.MNIST, root, name, train=False, transform=tf)
    elif name in ("cifar10", "cifar100"):
        root = os.path.join(data_root, "torchdata")
        ctor = datasets.CIFAR10 if name == "cifar10" else datasets.CIFAR100
        train_tf, val_tf = _cifar_like_transforms(name, 32)
        train_tf, val_tf = T.Compose([to_tensor, train_tf]), T.Compose([to_tensor, val_tf])
        train_dst = _torchvision(ctor, root, name, train=True, transform=train_tf)
        val_dst = _torchvision(ctor, root, name, train=False, transform=val_tf)
    elif name == "svhn":
        root = os.path.join(data_root, "torchdata")
        train_tf = val_tf = T.Compose([to_tensor, T.Normalize(**NORMALIZE_DICT[name])])
        train_dst = _torchvision(datasets.SVHN, root, name, split="train", transform=train_tf)
        val_dst = _torchvision(datasets.SVHN, root, name, split="test", transform=val_tf)
    elif name == "imagenet":
        root = os.path.join(data_root, "ILSVRC2012")
        norm = T.Normalize(**NORMALIZE_DICT[name])
        size = DATASET_INFO[name][2]
        train_tf = T.Compose([T.RandomResizedCrop(size), T.RandomHorizontalFlip(), to_tensor, norm])
        val_tf = T.Compose([T.Resize(size * 256 // 224), T.CenterCrop(size), to_tensor, norm])
        train_dst = _image_folder(root, "train", train_tf, name)
        val_dst = _image_folder(root, "val", val_tf, name)
    else:  # tiny_imagenet
        root = os.path.join(data_root, "tiny-imagenet-200")
        norm = T.Normalize(**NORMALIZE_DICT[name])
        train_tf = T.Compose([T.RandomCrop(64, padding=4), T.RandomHorizontalFlip(), to_tensor, norm])
        val_tf = T.Compose([to_tensor, norm])
        train_dst = _image_folder(root, "train", train_tf, name)
        val_dst = _image_folder(root, "val", val_tf, name)
    if return_transform:
        return num_classes, train_dst, val_dst, train_tf, val_tf
    return num_classes, train_dst, val_dst

