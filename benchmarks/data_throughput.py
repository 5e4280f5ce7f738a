"""Input pipeline of train_scratch.py, old vs new, next to the model step it feeds:

    old   torchvision-style Dataset + DataLoader: per-sample PIL/tensor transforms (crop, flip, normalise)
    new   in-memory uint8 TensorImages: one gather, then batched crop/flip/normalise on the training device

on real Fashion-MNIST and on a CIFAR-shaped dataset (50,000 generated 3x32x32 uint8 images, read as torchvision's
CIFAR10 reads them). The pipeline's share is its time per batch over (pipeline + model step) per batch.

    python -m benchmarks.data_throughput                 # batch 128, 60 batches per measurement, model wrn16_1
"""
import argparse
import time

import torch
import torchvision.transforms as T
from PIL import Image
from torch.utils.data import Dataset

import registry
from benchmarks.common import print_table, write_results
from engine.device import Precision
from engine.loaders import make_loader
from engine.memdata import TensorImages
from engine.train import fast_optimizer_kwargs


class CifarShaped(Dataset):
    """uint8 HWC images served as torchvision's CIFAR10 serves them: PIL image -> transform."""

    def __init__(self, data, targets, transform):
        self.data, self.targets, self.transform = data, targets, transform

    def __len__(self):
        return len(self.targets)

    def __getitem__(self, i):
        return self.transform(Image.fromarray(self.data[i])), int(self.targets[i])


def cifar_shaped(n=50000):
    g = torch.Generator().manual_seed(0)
    data = torch.randint(0, 256, (n, 32, 32, 3), generator=g, dtype=torch.uint8)
    targets = torch.randint(0, 10, (n,), generator=g)
    train_tf, _ = registry._cifar_like_transforms("cifar10", 32)
    old = CifarShaped(data.numpy(), targets, T.Compose([T.ToTensor(), train_tf]))
    new = TensorImages(data.permute(0, 3, 1, 2).contiguous(), targets, **registry.NORMALIZE_DICT["cifar10"],
                       padding=4, flip=True)
    return old, new


def time_batches(loader, batches):
    """Seconds per batch over `batches` batches (after one untimed batch)."""
    it = iter(loader)
    next(it)
    t0 = time.time()
    for _ in range(batches):
        images, _ = next(it)
    if images.is_cuda:   # the in-memory path runs asynchronously on a GPU
        torch.cuda.synchronize()
    return (time.time() - t0) / batches


def model_step_seconds(model_name, channels, batch_size, steps, device):
    torch.manual_seed(0)
    model = registry.get_model(model_name, num_classes=10, in_channels=channels).to(device)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, **fast_optimizer_kwargs(device))
    precision = Precision(device, False)
    x = torch.randn(batch_size, channels, 32, 32, device=device)
    y = torch.randint(0, 10, (batch_size,), device=device)

    def step():
        precision.backward_step(torch.nn.functional.cross_entropy(model(x), y), opt)
    step()
    t0 = time.time()
    for _ in range(steps):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return (time.time() - t0) / steps


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--batch_size", type=int, default=128)
    p.add_argument("--batches", type=int, default=60)
    p.add_argument("--model", default="wrn16_1")
    p.add_argument("--workers", default="0,2", help="DataLoader worker counts to measure for the old pipeline")
    p.add_argument("--data_root", default="data")
    p.add_argument("--name", default=None)
    args = p.parse_args()
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")

    _, fmnist_old, _ = registry.get_dataset("fmnist", args.data_root)
    _, fmnist_new, _ = registry.get_dataset("fmnist", args.data_root, in_memory=True)
    cifar_old, cifar_new = cifar_shaped()
    rows = []
    for name, old, new, channels in (("fmnist", fmnist_old, fmnist_new, 1), ("cifar-shaped", cifar_old, cifar_new, 3)):
        step_s = model_step_seconds(args.model, channels, args.batch_size, 10, device)
        pipelines = [(f"old (DataLoader, {w} workers)", old, int(w)) for w in args.workers.split(",")]
        for label, dataset, workers in pipelines + [("new (in-memory, batched)", new, 0)]:
            torch.manual_seed(0)
            loader = make_loader(dataset, args.batch_size, True, workers, device, seed=0, epoch=0)
            per_batch = time_batches(loader, args.batches)
            rows.append({"dataset": name, "pipeline": label, "images_per_s": round(args.batch_size / per_batch),
                         "ms_per_batch": round(1000 * per_batch, 2), "model_step_ms": round(1000 * step_s, 1),
                         "pipeline_share_%": round(100 * per_batch / (per_batch + step_s), 2)})
    print_table(rows, list(rows[0]))
    print(f"model step: {args.model} forward+backward+SGD at batch {args.batch_size} on {device.type}")
    write_results(args.name or f"data_throughput_{device.type}", {"args": vars(args), "rows": rows})


if __name__ == "__main__":
    main()
