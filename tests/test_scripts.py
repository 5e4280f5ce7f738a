"""The shell scripts researchers run: every command they would launch parses and carries the paper's settings."""
import json
import os
import shlex
import shutil
import subprocess
import sys

import pytest

import datafree_kd
import train_scratch
import vanilla_kd

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def dry_run(script, **env):
    """The commands a script prints with DRY_RUN=1 (quoted for the shell), less `python SCRIPT`."""
    return [argv[2:] for argv in dry_run_commands(script, **env)]


def dry_run_commands(script, **env):
    out = subprocess.run(["bash", f"scripts/{script}"], cwd=ROOT, capture_output=True, text=True, check=True,
                         env={**os.environ, "DRY_RUN": "1", "PYTHON": "python", **env}).stdout
    return [shlex.split(line) for line in out.splitlines()]


def method_row(row, adv="1.1", oh="0.4"):
    """A row of scripts/lib/methods.sh, parsed as datafree_kd.py's flags."""
    out = subprocess.run(["bash", "-c", 'source scripts/lib/methods.sh; cmd=(); set_method_flags cmd "$@"; '
                          'show_cmd "${cmd[@]}"', "-", row, adv, oh], cwd=ROOT, capture_output=True, text=True,
                         check=True).stdout
    return vars(datafree_kd.build_parser().parse_args(["--method", row.split("-")[0], *shlex.split(out)]))


def repeated_flags(argv):
    """Flags given more than once (an alias counts as its flag)."""
    script = next((a for a in argv if a.endswith(".py")), None)
    parser = {"train_scratch.py": train_scratch, "vanilla_kd.py": vanilla_kd, "datafree_kd.py": datafree_kd,
              }.get(script)
    if parser is None:
        return []
    options = parser.build_parser()._option_string_actions
    dests = [options[a].dest for a in argv[argv.index(script) + 1:] if a in options]
    return sorted({d for d in dests if dests.count(d) > 1})


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


# The reference baseline scripts (zju-vipa/CMI scripts/*, Fast-Datafree scripts/*_cifar.sh), flag by flag:
# (kd_steps, g_steps, lr_g, adv, bn, oh, act, balance, T) at batch 256, lr 0.1, ep_steps 400, 200 epochs.
REFERENCE_BASELINES = {
    "deepinv": (400, 1000, 0.1, 1, 10, 1, 0, 0, 20),
    "cmi": (400, 200, 1e-3, 0.5, 1, 1, 0, 0, 20),
    "dafl": (5, 1, 1e-3, 0, 0, 1, 0.001, 20, 20),
    "zskt": (5, 1, 1e-3, 1, 0, 0, 0, 0, 20),
    "dfq": (10, 1, 1e-3, 1, 1, 1, 0, 20, 20),
    "dfad": (5, 1, 1e-3, 1, 0, 0, 0, 0, 1),
}


@pytest.mark.parametrize("method", sorted(REFERENCE_BASELINES))
def test_baseline_scripts_carry_the_reference_settings_on_both_datasets(method):
    runs = [datafree_kd.build_parser().parse_args(argv) for argv in dry_run(f"{method}_cifar.sh")]
    assert len(runs) == 10 and {a.method for a in runs} == {method}
    assert {(a.dataset, a.teacher, a.student) for a in runs} == {
        (d, t, s) for d in ("cifar10", "cifar100") for t, s in (("resnet34", "resnet18"), ("vgg11", "resnet18"),
                                                                ("wrn40_2", "wrn16_1"), ("wrn40_2", "wrn40_1"),
                                                                ("wrn40_2", "wrn16_2"))}
    for a in runs:
        # the one reference script for another pair: dfq ResNet-34 -> ResNet-18 on CIFAR-100 at lr 0.05, T 1
        special = method == "dfq" and a.dataset == "cifar100" and a.teacher == "resnet34"
        want = REFERENCE_BASELINES[method][:-1] + ((1,) if special else REFERENCE_BASELINES[method][-1:])
        assert (a.kd_steps, a.g_steps, a.lr_g, a.adv, a.bn, a.oh, a.act, a.balance, a.T) == want
        assert (a.batch_size, a.lr, a.ep_steps, a.epochs, a.seed) == (256, 0.05 if special else 0.1, 400, 200, 0)


def nayer_reference_runs():
    """NAYER's script lines (tests/fixtures/reference_commands.txt, tmtuan1307/NAYER scripts/nayer_{100,200,300}.sh)
    as validated datafree_kd.py arguments: {(length, dataset, teacher, student): vars}."""
    runs = {}
    with open(os.path.join(ROOT, "tests", "fixtures", "reference_commands.txt")) as f:
        for line in f:
            source, command = line.rstrip("\n").split(": ", 1)
            if source.startswith("NAYER/scripts/nayer_"):
                a = datafree_kd.validate(datafree_kd.build_parser().parse_args(shlex.split(command)[1:]))
                runs[(source[-6:-3], a.dataset, a.teacher, a.student)] = vars(a)
    return runs


# Where our runs may differ from NAYER's lines: run folders and names, the seed (ours is given), --gpu (NAYER's 0).
NAYER_RUN_ONLY = ("save_dir", "log_tag", "seed", "resume", "gpu")


def nayer_script_runs(script, **env):
    """The runs a NAYER script prints, validated and keyed like nayer_reference_runs (the length from --log_tag)."""
    runs = {}
    for argv in dry_run(script, **env):
        a = datafree_kd.validate(datafree_kd.build_parser().parse_args(argv))
        assert (a.method, a.seed, a.resume) == ("nayer", 0, "")
        runs[(a.log_tag[-3:], a.dataset, a.teacher, a.student)] = vars(a)
    return runs


def without(values, keys):
    return {k: v for k, v in values.items() if k not in keys}


def test_nayer_cifar_runs_nayers_30_cifar_lines_with_their_values():
    runs = nayer_script_runs("nayer_cifar.sh")
    assert len(dry_run("nayer_cifar.sh")) == len(runs) == 30
    assert set(runs) == {(v, d, t, s) for v in ("100", "200", "300") for d in ("cifar10", "cifar100")
                         for t, s in (("resnet34", "resnet18"), ("vgg11", "resnet18"), ("wrn40_2", "wrn16_1"),
                                      ("wrn40_2", "wrn40_1"), ("wrn40_2", "wrn16_2"))}
    reference = nayer_reference_runs()
    for key, a in runs.items():
        assert without(a, NAYER_RUN_ONLY) == without(reference[key], NAYER_RUN_ONLY), key
        assert a["g_steps"] == {"cifar10": 30, "cifar100": 40}[a["dataset"]]
        assert a["epochs"] == {"100": 120, "200": 220, "300": 320}[key[0]]
        assert (a["T"], a["bn_mmt"], a["kd_steps"], a["ep_steps"], a["le_emb_size"]) == (20, 0.9, 400, 400, 1000)
        assert (a["batch_size"], a["synthesis_batch_size"], a["lr"], a["adv"], a["oh"], a["label_emb"]) == (
            512, 400, 0.2, 1.33, 0.5, "auto")
    assert len({a["save_dir"] for a in runs.values()}) == 30
    assert set(nayer_script_runs("nayer_cifar.sh", DATASETS="cifar100", ONLY="wrn", VARIANTS="200")) == {
        ("200", "cifar100", "wrn40_2", "wrn16_1")}


def test_nayer_tiny_imagenet_runs_nayers_tir34r18_lines():
    runs = nayer_script_runs("nayer_tiny_imagenet.sh")
    assert sorted(runs) == [(v, "tiny_imagenet", "resnet34", "resnet18") for v in ("100", "200", "300")]
    reference = nayer_reference_runs()
    for key, a in runs.items():
        assert without(a, NAYER_RUN_ONLY) == without(reference[key], NAYER_RUN_ONLY), key
        assert (a["batch_size"], a["synthesis_batch_size"], a["lr"], a["g_steps"], a["g_loops"], a["gwp_loops"],
                a["kd_steps"], a["ep_steps"], a["T"], a["bn_mmt"]) == (256, 200, 0.1, 60, 4, 20, 1000, 1000, 20, 0.9)


def test_nayer_rows_for_other_scripts():
    """`nayer` is nayer-100 (the Fashion-MNIST protocol's row); its variants change only the class embeddings."""
    nayer = method_row("nayer")
    assert nayer == method_row("nayer-100") and nayer["label_emb"] == "auto" and nayer["epochs"] == 120
    assert {**method_row("nayer-200"), "epochs": 120} == {**method_row("nayer-300"), "epochs": 120} == nayer
    for source in ("random", "onehot"):
        assert method_row(f"nayer-{source}") == {**nayer, "label_emb": source}


def test_set_flags_replaces_a_value_in_place_and_appends_new_flags():
    out = subprocess.run(["bash", "-c", 'source scripts/lib/flags.sh; cmd=(python x.py --a 1 --sw --b 2 3 --c -1); '
                          'set_flags cmd --b 4 --new "v w" --a 5 --sw2; show_cmd "${cmd[@]}"'], cwd=ROOT,
                         capture_output=True, text=True, check=True).stdout
    assert shlex.split(out) == ["python", "x.py", "--a", "5", "--sw", "--b", "4", "--c", "-1", "--new", "v w", "--sw2"]


def test_fast_fmnist_runs_the_fast_meta_rows_with_its_schedule():
    for schedule, teacher_epochs in (("full", 40), ("cpu", 1)):
        commands = dry_run_commands("fast_fmnist.sh", SCHEDULE=schedule)
        teachers = [parse(argv[1:])[1] for argv in commands if argv[1] == "train_scratch.py"]
        assert [a.model for a in teachers] == ["resnet34", "vgg11", "wrn40_2", "wrn40_2", "wrn40_2"]
        assert {a.epochs for a in teachers} == {teacher_epochs}
        runs = [datafree_kd.build_parser().parse_args(argv[2:]) for argv in commands if argv[1] == "datafree_kd.py"]
        assert len(runs) == 15 and not any(repeated_flags(argv) for argv in commands)
        for a in runs:
            want = method_row(f"fast_meta-{a.g_steps}", *{"resnet34": ("1.33", "0.5"), "vgg11": ("1.0", "0.5"),
                                                         "wrn40_2": ("1.1", "0.4")}[a.teacher])
            schedule_flags = {"synthesis_batch_size": 256} if schedule == "full" else {
                "batch_size": 128, "synthesis_batch_size": 128, "lr": 0.1, "kd_steps": 20, "ep_steps": 20, "warmup": 2,
                "epochs": 30, "reset_l0_epoch": 15, "eval_every": 10, "ngf": 32, "workers": 0, "channels_last": True}
            want.update(schedule_flags, dataset="fmnist", teacher=a.teacher, student=a.student, seed=0,
                        save_dir=a.save_dir, log_tag=a.log_tag, resume="auto")
            assert vars(a) == want


def test_fmnist_methods_dry_run_trains_nothing_and_runs_the_rows_at_one_budget(tmp_path):
    out = tmp_path / "a b"   # a folder with a space: the printed commands are quoted for the shell
    commands = dry_run_commands("fmnist_methods.sh", OUT=str(out))
    assert not out.exists() and not any(repeated_flags(argv) for argv in commands)
    assert commands[0][1] == "train_scratch.py" and commands[-1][1:3] == ["-m", "benchmarks.summarize"]
    assert commands[-1][3] == f"{out}/*/summary.json"
    runs = [datafree_kd.build_parser().parse_args(argv[2:]) for argv in commands[1:-1]]
    assert [a.method for a in runs] == ["fast_meta", "fast", "deepinv", "cmi", "dafl", "zskt", "dfq", "dfad", "noise"]
    for a in runs:
        want = method_row("fast_meta-2" if a.method == "fast_meta" else a.method)
        want.update(epochs=30, batch_size=128, synthesis_batch_size=128, lr=0.1, ep_steps=20, warmup=0, seed=0,
                    eval_every=10, save_dir=f"{out}/{a.method}", resume="auto", teacher="wrn16_1", student="resnet8",
                    dataset="fmnist")
        if a.method not in ("dafl", "zskt", "dfq", "dfad"):
            want["kd_steps"] = 20
        # this table's own settings (scripts/fmnist_methods.sh says why)
        want.update({"fast_meta": {"reset_l0_epoch": 15}, "fast": {"reset_l0": 0}, "deepinv": {"g_steps": 40},
                     "cmi": {"g_steps": 40}, "zskt": {"T": 1}, "dfad": {"T": 20}}.get(a.method, {}))
        assert vars(a) == want, a.method


def test_printed_commands_carry_each_flag_once_and_flags_replace_the_scripts_values():
    with_flags = [argv for script in ("fast_cifar.sh", "dfq_cifar.sh", "fast_imagenet.sh", "fast_fmnist.sh",
                                      "fmnist_methods.sh", "nayer_cifar.sh", "nayer_tiny_imagenet.sh")
                  for argv in dry_run_commands(script, FLAGS="--lr 0.3")]
    reproduce = reproduce_commands("--cpu", FLAGS="--lr 0.3")   # (its count: test_reproduce_fmnist_cpu_protocol)
    with_flags += reproduce
    datafree = [argv for argv in with_flags if "datafree_kd.py" in argv]
    assert len(datafree) == 30 + 10 + 3 + 15 + 9 + 30 + 3 + sum("datafree_kd.py" in argv for argv in reproduce)
    assert all(argv[argv.index("--lr") + 1] == "0.3" for argv in datafree)
    commands = with_flags + reproduce_commands() + reproduce_commands("--cpu", ONLY="w161 wrn")
    assert [argv for argv in commands if repeated_flags(argv)] == []


def reproduce_commands(*args, **env):
    out = subprocess.run(["bash", "benchmarks/reproduce_fmnist.sh", *args], cwd=ROOT, capture_output=True, text=True,
                         check=True, env={**os.environ, "DRY_RUN": "1", "PYTHON": "python", **env}).stdout
    return [shlex.split(line)[1:] for line in out.splitlines()]


def parse(argv):
    import train_scratch
    import vanilla_kd
    parser = {"train_scratch.py": train_scratch, "vanilla_kd.py": vanilla_kd, "datafree_kd.py": datafree_kd}[argv[0]]
    return argv[0], parser.build_parser().parse_args(argv[1:])


def test_reproduce_fmnist_full_schedule_runs_every_row_for_the_four_pairs():
    runs = [parse(argv) for argv in reproduce_commands()]
    teachers = [a.model for script, a in runs if a.save_dir.startswith("checkpoints/pretrained")]
    assert sorted(teachers) == ["resnet34", "vgg11", "wrn40_2"]
    rows = [tuple(a.save_dir.split("/")[-2:]) for _, a in runs if not a.save_dir.startswith("checkpoints/pretrained")]
    assert len(rows) == len(set(rows)) == 4 * 16
    assert {p for p, _ in rows} == {"wrn", "wrn162", "r34", "vgg"}
    datafree_runs = [a for script, a in runs if script == "datafree_kd.py"]
    assert {(a.teacher, a.student) for a in datafree_runs} == {
        ("wrn40_2", "wrn16_1"), ("wrn40_2", "wrn16_2"), ("resnet34", "resnet18"), ("vgg11", "resnet18")}
    by_method = {}
    for a in datafree_runs:
        by_method.setdefault((a.method, a.g_steps), []).append(a)
    assert set(by_method) == {("deepinv", 1000), ("cmi", 200), ("dafl", 1), ("zskt", 1), ("dfq", 1), ("dfad", 1),
                              ("fast", 2), ("fast_meta", 2), ("fast_meta", 5), ("fast_meta", 10), ("noise", 1),
                              ("nayer", 30)}
    for a in datafree_runs:
        assert a.dataset == "fmnist" and a.resume == "auto" and a.seed == 0 and a.time_budget == 0
        assert a.teacher_ckpt.endswith(f"fmnist_{a.teacher}.pth")
        assert a.batch_size == (512 if a.method == "nayer" else 256) and a.ep_steps == 400 and a.val_subset == 0


def test_reproduce_fmnist_cpu_protocol():
    """One pair by default (w161), WRN-40-2 -> WRN-16-1 on request; the same seconds of synthesis + KD for every
    data-free row of a pair, three seeds of Fast-2, Fast-5, CMI, DeepInv and NAYER, teachers and real-data students
    on the whole training split, the whole test split."""
    default = [parse(argv) for argv in reproduce_commands("--cpu")]
    assert {a.log_tag.split("-")[0] for _, a in default if getattr(a, "log_tag", None)} == {"w161"}
    assert len(default) == 1 + 2 + 9 + 5 * 3
    runs = [parse(argv) for argv in reproduce_commands("--cpu", ONLY="w161 wrn")]
    teacher_dir = "run/reproduce_fmnist_cpu/teachers"
    teachers = [a for script, a in runs if a.save_dir.startswith(teacher_dir)]
    assert sorted(a.model for a in teachers) == ["wrn16_1", "wrn40_2"]
    real = [a for script, a in runs if script != "datafree_kd.py" and not a.save_dir.startswith(teacher_dir)]
    for a in teachers + real:
        assert (a.epochs, a.batch_size, a.train_subset, a.val_subset) == (4, 128, 0, 0)
    datafree_runs = [a for script, a in runs if script == "datafree_kd.py"]
    assert {(a.teacher, a.student) for a in datafree_runs} == {("wrn16_1", "resnet8"), ("wrn40_2", "wrn16_1")}
    assert len(runs) == 2 + 2 * (2 + 9 + 5 * 3)
    seeds = {}
    for a in datafree_runs:
        pair, row = a.log_tag.split("-", 1)
        seeds.setdefault((pair, row), []).append(a.seed)
        assert a.time_budget == {"w161": 360, "wrn": 1080}[pair] and a.epochs == 100000 and a.val_subset == 0
        assert (a.batch_size, a.synthesis_batch_size, a.ep_steps, a.warmup) == (128, 128, 20, 0)
        if a.method in ("deepinv", "cmi"):
            assert a.g_steps == 10
        if a.method == "nayer":   # NAYER's CIFAR-10 steps and loops, its parser's T and BN momentum
            assert (a.g_steps, a.g_loops, a.T, a.bn_mmt) == (30, 2, 20, 0.9)
        if a.method not in ("dafl", "zskt", "dfq", "dfad"):
            assert a.kd_steps == 20
    for (pair, row), got in seeds.items():
        assert got == ([0, 1, 2] if row in ("fast_meta-2", "fast_meta-5", "cmi", "deepinv", "nayer") else [0]), \
            (pair, row)
    seeded = [a.save_dir for a in datafree_runs if a.log_tag == "w161-cmi"]
    assert seeded == [f"run/reproduce_fmnist_cpu/w161/cmi/s{i}" for i in range(3)]


def finished_w161_protocol(out, noise_acc1=12.0, budget=360):
    """Every run of the w161 pair finished (summary.json as the entry scripts write it) and its teacher saved."""
    def summary(folder, **values):
        os.makedirs(folder)
        with open(os.path.join(folder, "summary.json"), "w") as f:
            json.dump(values, f)

    teacher = os.path.join(out, "teachers", "wrn16_1")
    summary(teacher, model="wrn16_1", best_acc1=91.0, epochs=4, wall_seconds=300.0)
    open(os.path.join(teacher, "fmnist_wrn16_1.pth"), "w").close()
    summary(os.path.join(out, "w161", "scratch"), model="resnet8", best_acc1=88.0, epochs=4, wall_seconds=200.0)
    summary(os.path.join(out, "w161", "vanilla_kd"), teacher="wrn16_1", student="resnet8", best_acc1=88.5, epochs=4,
            epochs_done=4, wall_seconds=200.0)
    for row in ("deepinv", "cmi", "dafl", "zskt", "dfq", "dfad", "fast", "fast_meta-2", "fast_meta-5",
                "fast_meta-10", "nayer", "nayer-random", "nayer-onehot", "noise"):
        seeded = row in ("deepinv", "cmi", "fast_meta-2", "fast_meta-5", "nayer")
        for seed in (0, 1, 2) if seeded else (0,):
            folder = os.path.join(out, "w161", row, f"s{seed}" if seeded else "")
            summary(folder, method=row.split("-")[0], teacher="wrn16_1", student="resnet8", teacher_acc1=91.0,
                    best_acc1=noise_acc1 if row == "noise" else 60.0, epochs=100000, epochs_done=40,
                    budget_reached=True, time_budget=budget, synthesis_seconds=100.0, wall_seconds=budget + 30.0)
            with open(os.path.join(folder, "metrics.csv"), "w") as f:   # a curve that has levelled off
                f.write("epoch,acc1,wall_seconds\n0,40.0,100\n1,59.5,200\n2,60.0,300\n")


def run_protocol(out, report):
    return subprocess.run(["bash", "benchmarks/reproduce_fmnist.sh", "--cpu"], cwd=ROOT, capture_output=True,
                          text=True, env={**os.environ, "ONLY": "w161", "OUT": str(out), "REPORT": str(report),
                                          "PYTHON": sys.executable})


def test_reproduce_fmnist_skips_finished_runs_and_publishes_only_a_valid_report(tmp_path):
    """A finished protocol launches nothing and publishes its report; a failing validity check leaves the
    published report alone (the report stays in the run folder)."""
    finished_w161_protocol(tmp_path / "run")
    done = run_protocol(tmp_path / "run", tmp_path / "published")
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("== done: ") == 2 + 9 + 5 * 3 and "every validity check passed" in done.stdout
    published = json.loads((tmp_path / "published.json").read_text())
    assert len(published["rows"]) == 2 + 9 + 5 * 3 and (tmp_path / "published_curves.png").exists()

    shutil.rmtree(tmp_path / "run")
    finished_w161_protocol(tmp_path / "run", noise_acc1=35.0)
    failed = run_protocol(tmp_path / "run", tmp_path / "published")
    assert failed.returncode == 1
    assert "VALIDITY CHECK FAILED: w161: noise control seed 0 35.00% (needs <= 20%)" in failed.stderr
    assert "results/ is unchanged" in failed.stderr
    assert json.loads((tmp_path / "published.json").read_text()) == published
    assert "- FAIL: w161: noise control" in (tmp_path / "run" / "fmnist_table.md").read_text()


def test_reproduce_fmnist_refuses_runs_finished_with_another_budget(tmp_path):
    finished_w161_protocol(tmp_path / "run", budget=200)
    bad = run_protocol(tmp_path / "run", tmp_path / "published")
    assert bad.returncode == 2 and not (tmp_path / "published.json").exists()
    assert "ran with --time_budget 200, this protocol gives 360: move it away" in bad.stderr


def test_reproduce_fmnist_report_names_missing_rows(tmp_path):
    finished_w161_protocol(tmp_path / "run")
    shutil.rmtree(tmp_path / "run" / "w161" / "dfad")
    os.remove(tmp_path / "run" / "teachers" / "wrn16_1" / "fmnist_wrn16_1.pth")
    report = subprocess.run([sys.executable, "-m", "benchmarks.fmnist_report", str(tmp_path / "run"), "--seeds", "3",
                             "--expect_pairs", "w161 wrn", "--expect_rows", "dfad fast", "--out",
                             str(tmp_path / "t")], cwd=ROOT, capture_output=True, text=True)
    assert report.returncode == 1
    assert "VALIDITY CHECK FAILED: w161: 1 row(s) missing: dfad" in report.stderr
    assert "VALIDITY CHECK FAILED: wrn: 2 row(s) missing: dfad, fast" in report.stderr


def test_reproduce_fmnist_rejects_unknown_options_and_pairs():
    bad = subprocess.run(["bash", "benchmarks/reproduce_fmnist.sh", "--fast"], cwd=ROOT, capture_output=True, text=True)
    assert bad.returncode == 2 and "usage: bash benchmarks/reproduce_fmnist.sh [--cpu]" in bad.stderr
    bad = subprocess.run(["bash", "benchmarks/reproduce_fmnist.sh"], cwd=ROOT, capture_output=True, text=True,
                         env={**os.environ, "DRY_RUN": "1", "ONLY": "wrn foo"})
    assert bad.returncode == 2 and "ONLY: unknown pair 'foo'" in bad.stderr
