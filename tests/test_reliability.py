"""A long run never loses work or silently goes wrong: each case ends with one line (no traceback), the right exit
code, and the files on disk intact and loadable."""
import errno
import os
import signal
import socket
import subprocess
import sys
import time

import pytest
import torch

import datafree_kd
import train_scratch
import vanilla_kd
from engine import checkpoint
from helpers import pool_images

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def datafree_flags(save_dir, teacher, epochs=1, extra=()):
    return ["--method", "fast_meta", "--teacher", "resnet8", "--student", "resnet8", "--dataset", "fmnist",
            "--teacher_ckpt", teacher, "--epochs", str(epochs), "--batch_size", "8", "--synthesis_batch_size", "8",
            "--kd_steps", "2", "--ep_steps", "2", "--g_steps", "1", "--ngf", "8", "--lr", "0.05", "--bn", "1",
            "--oh", "1", "-j", "0", "--seed", "0", "--save_dir", str(save_dir), *extra]


def scratch_flags(save_dir, epochs=1, extra=()):
    return ["--model", "resnet8", "--dataset", "fmnist", "--epochs", str(epochs), "-b", "64", "--lr", "0.05",
            "-j", "0", "--seed", "3", "--train_subset", "256", "--save_dir", str(save_dir), *extra]


def kd_flags(save_dir, teacher, epochs=1, extra=()):
    return ["--teacher", "resnet8", "--student", "resnet8", "--dataset", "fmnist", "--teacher_ckpt", teacher,
            "--epochs", str(epochs), "-b", "64", "-j", "0", "--seed", "1", "--train_subset", "256",
            "--save_dir", str(save_dir), *extra]


def fails(main, argv, capsys, code=2):
    """Run an entry point that must stop: returns its single message line (the run's log lines, which start with
    a [timestamp], may come before it)."""
    capsys.readouterr()
    with pytest.raises(SystemExit) as stop:
        main(argv)
    assert stop.value.code == code
    err = capsys.readouterr().err
    message = [line for line in err.strip().splitlines() if not line.startswith("[")]
    assert len(message) == 1 and "Traceback" not in err, err[-2000:]
    return message[0]


def finite_checkpoint(path):
    ckpt = torch.load(path, weights_only=True)
    assert all(torch.isfinite(v).all() for v in ckpt["state_dict"].values() if v.is_floating_point())
    return ckpt


# --- run folders -----------------------------------------------------------------------------------------------

def test_rerunning_into_a_finished_run_is_refused_and_keeps_its_results(tiny_data, tiny_teacher, tmp_path, capsys):
    datafree_kd.main(datafree_flags(tmp_path, tiny_teacher))
    before = {name: (tmp_path / name).read_bytes() for name in ("last.pth", "best.pth", "metrics.csv")}
    line = fails(datafree_kd.main, datafree_flags(tmp_path, tiny_teacher), capsys)
    assert "already holds a run" in line and "--resume auto" in line and "--save_dir" in line
    assert before == {name: (tmp_path / name).read_bytes() for name in before}
    train_scratch.main(scratch_flags(tmp_path / "s"))
    assert "already holds a run" in fails(train_scratch.main, scratch_flags(tmp_path / "s"), capsys)
    vanilla_kd.main(kd_flags(tmp_path / "k", tiny_teacher))
    assert "already holds a run" in fails(vanilla_kd.main, kd_flags(tmp_path / "k", tiny_teacher), capsys)


def test_default_save_dir_names_g_steps_and_seed():
    args = datafree_kd.build_parser().parse_args(["--method", "fast_meta", "--g_steps", "5", "--seed", "2"])
    datafree_kd.default_paths(args)
    other = datafree_kd.build_parser().parse_args(["--method", "fast_meta", "--g_steps", "10", "--seed", "2"])
    datafree_kd.default_paths(other)
    assert args.save_dir != other.save_dir and "-g5-s2" in args.save_dir


def test_a_live_run_folder_is_locked_and_a_stale_lock_is_taken_over(tiny_data, tiny_teacher, tmp_path, capsys):
    tmp_path.mkdir(exist_ok=True)
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (tmp_path / ".lock").write_text(f"{socket.gethostname()}:{sleeper.pid}")
        line = fails(datafree_kd.main, datafree_flags(tmp_path, tiny_teacher), capsys)
        assert "in use by another run" in line and str(sleeper.pid) in line
    finally:
        sleeper.kill()
        sleeper.wait()
    datafree_kd.main(datafree_flags(tmp_path, tiny_teacher))        # its process is gone: the lock is stale
    assert (tmp_path / "summary.json").is_file()


def test_stale_temp_files_of_a_killed_save_are_removed(tiny_data, tiny_teacher, tmp_path):
    tmp_path.mkdir(exist_ok=True)
    (tmp_path / ".tmp-abc123.pth").write_bytes(b"half a checkpoint")
    datafree_kd.main(datafree_flags(tmp_path, tiny_teacher))
    assert not list(tmp_path.glob(".tmp-*"))


def test_a_save_dir_under_a_regular_file_is_one_line(tiny_data, tiny_teacher, tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    line = fails(datafree_kd.main, datafree_flags(tmp_path / "file" / "run", tiny_teacher), capsys)
    assert "could not create the folder" in line and "file" in line


# --- non-finite values ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("flag,value", [("--lr", "nan"), ("--T", "nan"), ("--lr_g", "inf")])
def test_non_finite_flags_are_refused(flag, value, tiny_data, tiny_teacher, tmp_path, capsys):
    line = fails(datafree_kd.main, datafree_flags(tmp_path, tiny_teacher, extra=[flag, value]), capsys)
    assert f"{flag} must be a finite number" in line


def test_divergence_stops_before_anything_non_finite_is_written(tiny_data, tiny_teacher, tmp_path, capsys):
    line = fails(datafree_kd.main, datafree_flags(tmp_path, tiny_teacher, epochs=3, extra=["--lr", "1e6"]), capsys)
    assert "non-finite" in line and "epoch" in line and "Lower --lr" in line
    for name in ("last.pth", "best.pth"):
        if (tmp_path / name).exists():
            finite_checkpoint(tmp_path / name)
    line = fails(train_scratch.main, scratch_flags(tmp_path / "s", extra=["--lr", "1e8"]), capsys)
    assert "non-finite" in line
    assert not (tmp_path / "s" / "fmnist_resnet8.pth").exists()


def test_a_teacher_with_nan_weights_is_refused(tiny_data, tiny_teacher, tmp_path, capsys):
    state = torch.load(tiny_teacher)
    first = next(k for k, v in state["state_dict"].items() if v.is_floating_point())
    state["state_dict"][first][0] = float("nan")
    torch.save(state, tmp_path / "nan.pth")
    line = fails(datafree_kd.main, datafree_flags(tmp_path / "run", str(tmp_path / "nan.pth")), capsys)
    assert "non-finite weights" in line and "nan.pth" in line


# --- resume -----------------------------------------------------------------------------------------------------

def test_resume_with_other_defining_flags_lists_them(tiny_data, tiny_teacher, tmp_path, capsys):
    datafree_kd.main(datafree_flags(tmp_path, tiny_teacher))
    resume = ["--resume", str(tmp_path / "last.pth")]
    line = fails(datafree_kd.main, datafree_flags(tmp_path, tiny_teacher, extra=resume + [
        "--lr", "0.1", "--batch_size", "4", "--g_steps", "2", "--seed", "5"]), capsys)
    for flag in ("--lr 0.05 there, 0.1 now", "--batch_size", "--g_steps", "--seed", "--resume_override"):
        assert flag in line
    other_teacher = tmp_path / "teacher2.pth"
    state = torch.load(tiny_teacher)
    next(v for v in state["state_dict"].values() if v.is_floating_point()).add_(0.01)
    torch.save(state, other_teacher)
    line = fails(datafree_kd.main, datafree_flags(tmp_path, str(other_teacher), extra=resume), capsys)
    assert "teacher_sha256" in line
    line = fails(datafree_kd.main, datafree_flags(tmp_path, tiny_teacher, extra=resume + ["--ngf", "16"]), capsys)
    assert "--ngf 8 there, 16 now" in line


def test_more_epochs_need_an_override_and_continue_the_cosine_without_a_restart(tiny_data, tiny_teacher, tmp_path,
                                                                               capsys):
    import math
    datafree_kd.main(datafree_flags(tmp_path, tiny_teacher, epochs=2))
    resume = ["--resume", str(tmp_path / "last.pth")]
    assert "--epochs 2 there, 4 now" in fails(
        datafree_kd.main, datafree_flags(tmp_path, tiny_teacher, epochs=4, extra=resume), capsys)
    datafree_kd.main(datafree_flags(tmp_path, tiny_teacher, epochs=4, extra=resume + ["--resume_override", "epochs"]))
    rows = (tmp_path / "metrics.csv").read_text().splitlines()
    header = rows[0].split(",")
    lrs = [float(r.split(",")[header.index("lr")]) for r in rows[1:]]
    # the LR after epoch e of a 4-epoch cosine to 2e-4 (no warm-up): one row per epoch, no duplicates
    want = [2e-4 + (0.05 - 2e-4) * (1 + math.cos(math.pi * (e + 1) / 4)) / 2 for e in range(4)]
    assert [int(r.split(",")[0]) for r in rows[1:]] == [0, 1, 2, 3]
    assert lrs[2:] == pytest.approx(want[2:], rel=1e-6)     # not the old 2-epoch cosine climbing back up


def test_a_bare_state_dict_and_evaluate_only_without_resume_are_one_line(tiny_data, tiny_teacher, tmp_path, capsys):
    torch.save(torch.load(tiny_teacher)["state_dict"], tmp_path / "bare.pth")
    line = fails(datafree_kd.main, datafree_flags(tmp_path / "r", tiny_teacher,
                                                  extra=["--resume", str(tmp_path / "bare.pth")]), capsys)
    assert "bare state_dict" in line
    line = fails(datafree_kd.main, datafree_flags(tmp_path / "r2", tiny_teacher, extra=["--evaluate_only"]), capsys)
    assert "--evaluate_only needs --resume" in line
    flags = scratch_flags(tmp_path / "s", extra=["--evaluate_only"])
    assert "--evaluate_only needs --resume" in fails(train_scratch.main, flags, capsys)


def test_train_scratch_and_vanilla_kd_resume_auto(tiny_data, tiny_teacher, tmp_path):
    train_scratch.main(scratch_flags(tmp_path / "s", epochs=1))
    out = train_scratch.main(scratch_flags(tmp_path / "s", epochs=2, extra=["--resume", "auto",
                                                                           "--resume_override", "epochs"]))
    assert torch.load(tmp_path / "s" / "fmnist_resnet8-last.pth")["epoch"] == 2 and out["last"] is not None
    rows = (tmp_path / "s" / "metrics.csv").read_text().splitlines()
    assert [r.split(",")[0] for r in rows[1:]] == ["0", "1"]
    vanilla_kd.main(kd_flags(tmp_path / "k", tiny_teacher, epochs=1))
    with pytest.raises(SystemExit):      # more epochs must be allowed explicitly
        vanilla_kd.main(kd_flags(tmp_path / "k", tiny_teacher, epochs=2, extra=["--resume", "auto"]))
    vanilla_kd.main(kd_flags(tmp_path / "k", tiny_teacher, epochs=2, extra=["--resume", "auto",
                                                                            "--resume_override", "epochs"]))
    assert torch.load(tmp_path / "k" / "last.pth")["epoch"] == 2


def test_resume_logs_one_row_per_epoch(tiny_data, tiny_teacher, tmp_path, monkeypatch):
    datafree_kd.main(datafree_flags(tmp_path, tiny_teacher, epochs=2))
    with open(tmp_path / "metrics.csv", "a") as f:      # an interrupted epoch 2 had logged before dying
        f.write("2" + ",0" * 5 + "\n")
    datafree_kd.main(datafree_flags(tmp_path, tiny_teacher, epochs=3, extra=[
        "--resume", "auto", "--resume_override", "epochs"]))
    epochs = [r.split(",")[0] for r in (tmp_path / "metrics.csv").read_text().splitlines()[1:]]
    assert epochs == ["0", "1", "2"]


# --- bad flags and files ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("flag,value", [("--g_steps", "0"), ("--momentum", "-1"), ("--nz", "-5")])
def test_bad_values_are_one_line(flag, value, tiny_data, tiny_teacher, tmp_path, capsys):
    assert flag in fails(datafree_kd.main, datafree_flags(tmp_path, tiny_teacher, extra=[flag, value]), capsys)


def test_a_damaged_idx_file_is_one_line(tmp_path, capsys):
    raw = tmp_path / "torchdata" / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                 "t10k-labels-idx1-ubyte"):
        (raw / name).write_bytes(b"\x00\x00\x08\x03\x00\x00\x00\x05" + b"\x01" * 10)   # header says more
    line = fails(train_scratch.main, scratch_flags(tmp_path / "run", extra=["--data_root", str(tmp_path)]), capsys)
    assert "damaged" in line and "idx" in line


# --- loading --------------------------------------------------------------------------------------------------

class Payload:
    """Unpickling it runs code: it creates the marker file."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_a_malicious_checkpoint_is_refused_and_its_payload_never_runs(tiny_data, tiny_teacher, tmp_path, capsys):
    marker = tmp_path / "payload-ran"
    state = torch.load(tiny_teacher)
    state["extra"] = Payload(str(marker))
    torch.save(state, tmp_path / "evil.pth")
    assert not marker.exists()
    line = fails(datafree_kd.main, datafree_flags(tmp_path / "run", str(tmp_path / "evil.pth")), capsys)
    assert "arbitrary code" in line and "--trust_checkpoint" in line
    line = fails(datafree_kd.main, datafree_flags(tmp_path / "run2", tiny_teacher,
                                                  extra=["--resume", str(tmp_path / "evil.pth")]), capsys)
    assert "arbitrary code" in line
    assert not marker.exists()


def test_a_checkpoint_needing_a_missing_module_is_not_called_corrupted(tmp_path):
    import types
    module = types.ModuleType("gone_module_for_test")

    class Thing:
        pass
    Thing.__module__, Thing.__qualname__ = "gone_module_for_test", "Thing"
    module.Thing = Thing
    sys.modules["gone_module_for_test"] = module
    try:
        torch.save({"state_dict": {}, "thing": Thing()}, tmp_path / "needs.pth")
    finally:
        del sys.modules["gone_module_for_test"]
    from engine.errors import UserError
    with pytest.raises(UserError, match="arbitrary code") as refused:
        checkpoint.load_checkpoint(str(tmp_path / "needs.pth"))
    assert "delete" not in str(refused.value) and "corrupted" not in str(refused.value)
    checkpoint.trust_pickles(True)
    try:
        with pytest.raises(UserError, match="needs the Python module 'gone_module_for_test', which is not installed"):
            checkpoint.load_checkpoint(str(tmp_path / "needs.pth"))
        # The file is not corrupted: once the module is back, the same file loads, object included.
        sys.modules["gone_module_for_test"] = module
        assert isinstance(checkpoint.load_checkpoint(str(tmp_path / "needs.pth"))["thing"], Thing)
    finally:
        sys.modules.pop("gone_module_for_test", None)
        checkpoint.trust_pickles(False)


# --- disk full --------------------------------------------------------------------------------------------------

def test_disk_full_while_checkpointing_keeps_the_previous_checkpoint(tiny_data, tiny_teacher, tmp_path, capsys,
                                                                     monkeypatch):
    datafree_kd.main(datafree_flags(tmp_path, tiny_teacher, epochs=1))
    before = (tmp_path / "last.pth").read_bytes()
    real_save = torch.save

    def full_disk(obj, f, *args, **kwargs):     # an injected ENOSPC halfway through the write
        f.write(b"partial")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(torch, "save", full_disk)
    line = fails(datafree_kd.main, datafree_flags(tmp_path, tiny_teacher, epochs=2, extra=[
        "--resume", "auto", "--resume_override", "epochs"]), capsys)
    monkeypatch.setattr(torch, "save", real_save)
    # the pool's new images are written first (then last.pth): the first failed write ends the run
    assert "could not write" in line and "pool/chunk-" in line and "No space left on device" in line
    assert "ENOSPC" in line
    assert (tmp_path / "last.pth").read_bytes() == before
    finite_checkpoint(tmp_path / "last.pth")
    assert len(pool_images(tmp_path)) == 8   # the previous checkpoint still finds all of its pool
    assert not list(tmp_path.glob(".tmp-*")) and not list(tmp_path.glob("pool/.tmp-*"))


# --- signals ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("sig,code,word,times", [(signal.SIGTERM, 143, "SIGTERM", 1), (signal.SIGINT, 130, "Ctrl-C", 1),
                                                (signal.SIGTERM, 143, "SIGTERM", 3)])
def test_sigterm_and_ctrl_c_end_with_one_line_and_the_resume_command(sig, code, word, times, tmp_path):
    """A real process with a random resnet8 teacher on generated data, signalled once its first checkpoint exists;
    SIGTERM three times at once (Slurm, srun and torchrun each pass one on) is one request: the run still saves."""
    teacher = tmp_path / "t.pth"
    subprocess.run([sys.executable, "-c", (
        "import torch, registry; torch.save({'state_dict': registry.get_model('resnet8', num_classes=10,"
        f" in_channels=1).state_dict()}}, '{teacher}')")], cwd=ROOT, check=True)
    script = ("import sys, registry\n"
              "from tests.helpers import make_blobs\n"
              "registry.get_dataset = lambda *a, **k: (10, make_blobs(64), make_blobs(64, seed=1))\n"
              "import datafree_kd\n"
              "datafree_kd.main(sys.argv[1:])\n")
    argv = datafree_flags(tmp_path / "run", str(teacher), epochs=1000)
    proc = subprocess.Popen([sys.executable, "-c", script, *argv], cwd=ROOT, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": ROOT})
    deadline = time.time() + 120
    while not (tmp_path / "run" / "last.pth").exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.2)
    for _ in range(times):
        proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == code
    last_line = err.strip().splitlines()[-1]
    assert "Traceback" not in err and word in last_line and "saved" in last_line and "--resume auto" in last_line
    finite_checkpoint(tmp_path / "run" / "last.pth")


def preempt_flags(save_dir, teacher, extra=()):
    return datafree_flags(save_dir, teacher, epochs=3, extra=["--ep_steps", "4", "--kd_steps", "2", *extra])


@pytest.mark.parametrize("method,where", [("fast_meta", "kd"), ("fast_meta", "synthesis"), ("cmi", "kd"),
                                          ("dfq", "kd"), ("nayer", "synthesis")])
def test_sigterm_mid_epoch_then_resume_ends_bitwise_identical(method, where, tiny_data, tiny_teacher, tmp_path,
                                                              monkeypatch, capsys):
    """SIGTERM arrives during epoch 1 (the 3rd of 6 KD steps, or the 2nd of 4 syntheses); the run finishes that
    step, saves its mid-epoch state and exits 143; resumed, it ends exactly as a run that was never stopped."""
    import datafree.distill as distill
    flags = ["--method", method, "--adv", "1", "--cr", "0.5", "--g_steps", "2"]
    if method == "nayer":   # two loops a call, a rebuild every other call: both cross the stop
        flags += ["--g_loops", "2", "--gwp_loops", "2", "--g_life", "2"]
    datafree_kd.main(preempt_flags(tmp_path / "full", tiny_teacher, flags))

    counter = {"kd": 0, "synthesis": 0}
    real_kd_step = distill.kd_step

    def kd_step(*args, **kwargs):
        counter["kd"] += 1
        if where == "kd" and counter["kd"] == 7:          # epoch 1 (4 KD steps per epoch), its 3rd step
            os.kill(os.getpid(), signal.SIGTERM)
        return real_kd_step(*args, **kwargs)

    def hook(synth):
        real = synth.synthesize

        def synthesize():
            counter["synthesis"] += 1
            if where == "synthesis" and counter["synthesis"] == 4:
                os.kill(os.getpid(), signal.SIGTERM)
            return real()
        synth.synthesize = synthesize

    monkeypatch.setattr(distill, "kd_step", kd_step)
    capsys.readouterr()
    with pytest.raises(SystemExit) as stop:
        datafree_kd.main(preempt_flags(tmp_path / "part", tiny_teacher, flags), synthesizer_hook=hook)
    assert stop.value.code == 143
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert line.startswith("SIGTERM: stopped in epoch 1 and saved it") and "--resume auto" in line
    saved = torch.load(tmp_path / "part" / "last.pth", weights_only=True)
    assert saved["epoch"] == 1 and saved["mid_epoch"]["position"]["round"] == 1
    monkeypatch.setattr(distill, "kd_step", real_kd_step)
    datafree_kd.main(preempt_flags(tmp_path / "part", tiny_teacher, flags + ["--resume", "auto"]))

    full = torch.load(tmp_path / "full" / "last.pth", weights_only=True)
    resumed = torch.load(tmp_path / "part" / "last.pth", weights_only=True)
    assert resumed["epoch"] == full["epoch"] == 3 and "mid_epoch" not in resumed
    for k, v in full["state_dict"].items():
        assert torch.equal(v, resumed["state_dict"][k]), k
    for k, v in full["synthesizer"]["generator"].items():
        assert torch.equal(v, resumed["synthesizer"]["generator"][k]), k
    if "pool" in full["synthesizer"]:
        assert torch.equal(pool_images(tmp_path / "full"), pool_images(tmp_path / "part"))
    epochs = [r.split(",")[0] for r in (tmp_path / "part" / "metrics.csv").read_text().splitlines()[1:]]
    assert epochs == ["0", "1", "2"]


def test_a_real_full_disk_keeps_the_previous_checkpoint(tiny_data, tiny_teacher, tmp_path, capsys):
    """A 32 MiB tmpfs (where this process may mount one: root on Linux), filled up after the first epoch."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=32m", "tmpfs", str(disk)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip("cannot mount a tmpfs here; the injected-ENOSPC test above covers the same path")
    try:
        run = disk / "run"
        datafree_kd.main(datafree_flags(run, tiny_teacher, epochs=1))
        before = (run / "last.pth").read_bytes()
        free = os.statvfs(disk).f_bavail * os.statvfs(disk).f_frsize
        with open(disk / "filler", "wb") as f:     # leave 64 KiB: logs still fit, a checkpoint does not
            f.write(b"\0" * max(free - 64 * 1024, 0))
        line = fails(datafree_kd.main, datafree_flags(run, tiny_teacher, epochs=2, extra=[
            "--resume", "auto", "--resume_override", "epochs"]), capsys)
        assert "could not write" in line and "No space left on device" in line
        assert (run / "last.pth").read_bytes() == before
        finite_checkpoint(run / "last.pth")
        assert not list(run.glob(".tmp-*"))
    finally:
        subprocess.run(["umount", "-l", str(disk)], capture_output=True)   # -l: the failed run still holds its log


@pytest.mark.parametrize("script", ["train_scratch", "vanilla_kd"])
def test_sigterm_mid_epoch_of_real_data_training_then_resume_is_bitwise_identical(script, tiny_data, tiny_teacher,
                                                                                   tmp_path, monkeypatch, capsys):
    """The 6th of 12 optimiser steps (epoch 1, batch 2 of 4) gets SIGTERM; the resumed run skips the batches the
    stopped one had used, restores the random state, and ends with the same weights as an uninterrupted run."""
    from engine.device import Precision
    main = {"train_scratch": train_scratch.main, "vanilla_kd": vanilla_kd.main}[script]

    def flags(save_dir, extra=()):
        return (scratch_flags(save_dir, epochs=3, extra=extra) if script == "train_scratch"
                else kd_flags(save_dir, tiny_teacher, epochs=3, extra=extra))

    main(flags(tmp_path / "full"))
    real_step, calls = Precision.backward_step, []

    def step(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 6:
            os.kill(os.getpid(), signal.SIGTERM)
        return real_step(self, *args, **kwargs)

    monkeypatch.setattr(Precision, "backward_step", step)
    capsys.readouterr()
    with pytest.raises(SystemExit) as stop:
        main(flags(tmp_path / "part"))
    assert stop.value.code == 143
    assert capsys.readouterr().err.strip().splitlines()[-1].startswith("SIGTERM: stopped in epoch 1 and saved it")
    monkeypatch.setattr(Precision, "backward_step", real_step)
    last = "fmnist_resnet8-last.pth" if script == "train_scratch" else "last.pth"
    saved = torch.load(tmp_path / "part" / last, weights_only=True)
    assert saved["epoch"] == 1 and saved["mid_epoch"]["position"]["batch"] == 2
    main(flags(tmp_path / "part", ["--resume", "auto"]))
    full = torch.load(tmp_path / "full" / last, weights_only=True)["state_dict"]
    resumed = torch.load(tmp_path / "part" / last, weights_only=True)["state_dict"]
    for k in full:
        assert torch.equal(full[k], resumed[k]), k


def test_tensorboard_holds_one_value_per_epoch_after_a_resume(tiny_data, tiny_teacher, tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    datafree_kd.main(datafree_flags(tmp_path, tiny_teacher, epochs=2))
    # a run killed in epoch 2 after logging it: its resume logs epoch 2 again
    from torch.utils.tensorboard import SummaryWriter
    writer = SummaryWriter(str(tmp_path / "tb"))
    writer.add_scalar("kd_loss", 123.0, 2)
    writer.close()
    datafree_kd.main(datafree_flags(tmp_path, tiny_teacher, epochs=3, extra=[
        "--resume", "auto", "--resume_override", "epochs"]))
    events = EventAccumulator(str(tmp_path / "tb"))
    events.Reload()
    steps = [e.step for e in events.Scalars("kd_loss")]
    values = {e.step: e.value for e in events.Scalars("kd_loss")}
    assert sorted(steps) == [0, 1, 2] and values[2] != 123.0
