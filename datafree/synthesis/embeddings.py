"""Class embeddings for label-conditioned generators (NAYER): `--label_emb` -> a (classes, d) float32 tensor.

Names: a dataset with a shipped CLIP ViT-B/32 text embedding (datafree/label_embeddings/, NAYER's own vectors),
or one of the data-free sources below, for datasets without text embeddings; or the path of a .npy / .pt file."""
import os

import numpy as np
import torch
import torch.nn as nn

from engine.errors import UserError

FOLDER = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "label_embeddings")
CLIP = {name: os.path.join(FOLDER, f"{name}_clip_vitb32.npy")
        for name in ("cifar10", "cifar100", "tiny_imagenet", "imagenet")}
RANDOM_DIM = 512   # the width of CLIP's vectors
RANDOM_SEED = 0    # the same vectors in every run (and every seed of a comparison), like a text embedding


def teacher_classifier(teacher, num_classes):
    """The rows of the teacher's last Linear layer with one output per class: a class embedding it already holds."""
    heads = [m for m in teacher.modules() if isinstance(m, nn.Linear) and m.out_features == num_classes]
    if not heads:
        raise UserError(f"--label_emb teacher: the teacher has no Linear layer with {num_classes} outputs; "
                        "pass --label_emb random, onehot or a file")
    return heads[-1].weight.detach().float().cpu().clone()


def random_vectors(num_classes):
    return torch.randn(num_classes, RANDOM_DIM, generator=torch.Generator().manual_seed(RANDOM_SEED))


DATA_FREE = {
    "teacher": teacher_classifier,
    "random": lambda teacher, num_classes: random_vectors(num_classes),
    "onehot": lambda teacher, num_classes: torch.eye(num_classes),
}
DEFAULT_DATA_FREE = "teacher"   # the best of the three on the Fashion-MNIST protocol (README, results/)


def default_source(dataset):
    return dataset if dataset in CLIP else DEFAULT_DATA_FREE


def check_embedding_source(source):
    """Refuse a --label_emb that names nothing (before a run starts); shapes are checked when it is read."""
    if source != "auto" and source not in DATA_FREE and source not in CLIP:
        read_file(source, check_only=True)


def read_file(path, check_only=False):
    if not os.path.isfile(path):
        raise UserError(f"--label_emb {path}: no such file; pass a .npy or .pt file of shape (classes, d), a "
                        f"dataset name ({', '.join(CLIP)}) or one of {', '.join(DATA_FREE)}")
    if not path.endswith((".npy", ".pt")):
        raise UserError(f"--label_emb {path}: unknown file type; use .npy (numpy.save) or .pt (torch.save)")
    if check_only:
        return None
    try:
        if path.endswith(".npy"):
            return torch.from_numpy(np.load(path, allow_pickle=False))
        value = torch.load(path, map_location="cpu", weights_only=True)
        if not isinstance(value, torch.Tensor):
            raise ValueError(f"holds a {type(value).__name__}, not a tensor")
        return value
    except (ValueError, OSError, RuntimeError, EOFError) as e:
        raise UserError(f"--label_emb {path}: cannot read it ({e}); save a (classes, d) array with numpy.save "
                        "or a tensor with torch.save") from None


def class_embeddings(source, dataset, num_classes, teacher):
    """`source`: "auto" (the dataset's CLIP file, else DEFAULT_DATA_FREE), a name, or a file path."""
    if source == "auto":
        source = default_source(dataset)
    if source in DATA_FREE:
        emb = DATA_FREE[source](teacher, num_classes)
    else:
        emb = read_file(CLIP.get(source, source))
    if emb.ndim != 2 or emb.shape[0] != num_classes:
        raise UserError(f"--label_emb {source}: shape {tuple(emb.shape)}, expected ({num_classes}, d) for "
                        f"{dataset}'s {num_classes} classes")
    emb = emb.float()
    if not torch.isfinite(emb).all():
        raise UserError(f"--label_emb {source}: holds NaN or infinite values; fix the file")
    return emb
