"""Meta-gradients of the fast synthesizers and the data-free training loop (resume, outputs)."""
import json
import types

import pytest
import torch

import datafree_kd
from datafree.synthesis import FastMetaSynthesizer, FastSynthesizer, Generator
from datafree.synthesis.augment import Normalizer
from helpers import pool_images, small_classifier


def make_synth(cls, **kwargs):
    teacher, student = small_classifier(0).eval(), small_classifier(1)
    torch.manual_seed(2)
    gen = Generator(nz=8, ngf=4, img_size=8, nc=1)
    return cls(teacher, student, gen, nz=8, num_classes=3, img_shape=(1, 8, 8), normalizer=Normalizer((0.5,), (0.5,)),
               device=torch.device("cpu"), synthesis_batch_size=6, batch_size=4, g_steps=3, lr_g=0.01, lr_z=0.01,
               adv=1.0, bn=1.0, oh=1.0, **kwargs)


def test_maml_meta_gradient_is_the_sum_of_inner_gradients():
    synth = make_synth(FastMetaSynthesizer, is_maml=1)
    recorded = []
    original = synth.after_inner_backward

    def record(inner, step):
        recorded.append([p.grad.clone() for p in inner.parameters()])
        original(inner, step)

    synth.after_inner_backward = record
    before = [p.detach().clone() for p in synth.generator.parameters()]
    synth.synthesize()
    assert len(recorded) == 3
    for i, p in enumerate(synth.generator.parameters()):
        expected = sum(step[i] for step in recorded)
        assert torch.allclose(p.grad, expected, atol=1e-7)
    # the meta step was taken
    assert any(not torch.equal(b, p) for b, p in zip(before, synth.generator.parameters(), strict=True))


def test_reptile_meta_gradient_is_scaled_parameter_difference():
    synth = make_synth(FastMetaSynthesizer, is_maml=0, reptile_scale=67.0)
    before = [p.detach().clone() for p in synth.generator.parameters()]
    captured = {}
    original = synth.after_inner_loop

    def capture(inner, z):
        captured["fast"] = [p.detach().clone() for p in inner.parameters()]
        original(inner, z)

    synth.after_inner_loop = capture
    synth.synthesize()
    for p, b, f in zip(synth.generator.parameters(), before, captured["fast"], strict=True):
        assert torch.allclose(p.grad, 67.0 * (b - f), atol=1e-6)
    assert any(not torch.equal(b, f) for b, f in zip(before, captured["fast"], strict=True))


def test_fast_updates_the_generator_directly_and_fills_the_pool():
    synth = make_synth(FastSynthesizer)
    before = [p.detach().clone() for p in synth.generator.parameters()]
    assert synth.inner_generator() is synth.generator
    for call in range(2):
        out = synth.synthesize()
        assert len(synth.pool) == 6 * (call + 1)
    assert out["images"].shape == (6, 1, 8, 8)
    assert any(not torch.equal(b, p) for b, p in zip(before, synth.generator.parameters(), strict=True))
    batch = synth.sample()
    assert batch.shape == (4, 1, 8, 8)


def test_synthesis_leaves_teacher_and_student_untouched_and_unhooked():
    synth = make_synth(FastMetaSynthesizer)
    t_before = {k: v.clone() for k, v in synth.teacher.state_dict().items()}
    synth.student.train()
    synth.synthesize()
    assert all(torch.equal(v, synth.teacher.state_dict()[k]) for k, v in t_before.items())
    assert synth.student.training and all(p.requires_grad for p in synth.student.parameters())
    assert all(p.grad is None for p in synth.student.parameters())
    assert all(len(m._forward_hooks) == 0 for m in synth.teacher.modules())


def test_l0_is_reset_at_the_configured_epoch():
    synth = make_synth(FastMetaSynthesizer, reset_l0=1, reset_l0_epoch=2, warmup=1)
    calls = []
    synth.generator.reset_l0 = lambda: calls.append(synth.epoch)
    for _ in range(4):
        synth.synthesize()
    assert calls == [3]


def run_flags(tmp_path, teacher_ckpt, epochs=3, extra=()):
    return ["--method", "fast_meta", "--teacher", "resnet8", "--student", "resnet8", "--dataset", "fmnist",
            "--teacher_ckpt", teacher_ckpt, "--epochs", str(epochs), "--warmup", "1", "--batch_size", "16",
            "--synthesis_batch_size", "8", "--kd_steps", "2", "--ep_steps", "2", "--g_steps", "2", "--ngf", "8",
            "--lr", "0.05", "--lr_g", "1e-3", "--lr_z", "0.01", "--bn", "1", "--oh", "0.5", "--adv", "0.5",
            "--bn_mmt", "0.9", "--T", "20", "-j", "0", "--seed", "0", "--save_dir", str(tmp_path), *extra]


def test_datafree_run_writes_every_output(tiny_data, tiny_teacher, tmp_path):
    out = datafree_kd.main(run_flags(tmp_path, tiny_teacher, epochs=2))
    summary = json.loads((tmp_path / "summary.json").read_text())
    for key in ("method", "dataset", "teacher", "student", "teacher_acc1", "best_acc1", "last_acc1", "epochs_done",
                "synthesis_seconds", "kd_seconds", "wall_seconds", "device"):
        assert key in summary, key
    assert summary["epochs_done"] == 2 and summary["method"] == "fast_meta"
    assert summary["synthesis_seconds"] > 0 and summary["kd_seconds"] > 0
    assert summary["wall_seconds"] >= summary["synthesis_seconds"] + summary["kd_seconds"]
    for name in ("last.pth", "best.pth", "synthetic.png", "log.txt", "metrics.csv"):
        assert (tmp_path / name).is_file(), name
    assert list((tmp_path / "tb").iterdir())
    ckpt = torch.load(tmp_path / "last.pth", weights_only=False)
    assert len(pool_images(tmp_path)) == 16       # 2 epochs x 8 images
    assert ckpt["synthesizer"]["bn_stats"]["moving"][0] is not None
    assert out["best_acc1"] == summary["best_acc1"]


def test_datafree_resume_after_a_kill_matches_the_uninterrupted_run(tiny_data, tiny_teacher, tmp_path):
    datafree_kd.main(run_flags(tmp_path / "full", tiny_teacher))

    def kill_in_third_epoch(synth):
        real = synth.synthesize

        def synthesize():
            if synth.epoch == 2:
                raise KeyboardInterrupt
            return real()
        synth.synthesize = synthesize

    with pytest.raises(SystemExit):   # cli_entry turns the interrupt into exit 130
        datafree_kd.main(run_flags(tmp_path / "part", tiny_teacher), synthesizer_hook=kill_in_third_epoch)
    last = tmp_path / "part" / "last.pth"
    assert torch.load(last, weights_only=False)["epoch"] == 2
    datafree_kd.main(run_flags(tmp_path / "part", tiny_teacher, extra=["--resume", str(last)]))
    full = torch.load(tmp_path / "full" / "last.pth", weights_only=False)
    resumed = torch.load(last, weights_only=False)
    for k, v in full["state_dict"].items():
        assert torch.equal(v, resumed["state_dict"][k]), k
    for k, v in full["synthesizer"]["generator"].items():
        assert torch.equal(v, resumed["synthesizer"]["generator"][k]), k
    assert torch.equal(pool_images(tmp_path / "full"), pool_images(tmp_path / "part"))
    assert full["synthesizer"]["pool"]["stored"] == resumed["synthesizer"]["pool"]["stored"]


def test_resume_with_other_flags_is_refused(tiny_data, tiny_teacher, tmp_path, capsys):
    datafree_kd.main(run_flags(tmp_path, tiny_teacher, epochs=2))
    flags = run_flags(tmp_path, tiny_teacher, epochs=3, extra=["--resume", str(tmp_path / "last.pth")])
    flags[flags.index("fast_meta")] = "fast"
    with pytest.raises(SystemExit):
        datafree_kd.main(flags)
    assert "--method fast_meta" in capsys.readouterr().err


def test_missing_teacher_checkpoint_is_one_line(tiny_data, tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        datafree_kd.main(run_flags(tmp_path, str(tmp_path / "none.pth")))
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "teacher checkpoint not found" in err[0]


def test_a_time_budget_ends_the_run_and_anneals_the_lr_over_it(tiny_data, tiny_teacher, tmp_path, monkeypatch):
    """--time_budget: the run stops at the first epoch boundary past the budget (long before --epochs), evaluates
    there, and its LR follows a cosine over the spent seconds (falling from the first epoch to the last). The
    epoch timers read a clock that advances 0.1 s per reading, so the test does not depend on the machine."""
    from datafree import distill
    clock = iter(range(10 ** 6))
    monkeypatch.setattr(distill, "time", types.SimpleNamespace(time=lambda: 0.1 * next(clock)))
    datafree_kd.main(run_flags(tmp_path, tiny_teacher, epochs=1000, extra=["--time_budget", "1.5",
                                                                           "--eval_every", "1000"]))
    summary = json.loads((tmp_path / "summary.json").read_text())
    spent = summary["synthesis_seconds"] + summary["kd_seconds"]
    assert summary["budget_reached"] and summary["time_budget"] == 1.5
    assert 1.5 <= spent and 2 <= summary["epochs_done"] < 1000
    rows = [r.split(",") for r in (tmp_path / "metrics.csv").read_text().splitlines()]
    header, rows = rows[0], rows[1:]
    lrs = [float(r[header.index("lr")]) for r in rows]
    assert len(rows) == summary["epochs_done"] and lrs[0] == 0.05   # warm-up epoch: no KD, the base LR
    assert all(a >= b for a, b in zip(lrs[1:], lrs[2:], strict=False)) and lrs[-1] < lrs[1]
    assert rows[-1][header.index("acc1")] != ""   # the last epoch is evaluated although eval_every is 1000
    datafree_kd.main(run_flags(tmp_path, tiny_teacher, epochs=1000, extra=["--time_budget", "1.5",
                                                                           "--eval_every", "1000", "--resume", "auto"]))
    assert json.loads((tmp_path / "summary.json").read_text())["epochs_done"] == summary["epochs_done"]
