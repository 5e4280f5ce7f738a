"""NAYER's pieces on hand-checkable inputs: class embeddings, the noisy-layer generator, the synthesis schedule
(rebuilds, loops, adversarial switch), and one end-to-end run with each data-free embedding source."""
import json

import numpy as np
import pytest
import torch
import torch.nn as nn

import datafree_kd
import registry
from datafree.synthesis import NayerSynthesizer
from datafree.synthesis.augment import Normalizer
from datafree.synthesis.embeddings import CLIP, class_embeddings
from datafree.synthesis.generator import NoisyLayerDeepGenerator, NoisyLayerGenerator
from engine.errors import UserError


def small_teacher(num_classes=10):
    torch.manual_seed(0)
    return registry.get_model("resnet8", num_classes=num_classes, in_channels=1)


@pytest.mark.parametrize("name, rows", [("cifar10", 10), ("cifar100", 100), ("tiny_imagenet", 200),
                                        ("imagenet", 1000)])
def test_shipped_clip_embeddings_load_on_cpu_with_one_row_per_class(name, rows):
    emb = class_embeddings("auto", name, rows, teacher=None)
    assert emb.shape == (rows, 512) and emb.dtype == torch.float32 and emb.device.type == "cpu"
    assert torch.equal(emb, torch.from_numpy(np.load(CLIP[name])))
    with open(CLIP[name].replace("_clip_vitb32.npy", "_classes.txt")) as f:
        classes = f.read().splitlines()
    assert len(classes) == rows and emb.norm(dim=1).min() > 1
    # one vector per class name: ImageNet's two "crane" classes (bird, machine) share theirs, no other rows do
    assert len(set(map(tuple, emb.tolist()))) == len(set(classes))


def test_data_free_sources():
    teacher = small_teacher()
    head = [m for m in teacher.modules() if isinstance(m, nn.Linear)][-1]
    assert torch.equal(class_embeddings("auto", "fmnist", 10, teacher), head.weight.detach())
    assert torch.equal(class_embeddings("teacher", "cifar10", 10, teacher), head.weight.detach())
    assert torch.equal(class_embeddings("onehot", "fmnist", 10, teacher), torch.eye(10))
    random = class_embeddings("random", "fmnist", 10, teacher)
    assert random.shape == (10, 512) and torch.equal(random, class_embeddings("random", "svhn", 10, None))
    torch.manual_seed(123)   # fixed vectors: the global random state does not change them
    assert torch.equal(random, class_embeddings("random", "fmnist", 10, None))


def test_embedding_files_and_their_errors(tmp_path):
    good = torch.randn(10, 7)
    np.save(tmp_path / "e.npy", good.numpy())
    torch.save(good, tmp_path / "e.pt")
    assert torch.equal(class_embeddings(str(tmp_path / "e.npy"), "fmnist", 10, None), good)
    assert torch.equal(class_embeddings(str(tmp_path / "e.pt"), "fmnist", 10, None), good)
    with pytest.raises(UserError, match=r"no such file"):
        class_embeddings(str(tmp_path / "missing.npy"), "fmnist", 10, None)
    with pytest.raises(UserError, match=r"shape \(10, 7\), expected \(100, d\)"):
        class_embeddings(str(tmp_path / "e.npy"), "cifar100", 100, None)
    with pytest.raises(UserError, match=r"shape \(10, 512\), expected \(100, d\)"):
        class_embeddings("cifar10", "cifar100", 100, None)
    bad = good.clone()
    bad[3, 2] = float("nan")
    np.save(tmp_path / "nan.npy", bad.numpy())
    with pytest.raises(UserError, match="NaN"):
        class_embeddings(str(tmp_path / "nan.npy"), "fmnist", 10, None)
    torch.save({"emb": good}, tmp_path / "dict.pt")
    with pytest.raises(UserError, match="not a tensor"):
        class_embeddings(str(tmp_path / "dict.pt"), "fmnist", 10, None)
    (tmp_path / "e.txt").write_text("1 2 3")
    with pytest.raises(UserError, match="unknown file type"):
        class_embeddings(str(tmp_path / "e.txt"), "fmnist", 10, None)
    with pytest.raises(UserError, match="no Linear layer with 7 outputs"):
        class_embeddings("teacher", "fmnist", 7, small_teacher())


def test_noisy_layer_serves_one_block_of_classes_per_layer():
    """Rows i*C..(i+1)*C-1 go through noisy layer i; the last layer takes the partial block."""
    emb = torch.randn(4, 6)
    g = NoisyLayerGenerator(emb, batch_size=10, hidden=5, ngf=4, img_size=8, nc=1)
    assert len(g.le1) == 3 and g.label_emb.shape == (4, 6)
    assert "label_emb" not in g.state_dict()   # a buffer that moves with the module, not a checkpoint entry
    targets = torch.tensor([0, 1, 2, 3, 0, 1, 2, 3, 2, 1])
    seen = []
    for i, layer in enumerate(g.le1):
        layer.register_forward_hook(lambda m, inp, out, i=i: seen.append((i, inp[0].shape[0])))
    x = g(targets)
    assert x.shape == (10, 1, 8, 8) and 0 <= x.min() and x.max() <= 1
    assert seen == [(0, 4), (1, 4), (2, 2)]
    # the same class through a different noisy layer gives a different image
    assert not torch.allclose(x[0], x[4])


def test_noisy_layer_reset_and_reinit_draw_fresh_weights():
    g = NoisyLayerGenerator(torch.randn(4, 6), batch_size=8, hidden=5, ngf=4, img_size=8, nc=1)
    before = {k: v.clone() for k, v in g.state_dict().items()}
    g.reset_noisy_layers()
    after = g.state_dict()
    for k in before:
        changed = not torch.equal(before[k], after[k])
        assert changed == k.startswith("le1."), k   # weights re-drawn, biases zeroed; nothing else touched
    for layer in g.le1:
        assert torch.all(layer.bias == 0) and 0.5 < layer.weight.std() < 1.5
    torch.manual_seed(5)
    g.reinit()
    torch.manual_seed(5)
    fresh = NoisyLayerGenerator(torch.randn(4, 6), batch_size=8, hidden=5, ngf=4, img_size=8, nc=1)
    torch.manual_seed(5)
    fresh = NoisyLayerGenerator(fresh.label_emb, batch_size=8, hidden=5, ngf=4, img_size=8, nc=1)
    for (k, a), b in zip(g.state_dict().items(), fresh.state_dict().values(), strict=True):
        assert torch.equal(a, b), k   # in place = a newly built generator from the same random state


def test_deep_generator_makes_224_px_images_from_14_px():
    g = NoisyLayerDeepGenerator(torch.randn(5, 8), batch_size=5, hidden=6, ngf=2, img_size=224, nc=3)
    assert g.init_size == 14 and g(torch.arange(5)).shape == (5, 3, 224, 224)
    with pytest.raises(ValueError, match="multiple of 16"):
        NoisyLayerDeepGenerator(torch.randn(5, 8), batch_size=5, img_size=100)


def make_synth(warmup=2, g_life=3, g_loops=2, gwp_loops=3, adv=1.0, batch=12):
    teacher = small_teacher()
    student = small_teacher()
    generator = NoisyLayerGenerator(class_embeddings("onehot", "fmnist", 10, None), batch, hidden=8, ngf=4,
                                    img_size=28, nc=1)
    return NayerSynthesizer(teacher, student, generator, g_steps=2, lr_g=4e-3, g_life=g_life, g_loops=g_loops,
                            gwp_loops=gwp_loops, num_classes=10, img_shape=(1, 28, 28),
                            normalizer=Normalizer((0.5,), (0.5,)), device=torch.device("cpu"),
                            synthesis_batch_size=batch, batch_size=batch, adv=adv, bn=1.0, oh=1.0, bn_mmt=0.9,
                            warmup=warmup)


@pytest.mark.parametrize("size, flip, jitter", [(32, True, False), (64, False, False), (224, False, True)])
def test_synthesis_view_follows_the_reference_and_kd_batches_keep_crop_and_flip(size, flip, jitter):
    """The reference flips synthesis batches for CIFAR only (not Tiny-ImageNet, not ImageNet) and jitters at 224 px;
    KD batches come from the dataset's training transform, with a flip everywhere."""
    gen_cls = NoisyLayerDeepGenerator if size > 64 else NoisyLayerGenerator
    synth = NayerSynthesizer(small_teacher(), small_teacher(), gen_cls(torch.eye(10), 10, hidden=4, ngf=2,
                                                                      img_size=size, nc=1),
                             num_classes=10, img_shape=(1, size, size), normalizer=Normalizer((0.5,), (0.5,)),
                             device=torch.device("cpu"), synthesis_batch_size=10, batch_size=10)
    assert synth.synthesis_augment.flip is flip and synth.augment.flip is True
    assert (synth.jitter is not None) is jitter
    x = torch.rand(10, 1, size, size)
    torch.manual_seed(0)
    expected = synth.synthesis_augment(x)
    torch.manual_seed(0)
    assert torch.equal(synth.synthesis_view(x), expected)


def test_balanced_targets_repeat_every_class_and_draw_the_rest():
    synth = make_synth(batch=25)
    torch.manual_seed(0)
    t = synth.balanced_targets()
    assert t.shape == (25,) and torch.equal(t[:20], torch.arange(10).repeat(2))
    assert 0 <= t[20:].min() and t[20:].max() < 10


def test_schedule_rebuilds_loops_and_switches_the_adversarial_term_on_after_warm_up():
    """warmup 2, g_life 3: calls 0 and 1 are warm-up (3 loops, no adversarial term), then 2 loops with it; the
    generator is rebuilt at the calls c (counted from 0) with (c - warmup) % g_life == 0 or c % g_life == 0."""
    synth = make_synth()
    rebuilt, loops, adversarial = [], [], []
    real_reinit, real_reset = synth.generator.reinit, synth.generator.reset_noisy_layers
    synth.generator.reinit = lambda: (rebuilt.append(synth.epoch), real_reinit())
    synth.generator.reset_noisy_layers = lambda: (loops.append(synth.epoch), real_reset())
    real_loss = synth.inversion_loss

    def recorded(x_aug, targets):
        out = real_loss(x_aug, targets)
        adversarial.append((synth.epoch, "loss_adv" in out[1]))
        return out
    synth.inversion_loss = recorded
    pool_sizes = []
    for _ in range(6):
        synth.synthesize()
        pool_sizes.append(len(synth.pool))
    assert rebuilt == [0, 2, 3, 5]   # calls c with (c - 2) % 3 == 0 or c % 3 == 0
    # loops are counted after the call's increment: calls 0, 1 -> 3 loops each (warm-up), then 2 each
    assert [loops.count(e) for e in range(1, 7)] == [3, 3, 2, 2, 2, 2]
    assert pool_sizes == [36, 72, 96, 120, 144, 168]   # one lowest-loss batch of 12 per loop
    assert {e for e, on in adversarial if on} == {3, 4, 5, 6} and {e for e, on in adversarial if not on} == {1, 2}


def test_resume_state_holds_generator_epoch_and_momentum():
    synth = make_synth()
    synth.synthesize()
    state = synth.state_dict()
    other = make_synth()
    other.load_state_dict(state)
    assert other.epoch == 1 and len(other.pool) == len(synth.pool)
    for a, b in zip(synth.generator.state_dict().values(), other.generator.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    assert all(h.moving is not None for h in other.bn_stats.hooks)


def test_nayer_runs_end_to_end_with_a_data_free_embedding(tiny_data, tiny_teacher, tmp_path):
    """(test_baselines runs every method, nayer with the default source, the teacher's classifier rows.)"""
    source = "random"
    flags = ["--method", "nayer", "--teacher", "resnet8", "--student", "resnet8", "--dataset", "fmnist",
             "--teacher_ckpt", tiny_teacher, "--epochs", "2", "--warmup", "1", "--batch_size", "8",
             "--synthesis_batch_size", "10", "--kd_steps", "2", "--ep_steps", "2", "--g_steps", "2", "--ngf", "8",
             "--le_emb_size", "16", "--g_loops", "1", "--gwp_loops", "2", "--adv", "1.33", "--bn", "10",
             "--oh", "0.5", "--label_emb", source, "-j", "0", "--seed", "0", "--save_dir", str(tmp_path), "-p", "1"]
    datafree_kd.main(flags)
    log = (tmp_path / "log.txt").read_text()   # -p 1 without a terminal: a progress line per KD step
    assert "[kd] step 1/2 loss=" in log and "[kd] step 2/2 loss=" in log and "img/s ETA" in log
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["method"] == "nayer" and summary["epochs_done"] == 2
    ckpt = torch.load(tmp_path / "last.pth", weights_only=False)
    assert ckpt["args"]["label_emb"] == source and ckpt["args"]["T"] == 20 and ckpt["args"]["bn_mmt"] == 0.9
    assert ckpt["synthesizer"]["epoch"] == 2 and ckpt["synthesizer"]["pool"]["stored"] == 30   # 2 + 1 loops of 10


def test_a_bad_embedding_flag_ends_with_one_line(tiny_data, tiny_teacher, tmp_path, capsys):
    flags = ["--method", "nayer", "--teacher", "resnet8", "--student", "resnet8", "--dataset", "fmnist",
             "--teacher_ckpt", tiny_teacher, "--label_emb", str(tmp_path / "none.npy"), "-j", "0",
             "--save_dir", str(tmp_path / "run")]
    with pytest.raises(SystemExit) as exc:
        datafree_kd.main(flags)
    err = capsys.readouterr().err.strip().splitlines()   # refused before the run starts: nothing else printed
    assert exc.value.code == 2 and len(err) == 1 and "none.npy: no such file" in err[0]
    assert not (tmp_path / "run").exists()
