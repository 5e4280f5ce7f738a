"""benchmarks/fmnist_report.py: the reproduction table and plot, built from a small fixture of summaries."""
import json
import os
import shutil

import pytest
from PIL import Image

from benchmarks import fmnist_report


def write(root, group, run, **values):
    folder = root / group / run
    folder.mkdir(parents=True)
    (folder / "summary.json").write_text(json.dumps(values))


def datafree(method, synthesis_seconds, acc, teacher="wrn40_2", student="wrn16_1", **extra):
    return dict(method=method, teacher=teacher, student=student, teacher_acc1=90.0, best_acc1=acc, last_acc1=acc,
                epochs_done=5, epochs=5, warmup=0, ep_steps=10, kd_steps=10, batch_size=32, val_subset=1000,
                synthesis_seconds=synthesis_seconds, wall_seconds=synthesis_seconds + 30.0, device="cpu (2 threads)",
                **extra)


@pytest.fixture
def run_dir(tmp_path):
    root = tmp_path / "run"
    write(root, "teachers", "wrn40_2", model="wrn40_2", best_acc1=90.0, epochs=1, wall_seconds=200.0,
          train_subset=10000, val_subset=1000, device="cpu (2 threads)")
    write(root, "wrn", "scratch", method="scratch", model="wrn16_1", best_acc1=60.5, epochs=1, train_steps=50,
          wall_seconds=20.0, val_subset=1000, device="cpu (2 threads)")
    write(root, "wrn", "vanilla_kd", method="vanilla_kd", teacher="wrn40_2", student="wrn16_1", teacher_acc1=90.0,
          best_acc1=70.25, epochs_done=1, epochs=1, synthesis_seconds=0.0, train_steps=50, batch_size=32,
          wall_seconds=40.0, val_subset=1000, device="cpu (2 threads)")
    write(root, "wrn", "deepinv", **datafree("deepinv", 100.0, 40.0))
    write(root, "wrn", "fast_meta-2", **datafree("fast_meta", 5.0, 50.0, g_steps=2))
    write(root, "wrn", "dafl", **datafree("dafl", 20.0, 30.0, g_steps=1))
    write(root, "r34", "deepinv", **datafree("deepinv", 400.0, 35.0, teacher="resnet34", student="resnet18"))
    write(root, "r34", "fast_meta-2", **datafree("fast_meta", 40.0, 45.0, teacher="resnet34", student="resnet18"))
    return root


def test_table_rows_speedups_and_steps(run_dir, tmp_path):
    out = str(tmp_path / "results" / "fmnist_table")
    report = fmnist_report.main([str(run_dir), "--schedule", "cpu", "--out", out, "--allow_invalid"])
    rows = {(r["pair"], r["run"]): r for r in report["rows"]}
    assert len(rows) == 7 and [t["model"] for t in report["teachers"]] == ["wrn40_2"]
    # Speed-up is DeepInv's synthesis time over the row's, within each pair.
    assert rows["wrn", "fast_meta-2"]["speedup"] == 20.0 and rows["wrn", "dafl"]["speedup"] == 5.0
    assert rows["r34", "fast_meta-2"]["speedup"] == 10.0 and rows["r34", "deepinv"]["speedup"] == 1.0
    assert rows["wrn", "scratch"]["speedup"] is None and rows["wrn", "vanilla_kd"]["synthesis_seconds"] is None
    assert rows["wrn", "scratch"]["teacher"] == "wrn40_2"   # the scratch summary names no teacher
    assert {r["student_steps"] for r in report["rows"]} == {50}
    # Rows follow the paper's order within a pair.
    assert [r["pair"] for r in report["rows"]][:2] == ["r34", "r34"]
    assert [r["run"] for r in report["rows"] if r["pair"] == "wrn"] == ["scratch", "vanilla_kd", "deepinv", "dafl",
                                                                       "fast_meta-2"]
    table = open(out + ".md").read()
    assert "Schedule: cpu." in table
    assert "| wrn40_2 -> wrn16_1 | Fast-2 | 0 | 50.00 | 5.00 | 35.00 | 20.00 | 50 | 32 |" in table
    assert "| wrn40_2 | 90.00 | 1 | 10000 | 200.00 |" in table
    assert "fixed random subset of the test split (1000 images)" in table
    # The paper's layout: methods down, pairs across.
    assert "| method | resnet34 -> resnet18 | wrn40_2 -> wrn16_1 |" in table
    assert "| Fast-2 | 45.00 (40 s) | 50.00 (5 s) |" in table and "| DAFL | - | 30.00 (20 s) |" in table
    assert "| Scratch (real data) | - | 60.50 |" in table
    assert json.load(open(out + ".json"))["rows"] == report["rows"]
    with Image.open(out + ".png") as image:
        assert image.format == "PNG" and image.width > 600 and image.height > 400


def test_table_and_plot_are_redrawn_from_the_json_alone(run_dir, tmp_path):
    out = str(tmp_path / "fmnist_table")
    fmnist_report.main([str(run_dir), "--out", out, "--allow_invalid"])
    table = open(out + ".md").read()
    os.remove(out + ".png")
    os.remove(out + ".md")
    shutil.rmtree(run_dir)
    fmnist_report.main(["--from_json", out + ".json", "--allow_invalid"])
    assert open(out + ".md").read() == table
    with Image.open(out + ".png") as image:
        # Two pairs: two panels side by side.
        assert image.width > image.height


def test_an_empty_run_dir_is_a_clear_error(tmp_path):
    with pytest.raises(SystemExit, match="no PAIR/ROW/summary.json under .*reproduce_fmnist.sh"):
        fmnist_report.main([str(tmp_path), "--out", str(tmp_path / "t")])


def validity_fixture(root, teacher_acc1, kd_acc1, noise_acc1, fast_seeds):
    write(root, "teachers", "wrn40_2", model="wrn40_2", best_acc1=teacher_acc1, epochs=4, wall_seconds=900.0,
          train_subset=0, val_subset=0, device="cpu (2 threads)")
    write(root, "wrn", "vanilla_kd", method="vanilla_kd", teacher="wrn40_2", student="wrn16_1", best_acc1=kd_acc1,
          epochs_done=2, epochs=2, train_steps=938, batch_size=128, wall_seconds=300.0, val_subset=0)
    write(root, "wrn", "noise", **datafree("noise", 0.0, noise_acc1, seed=0))
    for seed, acc in zip(fast_seeds, (60.0, 62.0, 64.0), strict=False):
        write(root / "wrn" / "fast_meta-2", f"s{seed}", ".", **datafree("fast_meta", 5.0, acc, seed=seed))


def test_validity_checks_pass_on_sound_runs(tmp_path):
    validity_fixture(tmp_path / "run", 91.0, 86.0, 10.5, fast_seeds=(0, 1, 2))
    out = str(tmp_path / "t")
    report = fmnist_report.main([str(tmp_path / "run"), "--out", out, "--seeds", "3"])
    assert all(ok for ok, _ in report["validity"]) and len(report["validity"]) == 4
    table = open(out + ".md").read()
    assert "- PASS: teacher wrn40_2: 91.00% (needs >= 90%)" in table
    assert "- PASS: wrn: Fast-2 seeds [0, 1, 2]" in table
    assert "| Fast-2 | 62.00 +- 2.00 (5 s) |" in table   # mean +- sample std over the three seeds
    assert sorted(r["seed"] for r in report["rows"] if r["run"] == "fast_meta-2") == [0, 1, 2]


def test_failed_validity_checks_are_reported_and_fail_the_report(tmp_path, capsys):
    """A weak teacher, weak real-data KD, a noise control far above chance, a missing seed and an unfinished run:
    each is named above the table and on stderr, and the exit status is 1 (the outputs are still written)."""
    validity_fixture(tmp_path / "run", 85.0, 80.0, 30.0, fast_seeds=(0, 2))
    write(tmp_path / "run", "wrn", "dafl", **{**datafree("dafl", 20.0, 30.0), "epochs_done": 2})   # interrupted
    out = str(tmp_path / "t")
    with pytest.raises(SystemExit) as stop:
        fmnist_report.main([str(tmp_path / "run"), "--out", out, "--seeds", "3"])
    assert stop.value.code == 1
    err = capsys.readouterr().err
    assert err.count("VALIDITY CHECK FAILED") == 5
    for text in ("teacher wrn40_2: 85.00% (needs >= 90%)", "wrn: real-data KD seed 0 80.00% (needs >= 85%)",
                 "wrn: noise control seed 0 30.00% (needs <= 20%)", "wrn: Fast-2 seeds [0, 2], missing [1]",
                 "1 run(s) not finished: wrn/dafl/s0"):
        assert f"VALIDITY CHECK FAILED: {text}" in err
        assert f"- FAIL: {text}" in open(out + ".md").read()
    report = fmnist_report.main([str(tmp_path / "run"), "--out", out, "--seeds", "3", "--allow_invalid"])
    assert sum(not ok for ok, _ in report["validity"]) == 5


def write_curve(folder, points, synthesis=0.0):
    """metrics.csv as datafree_kd.py writes it: cumulative wall seconds, each epoch's synthesis seconds, top-1 on
    evaluated epochs only."""
    lines = ["epoch,acc1,synthesis_seconds,wall_seconds"]
    for epoch, (t, acc) in enumerate(points):   # every other epoch evaluated
        lines += [f"{2 * epoch},,{synthesis},{t - 30}", f"{2 * epoch + 1},{acc},{synthesis},{t}"]
    (folder / "metrics.csv").write_text("\n".join(lines) + "\n")


def test_budget_table_wall_clock_speedup_curves_and_flatness(tmp_path):
    """Top-1 at wall-clock budgets from the per-epoch logs, speed-ups on wall clock and on synthesis seconds =
    DeepInv's time to its final top-1 over the row's time to the same top-1, a curve still rising at the end fails
    the levelled-off check, and the curves are drawn."""
    root = tmp_path / "run"
    validity_fixture(root, 91.0, 86.0, 10.5, fast_seeds=(0, 1, 2))
    deepinv = [(60, 20.0), (120, 40.0), (180, 50.0), (240, 50.5)]
    fast = [(60, 45.0), (120, 52.0), (180, 53.0), (240, 53.5)]
    for seed in range(3):
        write(root / "wrn" / "deepinv", f"s{seed}", ".", **datafree("deepinv", 200.0, 50.5, seed=seed))
        write_curve(root / "wrn" / "deepinv" / f"s{seed}", deepinv, synthesis=25.0)
        write(root / "wrn" / "cmi", f"s{seed}", ".", **datafree("cmi", 150.0, 60.0, seed=seed))
        write_curve(root / "wrn" / "cmi" / f"s{seed}", [(60, 30.0), (120, 40.0), (180, 50.0), (240, 60.0)])
        write_curve(root / "wrn" / "fast_meta-2" / f"s{seed}", fast, synthesis=2.5)
    out = str(tmp_path / "t")
    with pytest.raises(SystemExit):   # CMI is still rising: the protocol's budget was too short for it
        fmnist_report.main([str(root), "--out", out, "--seeds", "3", "--budgets", "1,2,4"])
    table = open(out + ".md").read()
    assert "- PASS: wrn: Fast-2 gained 0.50 points over the last quarter" in table
    assert "- FAIL: wrn: CMI gained 10.00 points over the last quarter" in table
    assert ("| wrn40_2 -> wrn16_1 | Fast-2 | 3 | 45.00 +- 0.00 | 52.00 +- 0.00 | 53.50 +- 0.00 | 62.00 +- 2.00 | "
            "5 +- 0 | 35 +- 0 | 20.0 +- 0.0 | 2.0 +- 0.0 |") in table   # synthesis: 200 s / 10 s
    assert ("| wrn40_2 -> wrn16_1 | DeepInv | 3 | 20.00 +- 0.00 | 40.00 +- 0.00 | 50.50 +- 0.00 | 50.50 +- 0.00 |"
            in table)
    assert "| wrn40_2 -> wrn16_1 | Noise (control) | 1 | - | - | - | 10.50 |" in table   # no log: no budget cells
    report = json.load(open(out + ".json"))
    fast_rows = [r for r in report["rows"] if r["run"] == "fast_meta-2"]
    assert [r["speedup_wall"] for r in fast_rows] == [2.0] * 3       # 240 s / 120 s
    assert [r["speedup_to_acc"] for r in fast_rows] == [20.0] * 3    # 8 x 25 s / 4 x 2.5 s of synthesis
    assert [r["speedup"] for r in fast_rows] == [40.0] * 3           # synthesis seconds of the whole runs
    assert {r["speedup_wall"] for r in report["rows"] if r["run"] == "cmi"} == {1.0}   # 50.5 first at 240 s
    with Image.open(out + "_curves.png") as image:
        assert image.format == "PNG" and image.width > 500


def test_runs_from_two_machines_fail_the_one_machine_check(tmp_path):
    """Times compare only within one machine: summaries naming two CPU models fail; a run from before the model
    was recorded ('cpu (2 threads)') is counted, not guessed."""
    root = tmp_path / "run"
    validity_fixture(root, 91.0, 86.0, 10.5, fast_seeds=(0, 1, 2))
    for seed, device in ((0, "cpu (AMD EPYC, 2 threads)"), (1, "cpu (AMD EPYC, 2 threads)")):
        path = root / "wrn" / "fast_meta-2" / f"s{seed}" / "summary.json"
        path.write_text(json.dumps({**json.loads(path.read_text()), "device": device}))
    report = fmnist_report.main([str(root), "--out", str(tmp_path / "t"), "--seeds", "3"])
    assert ((True, "one machine: AMD EPYC (4 run(s) predate the machine name in summary.json: not checked)")
            in report["validity"])
    path = root / "wrn" / "fast_meta-2" / "s2" / "summary.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), "device": "cpu (Intel Xeon, 2 threads)"}))
    with pytest.raises(SystemExit) as stop:
        fmnist_report.main([str(root), "--out", str(tmp_path / "t"), "--seeds", "3"])
    assert stop.value.code == 1
    assert "runs from more than one machine: AMD EPYC; Intel Xeon" in open(tmp_path / "t.md").read()
    assert fmnist_report.machine_of("NVIDIA H200") == "NVIDIA H200" and fmnist_report.machine_of(None) is None
