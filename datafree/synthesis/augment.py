"""Batched augmentation of synthetic images on the training device: random crop with padding and normalisation
(engine.augment, shared with the real-data loaders), random resized crop, flip, DeepInversion's jitter.
`make_augment` builds the views that --synthesis_aug / --kd_aug name."""
import math

import torch
import torch.nn.functional as F

from engine.augment import Normalizer, per_sample, random_crop_flip  # noqa: F401  (re-exported)


def resized_crop(x, boxes, flip=None):
    """Crop each sample to its box (x0, y0, w, h in whole pixels) and resize it bilinearly back to the input size,
    as torchvision's resized_crop (crop, then interpolate with align_corners=False); `flip` (bool per sample)
    mirrors the result horizontally. One grid_sample for the whole batch."""
    n, _, h, w = x.shape
    x0, y0, bw, bh = boxes.to(x.dtype).unbind(1)

    def source(start, length, size):   # output pixel j -> input pixel start + (j + .5) * length / size - .5
        j = torch.arange(size, device=x.device, dtype=x.dtype)
        p = start[:, None] + (j + 0.5) * (length / size)[:, None] - 0.5
        p = torch.minimum(torch.maximum(p, start[:, None]), (start + length - 1)[:, None])   # stay in the crop
        return (2 * p + 1) / size - 1                                                           # grid units

    ys, xs = source(y0, bh, h), source(x0, bw, w)
    if flip is not None:
        xs = torch.where(flip[:, None], xs.flip(1), xs)
    grid = torch.stack([xs[:, None, :].expand(n, h, w), ys[:, :, None].expand(n, h, w)], dim=-1)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


def random_resized_crop_flip(x, scale=(0.25, 1.0), ratio=(3 / 4, 4 / 3), rows=None):
    """CMI's local view: per sample a box of area fraction U(scale) and log-uniform aspect ratio (clipped to the
    image), at a uniform position, resized to the input size, then a horizontal flip with probability 1/2."""
    n, _, h, w = x.shape
    dev = x.device
    area = h * w * per_sample(lambda k: torch.empty(k, device=dev).uniform_(*scale), n, rows)
    log_r = per_sample(lambda k: torch.empty(k, device=dev).uniform_(math.log(ratio[0]), math.log(ratio[1])), n, rows)
    bw = (area * log_r.exp()).sqrt().round().clamp(1, w)
    bh = (area / log_r.exp()).sqrt().round().clamp(1, h)
    x0 = (per_sample(lambda k: torch.rand(k, device=dev), n, rows) * (w - bw + 1)).floor()
    y0 = (per_sample(lambda k: torch.rand(k, device=dev), n, rows) * (h - bh + 1)).floor()
    flip = per_sample(lambda k: torch.rand(k, device=dev), n, rows) < 0.5
    return resized_crop(x, torch.stack([x0, y0, bw, bh], 1), flip)


def jitter_flip(x, limit=1 / 8):
    """DeepInversion's augmentation: the whole batch is rolled (pixels wrap around) by one random offset of up
    to `limit` of the size per axis, then the whole batch is flipped horizontally with probability 1/2."""
    ly, lx = int(x.shape[-2] * limit), int(x.shape[-1] * limit)
    dy, dx = int(torch.randint(-ly, ly + 1, ())), int(torch.randint(-lx, lx + 1, ()))
    x = torch.roll(x, shifts=(dy, dx), dims=(2, 3))
    return x.flip(3) if float(torch.rand(())) < 0.5 else x


class Augment:
    """x in [0, 1] -> crop + flip + normalise, differentiable w.r.t. x."""

    def __init__(self, normalizer, padding=4, flip=True):
        self.normalizer, self.padding, self.flip = normalizer, padding, flip

    def __call__(self, x, rows=None):
        return self.normalizer(random_crop_flip(x, self.padding, self.flip, rows))


class ResizedCropAugment:
    """x in [0, 1] -> RandomResizedCrop(area fraction `scale`, ratio 3/4-4/3) + flip + normalise, differentiable."""

    def __init__(self, normalizer, scale):
        self.normalizer, self.scale = normalizer, scale

    def __call__(self, x, rows=None):
        return self.normalizer(random_resized_crop_flip(x, self.scale, rows=rows))


# --synthesis_aug / --kd_aug: upstream's ImageNet synthesizer views its batches through kornia's
# RandomResizedCrop(scale 0.75-1) + flip and trains the student on RandomResizedCrop(224) (torchvision's default
# scale 0.08-1) + flip of its pool; "crop" is the 4 px padded crop + flip of every other reference recipe.
CROP_SCALES = {"synthesis": (0.75, 1.0), "kd": (0.08, 1.0)}
AUGMENTATIONS = ("crop", "resized_crop")


def make_augment(kind, normalizer, use):
    """The augmentation `kind` names, for `use` "synthesis" or "kd" (the resized crop's scale differs)."""
    if kind == "crop":
        return Augment(normalizer)
    if kind == "resized_crop":
        return ResizedCropAugment(normalizer, CROP_SCALES[use])
    raise ValueError(f"unknown augmentation {kind!r}; choose from {', '.join(AUGMENTATIONS)}")
