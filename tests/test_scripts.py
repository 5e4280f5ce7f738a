"""The shell scripts researchers run: every command they would launch parses and carries the paper's settings."""
import os
import shlex
import subprocess

import pytest

import datafree_kd

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def dry_run(script, **env):
    out = subprocess.run(["bash", f"scripts/{script}"], cwd=ROOT, capture_output=True, text=True, check=True,
                         env={**os.environ, "DRY_RUN": "1", "PYTHON": "python", **env}).stdout
    return [shlex.split(line)[2:] for line in out.splitlines()]


def test_fast_cifar_has_the_30_runs_of_the_paper_with_upstream_settings():
    runs = [datafree_kd.build_parser().parse_args(argv) for argv in dry_run("fast_cifar.sh")]
    assert len(runs) == 30
    assert {(a.dataset, a.teacher, a.student, a.g_steps) for a in runs} == {
        (d, t, s, g) for d in ("cifar10", "cifar100")
        for t, s in (("resnet34", "resnet18"), ("vgg11", "resnet18"), ("wrn40_2", "wrn16_1"), ("wrn40_2", "wrn40_1"),
                     ("wrn40_2", "wrn16_2")) for g in (2, 5, 10)}
    for a in runs:
        assert (a.batch_size, a.lr, a.kd_steps, a.ep_steps, a.bn, a.T, a.seed, a.bn_mmt, a.warmup, a.epochs,
                a.is_maml, a.reset_l0, a.reset_bn) == (256, 0.2, 400, 400, 10.0, 20, 0, 0.9, 20, 220, 1, 1, 0)
        assert (a.lr_z, a.lr_g) == {2: (0.015, 5e-3), 5: (0.01, 3e-3), 10: (0.01, 2e-3)}[a.g_steps]
        assert (a.adv, a.oh) == {"resnet34": (1.33, 0.5), "vgg11": (1.0, 0.5), "wrn40_2": (1.1, 0.4)}[a.teacher]
    assert len({a.save_dir for a in runs}) == 30


@pytest.mark.parametrize("method", ["deepinv", "cmi", "dafl", "zskt", "dfq", "dfad"])
def test_baseline_scripts_parse_and_select_their_method(method):
    runs = [datafree_kd.build_parser().parse_args(argv) for argv in dry_run(f"{method}_cifar.sh", ONLY="wrn")]
    assert len(runs) == 2 and {a.method for a in runs} == {method}
    assert {a.dataset for a in runs} == {"cifar10", "cifar100"}
