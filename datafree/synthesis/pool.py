"""In-memory pool of every synthesized image, stored as uint8 on the training device."""
import torch

from engine import distributed


class ImagePool:
    def __init__(self, device, capacity=1024):
        self.device = device
        self.images = None
        self.size = 0
        self.capacity = capacity

    def __len__(self):
        return self.size

    def add(self, x):
        """Append a batch of images in [0, 1]. In distributed runs every rank receives every rank's batch."""
        x = x.detach()
        if distributed.is_distributed():
            x = _all_gather_cat(x)
        q = x.clamp(0, 1).mul(255).round().to(torch.uint8)
        if self.images is None:
            self.images = torch.empty((max(self.capacity, len(q)),) + q.shape[1:], dtype=torch.uint8, device=self.device)
        if self.size + len(q) > len(self.images):
            grown = torch.empty((max(2 * len(self.images), self.size + len(q)),) + q.shape[1:],
                                dtype=torch.uint8, device=self.device)
            grown[:self.size] = self.images[:self.size]
            self.images = grown
        self.images[self.size:self.size + len(q)] = q
        self.size += len(q)

    def sample(self, batch_size):
        """A batch drawn uniformly (with replacement) from everything stored, as float in [0, 1]."""
        if self.size == 0:
            raise RuntimeError("the image pool is empty: synthesize() before sample()")
        idx = torch.randint(0, self.size, (batch_size,), device=self.device)
        return self.images[idx].float().div_(255)

    def tensor(self):
        return self.images[:self.size] if self.images is not None else torch.empty(0, dtype=torch.uint8)

    def state_dict(self):
        return {"images": self.tensor().cpu()}

    def load_state_dict(self, state):
        images = state["images"]
        self.images, self.size = None, 0
        if len(images):
            self.images = images.to(self.device).clone()
            self.size = len(images)


def _all_gather_cat(x):
    """Gather variable-size batches from all ranks (sizes may differ by one)."""
    import torch.distributed as dist
    n = torch.tensor([len(x)], device=x.device)
    sizes = [torch.zeros_like(n) for _ in range(dist.get_world_size())]
    dist.all_gather(sizes, n)
    biggest = int(max(s.item() for s in sizes))
    padded = torch.zeros((biggest,) + x.shape[1:], dtype=x.dtype, device=x.device)
    padded[:len(x)] = x
    parts = [torch.zeros_like(padded) for _ in sizes]
    dist.all_gather(parts, padded)
    return torch.cat([p[:int(s.item())] for p, s in zip(parts, sizes)])


def load_image_folder(path, img_shape):
    """Every .png/.jpg under `path`, resized to img_shape (C, H, W), as a float tensor in [0, 1]."""
    import os

    from PIL import Image
    from torchvision.transforms.functional import pil_to_tensor

    from engine.errors import UserError

    files = sorted(os.path.join(root, f) for root, _, names in os.walk(path) for f in names
                   if f.lower().endswith((".png", ".jpg", ".jpeg")))
    if not files:
        raise UserError(f"--cmi_init {path}: no .png/.jpg images found there")
    mode = "L" if img_shape[0] == 1 else "RGB"
    images = [pil_to_tensor(Image.open(f).convert(mode).resize((img_shape[2], img_shape[1]))) for f in files]
    return torch.stack(images).float().div_(255)
