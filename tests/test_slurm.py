"""The sbatch files on a real (local, one-node) Slurm: a fast_meta job on Fashion-MNIST is requeued mid-run
(`scontrol requeue`, what a preemption does), starts again, resumes from its run folder and ends with exactly the
weights of the same run left alone; the multi-node file runs 2 processes through its c10d rendezvous. Needs root and
Debian's slurmd, slurmctld and munge (.ci/run installs them); skipped, with the reason, where they cannot run."""
import json
import os
import re
import shutil
import subprocess
import sys
import time

import pytest
import torch
from test_fmnist_data import needs_fmnist

from helpers import tiny_teacher_checkpoint

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MISSING = [b for b in ("munged", "slurmctld", "slurmd", "sbatch", "scontrol") if shutil.which(b) is None]
needs_slurm = pytest.mark.skipif(
    bool(MISSING) or os.geteuid() != 0,
    reason=("local Slurm needs " + (f"{', '.join(MISSING)} (apt-get install -y slurmd slurmctld munge)" if MISSING
                                    else "root to start its daemons")))


def job_flags(teacher):
    return ["datafree_kd.py", "--method", "fast_meta", "--dataset", "fmnist", "--teacher", "resnet8", "--student",
            "resnet8", "--teacher_ckpt", teacher, "--epochs", "8", "--batch_size", "32", "--synthesis_batch_size",
            "16", "--g_steps", "2", "--kd_steps", "10", "--ep_steps", "10", "--ngf", "8", "--lr", "0.05",
            "--lr_g", "1e-3", "--bn", "1", "--oh", "0.5", "--adv", "0.5", "--warmup", "1", "--val_subset", "200",
            "--eval_every", "4", "-j", "0", "--seed", "0"]


def slurm(*cmd, env):
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=True).stdout


def job_state(job, env):
    out = slurm("scontrol", "show", "job", job, env=env)
    return re.search(r"JobState=(\S+)", out).group(1), int(re.search(r"Restarts=(\d+)", out).group(1))


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A one-node Slurm on this machine for the module's tests; yields the environment to submit with."""
    tmp = tmp_path_factory.mktemp("slurm")
    started = subprocess.run(["bash", "scripts/slurm/local_cluster.sh", "start", str(tmp / "cluster")], cwd=ROOT,
                             capture_output=True, text=True, timeout=120)
    assert started.returncode == 0, started.stdout + started.stderr
    try:
        yield {**os.environ, "OMP_NUM_THREADS": "1", "PYTHON": sys.executable,
               "SLURM_CONF": str(tmp / "cluster" / "slurm.conf")}
    finally:
        subprocess.run(["bash", "scripts/slurm/local_cluster.sh", "stop", str(tmp / "cluster")], cwd=ROOT, timeout=60)


def wait_until_done(job, env, deadline, release_requeued=False):
    released = False
    while (state := job_state(job, env)[0]) != "COMPLETED":
        assert state in ("RUNNING", "PENDING", "REQUEUED", "COMPLETING"), state
        assert time.time() < deadline, f"job {job} did not finish: {state}"
        if state == "PENDING" and release_requeued and not released:   # Slurm holds a requeued job ~2 minutes
            slurm("scontrol", "update", f"JobId={job}", "StartTime=now", env=env)
            released = True
        time.sleep(0.5)


@needs_slurm
@needs_fmnist
def test_requeued_job_resumes_and_ends_with_the_weights_of_an_uninterrupted_run(cluster, tmp_path):
    teacher = tiny_teacher_checkpoint(tmp_path / "fmnist_resnet8.pth")
    env = {**cluster, "RUN_ROOT": str(tmp_path / "runs"), "GPUS": "1"}
    alone = tmp_path / "alone"
    subprocess.run([sys.executable, *job_flags(teacher), "--save_dir", str(alone)], cwd=ROOT, env=env, check=True,
                   capture_output=True, timeout=600)
    out = slurm("sbatch", "--parsable", "--job-name", "requeue-test", "--gpus-per-node=0", "--cpus-per-task=1",
                "--output", str(tmp_path / "job-%j.out"), "scripts/slurm/one_node.sbatch", *job_flags(teacher),
                env=env)
    job = out.strip().split(";")[0]
    log = tmp_path / "runs" / "requeue-test" / "log.txt"
    deadline = time.time() + 300
    while "Epoch=1 " not in (log.read_text() if log.exists() else ""):   # mid-run: past its second epoch
        assert time.time() < deadline, f"the job did not get going: {job_state(job, env)}"
        time.sleep(0.5)
    slurm("scontrol", "requeue", job, env=env)
    wait_until_done(job, env, deadline, release_requeued=True)
    assert job_state(job, env)[1] == 1   # one restart
    job_out = next(tmp_path.glob("job-*.out")).read_text()
    assert "start 0" in job_out and "start 1" in job_out, job_out[-3000:]
    assert "SIGTERM: stopped in epoch" in job_out and "and saved it" in job_out, job_out[-3000:]   # mid-epoch
    assert "resumed from" in log.read_text()
    requeued = torch.load(tmp_path / "runs" / "requeue-test" / "last.pth", weights_only=False)
    uninterrupted = torch.load(alone / "last.pth", weights_only=False)
    assert requeued["epoch"] == uninterrupted["epoch"] == 8
    for name, value in uninterrupted["state_dict"].items():
        assert torch.equal(value, requeued["state_dict"][name]), name


@needs_slurm
@needs_fmnist
def test_multi_node_file_runs_two_processes_through_its_rendezvous(cluster, tmp_path):
    """multi_node.sbatch on the one local node (--nodes 1): srun, torchrun's c10d rendezvous, 2 gloo ranks."""
    teacher = tiny_teacher_checkpoint(tmp_path / "fmnist_resnet8.pth")
    env = {**cluster, "RUN_ROOT": str(tmp_path / "runs"), "GPUS": "2", "PORT": "29517"}
    flags = job_flags(teacher)
    flags[flags.index("--epochs") + 1] = "2"
    out = slurm("sbatch", "--parsable", "--nodes", "1", "--job-name", "rdzv-test", "--gpus-per-node=0",
                "--cpus-per-task=2", "--output", str(tmp_path / "job-%j.out"), "scripts/slurm/multi_node.sbatch",
                *flags, env=env)
    wait_until_done(out.strip().split(";")[0], env, time.time() + 300)
    summary = json.loads((tmp_path / "runs" / "rdzv-test" / "summary.json").read_text())
    assert summary["world_size"] == 2 and summary["epochs_done"] == 2
