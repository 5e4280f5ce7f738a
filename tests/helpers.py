"""Small generated data and models for tests."""
import torch
import torch.nn as nn
from torch.utils.data import TensorDataset


def make_blobs(n, num_classes=4, channels=1, size=32, seed=0):
    """Class k = a bright square at a class-specific position + noise; learnable in a few steps."""
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % num_classes
    x = 0.1 * torch.randn(n, channels, size, size, generator=g)
    step = size // num_classes
    for k in range(num_classes):
        x[y == k, :, k * step:(k + 1) * step, k * step:(k + 1) * step] += 2.0
    return TensorDataset(x, y)


def tiny_teacher_checkpoint(path):
    """A resnet8 teacher (1 channel, 10 classes) briefly trained on generated data, saved to `path`."""
    import registry
    torch.manual_seed(0)
    model = registry.get_model("resnet8", num_classes=10, in_channels=1)
    data = make_blobs(256, seed=2)
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    model.train()
    for _ in range(3):
        for i in range(0, 256, 64):
            x, y = data.tensors[0][i:i + 64], data.tensors[1][i:i + 64]
            loss = torch.nn.functional.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
    torch.save({"state_dict": model.state_dict()}, path)
    return str(path)


def small_classifier(seed):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 3))


def pool_images(run_dir, checkpoint="last.pth"):
    """The synthetic images a data-free run's checkpoint covers (uint8, slot order), read back from its pool store."""
    import os

    from datafree.synthesis.pool import ImagePool
    from engine.chunkstore import ChunkStore
    ckpt = torch.load(os.path.join(run_dir, checkpoint), weights_only=False)
    pool = ImagePool(torch.device("cpu"))
    pool.attach_store(ChunkStore(os.path.join(run_dir, "pool")))
    pool.load_state_dict(ckpt["synthesizer"]["pool"])
    return pool.tensor()
