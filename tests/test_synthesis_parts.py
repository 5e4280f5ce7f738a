"""Hooks, losses, augmentation, pool and generator of datafree.synthesis, on hand-checkable inputs."""
import math

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from datafree.synthesis import losses
from datafree.synthesis.augment import Normalizer, random_crop_flip
from datafree.synthesis.generator import Generator
from datafree.synthesis.hooks import BNStatistics
from datafree.synthesis.pool import ImagePool
from engine.train import kd_loss


def bn_net(running_mean, running_var):
    net = nn.Sequential(nn.Conv2d(2, 2, 1), nn.BatchNorm2d(2)).eval()
    with torch.no_grad():
        net[0].weight.copy_(torch.eye(2).view(2, 2, 1, 1))
        net[0].bias.zero_()
    net[1].running_mean.copy_(running_mean)
    net[1].running_var.copy_(running_var)
    return net


def test_bn_loss_is_zero_when_batch_stats_match_running_stats():
    x = torch.randn(64, 2, 4, 4)
    var, mean = torch.var_mean(x, dim=(0, 2, 3), unbiased=False)
    stats = BNStatistics(bn_net(mean, var))
    with stats.attached():
        stats.hooks[0].module(x)
    assert stats.loss().item() == pytest.approx(0.0, abs=1e-6)


def test_bn_loss_grows_with_the_distance_and_matches_the_formula():
    x = torch.randn(64, 2, 4, 4)
    var, mean = torch.var_mean(x, dim=(0, 2, 3), unbiased=False)
    previous = 0.0
    for shift in (0.5, 1.0, 2.0):
        stats = BNStatistics(bn_net(mean + shift, var * (1 + shift)))
        with stats.attached():
            stats.hooks[0].module(x)
        expected = math.sqrt(2) * shift + torch.norm(var * shift).item()
        assert stats.loss().item() == pytest.approx(expected, rel=1e-4)
        assert stats.loss().item() > previous
        previous = stats.loss().item()


def test_bn_momentum_blends_with_the_moving_estimate():
    net = bn_net(torch.zeros(2), torch.ones(2))
    stats = BNStatistics(net, mmt=0.9)
    a, b = torch.randn(32, 2, 4, 4), 3 + torch.randn(32, 2, 4, 4)
    with stats.attached():
        net(a)
        stats.update_moving()         # first time: moving = current
        mean_a = stats.hooks[0].moving[0].clone()
        net(b)
    mean_b = b.mean((0, 2, 3))
    blended = 0.1 * mean_b + 0.9 * mean_a
    var_b = b.var((0, 2, 3), unbiased=False)
    blended_var = 0.1 * var_b + 0.9 * stats.hooks[0].moving[1]
    expected = torch.norm(blended) + torch.norm(blended_var - 1)
    assert stats.loss().item() == pytest.approx(expected.item(), rel=1e-4)
    stats.update_moving()
    assert torch.allclose(stats.hooks[0].moving[0], 0.9 * mean_a + 0.1 * mean_b, atol=1e-5)


def test_bn_hooks_exist_only_while_attached():
    net = bn_net(torch.zeros(2), torch.ones(2))
    stats = BNStatistics(net)
    with stats.attached():
        assert len(net[1]._forward_hooks) == 1
    assert len(net[1]._forward_hooks) == 0


def test_adversarial_loss_masks_disagreement_and_is_negative_kl():
    t = torch.tensor([[4.0, 0.0, 0.0], [0.0, 4.0, 0.0]])
    s = torch.tensor([[1.0, 0.0, 0.0], [3.0, 0.0, 0.0]])   # sample 0 agrees (argmax 0), sample 1 does not
    p_t, p_s = F.softmax(t[0], 0), F.softmax(s[0], 0)
    kl0 = (p_t * (p_t.log() - p_s.log())).sum()
    assert losses.adversarial_loss(s, t).item() == pytest.approx(-(kl0 / 2).item(), rel=1e-5)
    # Fully agreeing identical outputs: nothing to gain.
    assert losses.adversarial_loss(t, t).item() == pytest.approx(0.0, abs=1e-7)


def test_kd_loss_matches_a_precomputed_value():
    s = torch.tensor([[1.0, 2.0, 3.0]])
    t = torch.tensor([[3.0, 2.0, 1.0]])
    # KL(softmax(t/2) || softmax(s/2)) * 4, computed by hand: p = softmax([1.5, 1, .5]), q = reversed p.
    p = torch.softmax(torch.tensor([1.5, 1.0, 0.5]), 0)
    expected = 4 * (p * (p.log() - p.flip(0).log())).sum()
    assert kd_loss(s, t, T=2.0).item() == pytest.approx(expected.item(), rel=1e-6)
    assert kd_loss(s, t, T=2.0).item() == pytest.approx(1.28063, abs=1e-4)


def test_crop_flip_outputs_are_crops_of_the_padded_input():
    torch.manual_seed(0)
    x = torch.rand(16, 3, 8, 8)
    out = random_crop_flip(x, padding=2)
    padded = F.pad(x, (2, 2, 2, 2))
    for i in range(16):
        found = any(torch.equal(out[i], c) for dy in range(5) for dx in range(5)
                    for c in (padded[i, :, dy:dy + 8, dx:dx + 8], padded[i, :, dy:dy + 8, dx:dx + 8].flip(2)))
        assert found, i
    # Samples get different crops: not all equal to the un-augmented centre crop.
    assert sum(torch.equal(out[i], x[i]) for i in range(16)) < 16


def test_crop_flip_is_differentiable():
    x = torch.rand(4, 1, 8, 8, requires_grad=True)
    random_crop_flip(x).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_normalizer_roundtrip():
    norm = Normalizer((0.5, 0.4), (0.2, 0.1))
    x = torch.rand(2, 2, 3, 3)
    assert torch.allclose(norm.denormalize(norm(x)), x, atol=1e-6)


def test_pool_grows_by_one_batch_and_returns_only_stored_images():
    pool = ImagePool(torch.device("cpu"), capacity=4)
    stored = set()
    for call in range(3):
        batch = torch.randint(0, 256, (5, 1, 2, 2)).float() / 255
        pool.add(batch)
        stored.update(tuple(b.flatten().tolist()) for b in (batch * 255).round().to(torch.uint8))
        assert len(pool) == 5 * (call + 1)
    sample = pool.sample(64)   # a pass holds each stored image once: 15, not 64
    assert sample.shape == (15, 1, 2, 2) and sample.min() >= 0 and sample.max() <= 1
    for img in (sample * 255).round().to(torch.uint8):
        assert tuple(img.flatten().tolist()) in stored
    restored = ImagePool(torch.device("cpu"))
    restored.load_state_dict(pool.state_dict())
    assert torch.equal(restored.tensor(), pool.tensor())


def test_generator_shape_params_and_clone_shares_no_storage():
    g = Generator(nz=256, ngf=64, img_size=32, nc=3)
    assert sum(p.numel() for p in g.parameters()) == pytest.approx(2.3e6, rel=0.03)
    out = g(torch.randn(2, 256))
    assert out.shape == (2, 3, 32, 32) and out.min() >= 0 and out.max() <= 1
    fast = g.clone()
    own = {t.untyped_storage().data_ptr() for t in list(g.parameters()) + list(g.buffers())}
    copy = {t.untyped_storage().data_ptr() for t in list(fast.parameters()) + list(fast.buffers())}
    assert not own & copy
    with torch.no_grad():
        next(fast.parameters()).add_(1)
    assert not torch.equal(next(fast.parameters()), next(g.parameters()))


def test_reset_l0_reinitialises_the_first_linear_and_the_first_batchnorm():
    g = Generator(nz=8, ngf=16, img_size=8, nc=1)
    before = {k: v.clone() for k, v in g.state_dict().items()}
    with torch.no_grad():   # non-zero biases, so that their reset shows
        for name in ("l1.0", "conv_blocks.0"):
            before[f"{name}.bias"].fill_(0.5)
        g.load_state_dict(before)
    g.reset_l0()
    after = g.state_dict()
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert changed == {"l1.0.weight", "l1.0.bias", "conv_blocks.0.weight", "conv_blocks.0.bias"}
    for name in ("l1.0", "conv_blocks.0"):   # N(0, 0.02) weights, zero bias; running statistics untouched
        assert after[f"{name}.bias"].abs().sum() == 0 and after[f"{name}.weight"].std() < 0.03
        assert after[f"{name}.weight"].mean().abs() < 0.02


def test_pool_walks_a_shuffled_pass_without_replacement_with_a_partial_last_batch():
    pool = ImagePool(torch.device("cpu"))
    pool.add(torch.arange(10).float().view(10, 1, 1, 1) / 255)
    first = [(pool.sample(4) * 255).round().flatten().int().tolist() for _ in range(3)]
    assert [len(b) for b in first] == [4, 4, 2]                 # like DataLoader(shuffle=True, drop_last=False)
    assert sorted(sum(first, [])) == list(range(10))            # each image once per pass
    second = sum([(pool.sample(4) * 255).round().flatten().int().tolist() for _ in range(3)], [])
    assert sorted(second) == list(range(10)) and second != sum(first, [])   # a new permutation per pass
    pool.sample(4)
    pool.add(torch.full((2, 1, 1, 1), 20 / 255))                # adding starts a fresh pass over all 12
    after = sum([(pool.sample(5) * 255).round().flatten().int().tolist() for _ in range(3)], [])
    assert sorted(after) == list(range(10)) + [20, 20]


def test_capped_pool_keeps_only_the_newest_images_and_resumes():
    pool = ImagePool(torch.device("cpu"), max_size=6, storage_device=torch.device("cpu"))
    for value in range(4):                       # batches of 4 constant images: 0, 1, 2, 3 (x 1/255)
        pool.add(torch.full((4, 1, 2, 2), value / 255))
        assert len(pool) == min(4 * (value + 1), 6)
    kept = sorted((pool.tensor()[:, 0, 0, 0]).tolist())
    assert kept == [2, 2, 3, 3, 3, 3]             # the two oldest batches are gone
    assert set((pool.sample(6) * 255).round().flatten().tolist()) == {2.0, 3.0}
    restored = ImagePool(torch.device("cpu"), max_size=6)
    restored.load_state_dict(pool.state_dict())
    restored.add(torch.full((1, 1, 2, 2), 9 / 255))
    pool.add(torch.full((1, 1, 2, 2), 9 / 255))
    assert torch.equal(restored.tensor(), pool.tensor())


def test_batched_resized_crop_equals_torchvision_per_sample():
    import torchvision.transforms.functional as TF

    from datafree.synthesis.augment import resized_crop
    x = torch.rand(4, 2, 16, 12)
    boxes = torch.tensor([[0.0, 0, 12, 16], [2, 3, 8, 8], [4, 1, 7, 10], [0, 0, 3, 5]])
    flip = torch.tensor([False, False, True, False])
    out = resized_crop(x, boxes, flip)
    for i, (x0, y0, w, h) in enumerate(boxes.int().tolist()):
        ref = TF.resized_crop(x[i], y0, x0, h, w, [16, 12], antialias=False)
        assert torch.allclose(out[i], ref.flip(-1) if flip[i] else ref, atol=1e-5)


def test_cmi_local_view_crops_a_quarter_to_all_of_the_image():
    from datafree.synthesis.augment import random_resized_crop_flip
    torch.manual_seed(0)
    # column index as pixel value: a box of width bw maps [x0, x0 + bw - 1] onto the output row
    x = torch.arange(32.0).view(1, 1, 1, 32).expand(400, 1, 32, 32).contiguous()
    out = random_resized_crop_flip(x)
    spans = (out[:, 0, 0, :].amax(1) - out[:, 0, 0, :].amin(1) + 1)
    assert spans.min() >= 0.25 * 32 * 0.75 - 1 and spans.max() <= 32    # area >= 1/4, aspect within 3/4..4/3
    assert (spans < 20).float().mean() > 0.08 and (spans > 28).float().mean() > 0.05
    flipped = out[:, 0, 0, 0] > out[:, 0, 0, -1]
    assert 0.35 < flipped.float().mean() < 0.65


def test_deepinversion_jitter_rolls_and_flips_the_whole_batch_alike():
    from datafree.synthesis.augment import jitter_flip
    x = torch.rand(3, 1, 16, 16)
    seen_flip = seen_plain = False
    for seed in range(20):
        torch.manual_seed(seed)
        out = jitter_flip(x)
        candidates = {(dy, dx, f): torch.roll(x, (dy, dx), (2, 3)).flip(3) if f else torch.roll(x, (dy, dx), (2, 3))
                      for dy in range(-2, 3) for dx in range(-2, 3) for f in (False, True)}   # limit 1/8 of 16 px
        match = [k for k, v in candidates.items() if torch.equal(out, v)]
        assert len(match) == 1
        seen_flip |= match[0][2]
        seen_plain |= not match[0][2]
    assert seen_flip and seen_plain


@pytest.mark.parametrize("use, smallest", [("synthesis", 0.75), ("kd", 0.08)])
def test_resized_crop_views_of_the_imagenet_recipe_keep_their_area_range(use, smallest):
    """--synthesis_aug / --kd_aug resized_crop: upstream's ImageNet synthesis view (area 0.75-1) and KD view
    (torchvision's RandomResizedCrop, area 0.08-1), each with a flip, then the normaliser."""
    from datafree.synthesis.augment import Normalizer, make_augment
    torch.manual_seed(0)
    augment = make_augment("resized_crop", Normalizer((0.0,), (1.0,)), use)
    # row index along one axis, column index along the other: a box maps onto the spans it covers
    cols = torch.arange(64.0).view(1, 1, 1, 64).expand(600, 1, 64, 64)
    rows = torch.arange(64.0).view(1, 1, 64, 1).expand(600, 1, 64, 64)
    out_c = augment(cols.contiguous())
    torch.manual_seed(0)   # the same boxes for both
    out_r = augment(rows.contiguous())
    width = out_c[:, 0, 0, :].amax(1) - out_c[:, 0, 0, :].amin(1) + 1
    height = out_r[:, 0, :, 0].amax(1) - out_r[:, 0, :, 0].amin(1) + 1
    area = width * height / 64 ** 2
    assert area.min() >= smallest * 0.9 and area.max() <= 1.0
    assert area.min() < smallest + 0.1   # the range's low end is reached
    flipped = out_c[:, 0, 0, 0] > out_c[:, 0, 0, -1]
    assert 0.35 < flipped.float().mean() < 0.65


@pytest.mark.parametrize("pool_batch, kept_step", [("best", 1), ("last", 2)])
def test_pool_batch_keeps_the_lowest_loss_or_the_last_step(pool_batch, kept_step, monkeypatch):
    """--pool_batch: the batch a call pools is its lowest-loss step's (the reference's CIFAR code) or its last
    step's (its ImageNet code), also when the last step is not the lowest."""
    from test_fast_meta import make_synth

    from datafree.synthesis import FastSynthesizer
    synth = make_synth(FastSynthesizer, pool_batch=pool_batch)
    losses = iter([3.0, 1.0, 2.0])   # g_steps 3: the lowest loss at step 1, the last step is 2
    seen = []
    real = synth.inversion_loss

    def scripted(x_aug, targets):
        loss, parts, logits = real(x_aug, targets)
        return loss - loss.detach() + next(losses), parts, logits   # the scripted value, the real gradient

    monkeypatch.setattr(synth, "inversion_loss", scripted)
    real_view = synth.synthesis_view
    monkeypatch.setattr(synth, "synthesis_view", lambda x: (seen.append(x.detach().clone()), real_view(x))[1])
    out = synth.synthesize()
    assert len(seen) == 3 and not torch.equal(seen[1], seen[2])
    assert torch.equal(out["images"], seen[kept_step])


def test_view_flags_are_refused_where_the_method_does_not_use_them(tmp_path, capsys):
    import datafree_kd
    with pytest.raises(SystemExit):
        datafree_kd.main(["--method", "cmi", "--synthesis_aug", "resized_crop", "--save_dir", str(tmp_path)])
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--synthesis_aug" in err[0] and "fast_meta" in err[0]
    with pytest.raises(SystemExit):
        datafree_kd.main(["--method", "dafl", "--kd_aug", "crop", "--save_dir", str(tmp_path)])
    assert "--kd_aug" in capsys.readouterr().err
