"""torchrun with two CPU processes (gloo): ranks stay identical, only rank 0 writes, and runs resume."""
import json
import os
import subprocess
import sys

import torch

from helpers import pool_images

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LAUNCHER = os.path.join(ROOT, "tests", "dist_launcher.py")


def torchrun(dump_dir, script, flags):
    os.makedirs(dump_dir, exist_ok=True)
    for stale in ("rank0.pt", "rank1.pt"):
        if os.path.exists(os.path.join(dump_dir, stale)):
            os.remove(os.path.join(dump_dir, stale))
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           LAUNCHER, str(dump_dir), script, *flags, "--dist_backend", "gloo"]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=180,
                          env={**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": ROOT})
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return [torch.load(os.path.join(dump_dir, f"rank{r}.pt")) for r in (0, 1)]


def assert_same_on_both_ranks(dumps, keys):
    rank0, rank1 = dumps
    for key in keys:
        assert rank0[key].keys() == rank1[key].keys()
        for name, value in rank0[key].items():
            assert torch.equal(value, rank1[key][name]), f"{key}.{name} differs between ranks"


def datafree_flags(save_dir, teacher_ckpt, epochs, extra=()):
    # reset_l0/reset_bn at the second synthesis: random re-initialisation must still leave the ranks equal.
    return ["--method", "fast_meta", "--teacher", "resnet8", "--student", "resnet8", "--dataset", "fmnist",
            "--teacher_ckpt", teacher_ckpt, "--epochs", str(epochs), "--warmup", "1", "--batch_size", "16",
            "--synthesis_batch_size", "8", "--kd_steps", "2", "--ep_steps", "2", "--g_steps", "2", "--ngf", "8",
            "--lr", "0.05", "--lr_g", "1e-3", "--lr_z", "0.01", "--bn", "1", "--oh", "0.5", "--adv", "0.5",
            "--bn_mmt", "0.9", "--T", "20", "--reset_l0", "1", "--reset_bn", "1", "--reset_l0_epoch", "1",
            "-j", "0", "--seed", "0", "--save_dir", str(save_dir), *extra]


def test_fast_meta_on_two_ranks_keeps_generator_and_student_identical_and_resumes(tiny_teacher, tmp_path):
    save = tmp_path / "run"
    dumps = torchrun(tmp_path / "dump", "datafree_kd", datafree_flags(save, tiny_teacher, epochs=2))
    assert_same_on_both_ranks(dumps, ["generator", "model"])
    assert [p.parent for p in tmp_path.rglob("summary.json")] == [save]
    assert json.loads((save / "summary.json").read_text())["world_size"] == 2
    ckpt = torch.load(save / "last.pth", weights_only=False)
    assert ckpt["epoch"] == 2
    pool = pool_images(save)
    assert len(pool) == 16   # 2 epochs x (4 images from each of 2 ranks)
    assert not torch.equal(pool[:4], pool[4:8])   # rank 0's rows, then rank 1's
    first_generator = dumps[0]["generator"]

    dumps = torchrun(tmp_path / "dump", "datafree_kd",
                     datafree_flags(save, tiny_teacher, epochs=3, extra=["--resume", str(save / "last.pth"),
                                                                         "--resume_override", "epochs"]))
    assert_same_on_both_ranks(dumps, ["generator", "model"])
    assert any(not torch.equal(v, dumps[0]["generator"][k]) for k, v in first_generator.items())
    assert f"resumed from {save / 'last.pth'} at epoch 2" in (save / "log.txt").read_text()
    assert json.loads((save / "summary.json").read_text())["epochs_done"] == 3
    assert len(pool_images(save)) == 24
    assert len(list(tmp_path.rglob("summary.json"))) == 1


def test_nayer_on_two_ranks_keeps_generator_and_student_identical(tiny_teacher, tmp_path):
    """Rebuilt generators and re-drawn noisy layers (every call, every loop) come from rank 0; each rank synthesizes
    its rows of the class-balanced synthesis batch."""
    save = tmp_path / "run"
    flags = datafree_flags(save, tiny_teacher, epochs=2, extra=["--method", "nayer", "--g_loops", "2",
                                                                "--gwp_loops", "2", "--g_life", "1"])
    dumps = torchrun(tmp_path / "dump", "datafree_kd", flags)
    assert_same_on_both_ranks(dumps, ["generator", "model"])
    pool = pool_images(save)
    assert len(pool) == 32   # 2 epochs x 2 loops x (4 images from each of 2 ranks)
    assert not torch.equal(pool[:4], pool[4:8])


def test_train_scratch_on_two_ranks(tmp_path):
    save = tmp_path / "run"
    flags = ["--model", "resnet8", "--dataset", "fmnist", "--epochs", "1", "-b", "64", "--lr", "0.05", "-j", "0",
             "--seed", "3", "--save_dir", str(save)]
    dumps = torchrun(tmp_path / "dump", "train_scratch", flags)
    assert_same_on_both_ranks(dumps, ["model"])
    assert [p.parent for p in tmp_path.rglob("summary.json")] == [save]
    assert torch.load(save / "fmnist_resnet8-last.pth")["epoch"] == 1
