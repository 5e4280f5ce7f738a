"""benchmarks/gpu_suite.sh stays runnable between GPU sessions: its dry run prints commands that parse, steps that
finished are skipped, and the cuda-marked tests skip with a reason where there is no GPU."""
import json
import os
import shlex
import subprocess
import sys

import pytest

import datafree_kd
import train_scratch
from benchmarks import epoch_time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def dry_run(*args, out=None):
    env = {**os.environ, "GPU_SUITE_OUT": str(out or "results/gpu-dry-run-unused")}
    done = subprocess.run(["bash", "benchmarks/gpu_suite.sh", "--dry_run", *args], cwd=ROOT, capture_output=True,
                          text=True, env=env)
    return done.returncode, done.stdout, done.stderr


def test_dry_run_prints_every_step_and_commands_that_parse():
    code, out, _ = dry_run("--step", "all")
    assert code == 0
    headers = [line for line in out.splitlines() if line.startswith("== ")]
    assert headers == ["== tests", "== ddp", "== epoch_time", "== real_run", "== reproduce"]
    commands = [shlex.split(line) for line in out.splitlines() if not line.startswith("== ")]
    parsed = {"datafree_kd.py": 0, "train_scratch.py": 0, "benchmarks.epoch_time": 0}
    for argv in commands:
        for script, parser in (("datafree_kd.py", datafree_kd.build_parser()),
                               ("train_scratch.py", train_scratch.build_parser()),
                               ("benchmarks.epoch_time", epoch_time.build_parser())):
            if script in argv:
                args = parser.parse_args(argv[argv.index(script) + 1:])
                parsed[script] += 1
                if script == "datafree_kd.py":     # the DDP step: two epochs of fast_meta over NCCL
                    assert args.method == "fast_meta" and args.epochs == 2 and args.dist_backend == "nccl"
                    assert "torch.distributed.run" in argv and "--nproc_per_node" in argv
    assert parsed == {"datafree_kd.py": 1, "train_scratch.py": 1, "benchmarks.epoch_time": 3}
    names = [a[a.index("--name") + 1] for a in commands if "--name" in a]
    assert names == ["gpu/epoch_time_fp32", "gpu/epoch_time_fp16_cl", "gpu/epoch_time_bf16_cl"]
    first = " ".join(commands[0])
    assert "-m pytest tests -m cuda" in first                   # the cuda-marked tests come first
    real_run = [a for a in commands if "scripts/fmnist_methods.sh" in a]
    assert len(real_run) == 2 and "G_SLOW=20" in real_run[1] and "METHODS=cmi" in real_run[1]
    assert all(os.path.isfile(os.path.join(ROOT, a)) for argv in commands for a in argv if a.endswith((".py", ".sh")))


def test_finished_steps_are_skipped_and_bad_steps_refused(tmp_path):
    (tmp_path / "ddp.json").write_text(json.dumps({"step": "ddp", "status": "ok"}, indent=2))
    (tmp_path / "tests.json").write_text(json.dumps({"step": "tests", "status": "failed"}, indent=2))
    _, out, _ = dry_run("--step", "all", out=tmp_path)
    assert "== ddp: finished earlier, skipped" in out and "== tests\n" in out
    _, out, _ = dry_run("--step", "ddp", out=tmp_path)   # one named step always runs
    assert "torch.distributed.run" in out
    code, _, err = dry_run("--step", "nothing")
    assert code == 2 and "usage: bash benchmarks/gpu_suite.sh" in err


def test_a_failing_step_is_recorded_failed_and_fails_the_suite(tmp_path):
    """The reproduce step (no teacher can be trained with this python) is failed, not ok, and the exit status says
    so; a later --step all runs it again."""
    python = tmp_path / "python"
    python.write_text(f'#!/bin/sh\n[ "$2" = benchmarks.gpu_summary ] && exec {sys.executable} "$@"\nexit 3\n')
    python.chmod(0o755)
    done = subprocess.run(["bash", "benchmarks/gpu_suite.sh", "--step", "reproduce"], cwd=ROOT, capture_output=True,
                          text=True, env={**os.environ, "PYTHON": str(python), "GPU_SUITE_OUT": str(tmp_path / "gpu")})
    assert done.returncode == 1 and "== failed: reproduce" in done.stderr
    assert json.loads((tmp_path / "gpu" / "reproduce.json").read_text())["status"] == "failed"


def test_the_summary_lists_each_step(tmp_path):
    done = subprocess.run([sys.executable, "-m", "benchmarks.gpu_summary", "--step", "ddp", "--status", "ok",
                           "--seconds", "90", "--out", str(tmp_path)], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    summary = (tmp_path / "SUMMARY.md").read_text()
    assert "| ddp | ok | 1.5 |" in summary and "| tests | not run |" in summary and "torch" in summary
    assert json.loads((tmp_path / "ddp.json").read_text())["status"] == "ok"


def test_cuda_tests_skip_with_a_reason_without_a_gpu():
    import torch
    if torch.cuda.is_available():
        pytest.skip("a CUDA GPU is present: the cuda-marked tests run instead of skipping")
    done = subprocess.run([sys.executable, "-m", "pytest", "tests/test_cuda.py", "-m", "cuda", "-rs", "-q",
                           "-p", "no:cacheprovider"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0
    assert "needs a CUDA GPU" in done.stdout and " skipped" in done.stdout and "passed" not in done.stdout
