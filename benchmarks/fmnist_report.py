"""Tables and plots of a benchmarks/reproduce_fmnist.sh run: RUN_DIR/PAIR/ROW/summary.json (and metrics.csv) ->
OUT.md, OUT.json, OUT.png (final top-1 against synthesis time) and OUT_curves.png (top-1 against wall clock).

    python -m benchmarks.fmnist_report run/reproduce_fmnist_cpu --schedule cpu --seeds 3 --out results/fmnist_table
    python -m benchmarks.fmnist_report --from_json results/fmnist_table.json   # rewrite the .md and .png from the JSON

Speed-ups, within a teacher/student pair: "speed-up vs DeepInv" is DeepInversion's synthesis seconds over the row's
(whole runs); the budget table's two are the paper's measure, the seconds DeepInversion takes to reach its best
top-1 over the seconds the row takes to reach it, counted in synthesis seconds and in wall seconds.
Runs may be repeated with seeds in RUN_DIR/PAIR/ROW/s<SEED>/summary.json; the table shows mean +- std over seeds.

Validity checks are printed above the table and make the script exit with status 1 when one fails (after writing
the outputs; --allow_invalid keeps status 0): every teacher >= 90% top-1, real-data KD >= 85%, the noise control
<= 20%, --seeds seeds of each of SEEDED_ROWS present in every pair that has the row, the curves of FLAT_ROWS
levelled off (< 2 points gained over the last quarter of their time), one time budget for all data-free rows of a
pair, no interrupted run, and every --expect_rows row in every --expect_pairs pair.
"""
import argparse
import glob
import json
import os
import sys
import textwrap
import time

from benchmarks.common import commit, machine
from benchmarks.curves import last_quarter_gain, pair_panels, plot_curves, read_curve, time_to, value_at
from benchmarks.summarize import fmt

ROW_LABELS = {
    "scratch": "Scratch (real data)", "vanilla_kd": "KD (real data)", "deepinv": "DeepInv", "cmi": "CMI",
    "dafl": "DAFL", "zskt": "ZSKT", "dfq": "DFQ", "dfad": "DFAD", "fast": "Fast (no meta)",
    "fast_meta-2": "Fast-2", "fast_meta-5": "Fast-5", "fast_meta-10": "Fast-10",
    "nayer": "NAYER (teacher's classifier rows)", "nayer-random": "NAYER (random class vectors)",
    "nayer-onehot": "NAYER (one-hot classes)", "noise": "Noise (control)",
}
REAL_DATA_ROWS = ("scratch", "vanilla_kd")
MIN_TEACHER_ACC1, MIN_REAL_KD_ACC1, MAX_NOISE_ACC1 = 90.0, 85.0, 20.0
SEEDED_ROWS = ("fast_meta-2", "fast_meta-5", "cmi", "deepinv", "nayer")
FLAT_ROWS, MAX_LAST_QUARTER_GAIN = ("fast_meta-2", "cmi"), 2.0   # curves that must have levelled off
PAIR_ORDER = ["r34", "vgg", "wrn", "wrn401", "wrn162"]   # the paper's column order
BASELINE = "deepinv"
COLUMNS = [("pair", "pair"), ("label", "method"), ("seed", "seed"), ("student_acc1", "student top-1"),
           ("synthesis_seconds", "synthesis s"), ("wall_seconds", "wall s"), ("speedup", "speed-up vs DeepInv"),
           ("student_steps", "student steps"), ("batch_size", "batch")]


def _order(names, name):
    return (list(names).index(name), name) if name in names else (len(names), name)


def _student_steps(s):
    if "train_steps" in s:
        return s["train_steps"]
    if "ep_steps" in s:
        return (s["epochs_done"] - s.get("warmup", 0)) * s["ep_steps"]
    return None


def collect(run_dir):
    """Rows (one per PAIR/ROW/summary.json) and teachers (RUN_DIR/teachers/MODEL/summary.json)."""
    teachers, rows = [], []
    paths = glob.glob(os.path.join(run_dir, "*", "*", "summary.json"))
    paths += glob.glob(os.path.join(run_dir, "*", "*", "s[0-9]*", "summary.json"))
    for path in sorted(paths):
        with open(path) as f:
            s = json.load(f)
        parts = os.path.relpath(path, run_dir).split(os.sep)
        group, run = parts[0], parts[1]
        seed = int(parts[2][1:]) if len(parts) == 4 else s.get("seed") or 0
        if group == "teachers":
            teachers.append({"model": s["model"], "acc1": s["best_acc1"], "wall_seconds": s["wall_seconds"],
                             "epochs": s["epochs"], "train_subset": s.get("train_subset", 0),
                             "val_subset": s.get("val_subset", 0), "device": s.get("device")})
            continue
        student = s.get("student", s.get("model"))
        rows.append({
            "pair": group, "run": run, "seed": seed, "label": ROW_LABELS.get(run, run),
            "method": s.get("method", run),
            "teacher": s.get("teacher"), "student": student, "teacher_acc1": s.get("teacher_acc1"),
            "student_acc1": s["best_acc1"], "last_acc1": s.get("last_acc1"),
            "synthesis_seconds": None if run in REAL_DATA_ROWS else s.get("synthesis_seconds"),
            "wall_seconds": s.get("wall_seconds"), "student_steps": _student_steps(s),
            "batch_size": s.get("batch_size"), "val_subset": s.get("val_subset", 0), "device": s.get("device"),
            "time_budget": s.get("time_budget") or None,
            "curve": read_curve(os.path.dirname(path)),
            "synthesis_curve": read_curve(os.path.dirname(path), clock="synthesis"),
            "finished": bool(s.get("budget_reached")) or s.get("epochs_done", s.get("epochs")) >= s.get("epochs", 0),
        })
    unfinished = [r for r in rows if not r["finished"]]   # interrupted runs: named by a check, kept out of tables
    rows = [r for r in rows if r["finished"]]
    if not rows and not unfinished:
        raise SystemExit(f"error: no PAIR/ROW/summary.json under {run_dir}: run benchmarks/reproduce_fmnist.sh first")
    if not teachers:   # teachers trained elsewhere (the full schedule's checkpoints/pretrained): as the runs saw them
        seen = {r["teacher"]: r["teacher_acc1"] for r in rows if r.get("teacher") and r.get("teacher_acc1")}
        teachers = [{"model": m, "acc1": acc, "wall_seconds": None, "epochs": None, "train_subset": 0,
                     "val_subset": 0, "device": None} for m, acc in sorted(seen.items())]
    rows.sort(key=lambda r: (_order(PAIR_ORDER, r["pair"]), _order(ROW_LABELS, r["run"])))
    for pair in {r["pair"] for r in rows}:
        in_pair = [r for r in rows if r["pair"] == pair]
        teacher = next((r["teacher"] for r in in_pair if r["teacher"]), None)
        base = next((r for r in in_pair if r["run"] == BASELINE and r["synthesis_seconds"]), None)
        for r in in_pair:
            r["teacher"] = r["teacher"] or teacher
            ok = base and r["synthesis_seconds"] and r["method"] != "noise"   # noise synthesizes nothing
            r["speedup"] = base["synthesis_seconds"] / r["synthesis_seconds"] if ok else None
        speedups_to_baseline(in_pair)
    return teachers, rows, unfinished


def speedups_to_baseline(in_pair):
    """Speed-ups to DeepInv's top-1, on wall clock (`speedup_wall`) and on synthesis seconds (`speedup_to_acc`,
    the paper's measure): the time DeepInv takes to reach its best top-1 (mean over its seeds) over the time the
    row takes to reach DeepInv's mean best top-1 (None when the row never does)."""
    base = [r for r in in_pair if r["run"] == BASELINE and r.get("curve")]
    target = sum(r["student_acc1"] for r in base) / len(base) if base else None
    for curve_key, out_key in (("curve", "speedup_wall"), ("synthesis_curve", "speedup_to_acc")):
        base_times = [time_to(r.get(curve_key) or [], r["student_acc1"]) for r in base]   # each seed: to its best
        base_times = [t for t in base_times if t]
        for r in in_pair:
            real_data = r["run"] in REAL_DATA_ROWS or r["method"] == "noise"
            mine = time_to(r.get(curve_key) or [], target) if base_times and not real_data else None
            r[out_key] = (sum(base_times) / len(base_times)) / mine if mine else None


def validity(report, seeds):
    """(passed, line) for every check (module docstring); a check that cannot be made (no teacher summary, no
    real-data KD row) fails."""
    checks = []
    rows = report["rows"]
    expected = report.get("expected") or {}
    for pair in expected.get("pairs", []):
        have = {r["run"] for r in rows if r["pair"] == pair}
        missing = [run for run in expected.get("rows", []) if run not in have]
        checks.append((not missing, f"{pair}: every row present" if not missing
                       else f"{pair}: {len(missing)} row(s) missing: {', '.join(missing)}"))
    if not report["teachers"]:
        checks.append((False, "no teacher accuracy (no RUN_DIR/teachers/MODEL/summary.json, no teacher_acc1 in "
                               "the runs)"))
    for t in report["teachers"]:
        checks.append((t["acc1"] >= MIN_TEACHER_ACC1,
                       f"teacher {t['model']}: {t['acc1']:.2f}% (needs >= {MIN_TEACHER_ACC1:.0f}%)"))
    unfinished = [f"{r['pair']}/{r['run']}/s{r['seed']}" for r in report.get("unfinished", [])]
    if unfinished:
        checks.append((False, f"{len(unfinished)} run(s) not finished: {', '.join(unfinished)}"))
    checks += one_machine(report["teachers"] + rows)
    for pair in dict.fromkeys(r["pair"] for r in rows):
        in_pair = [r for r in rows if r["pair"] == pair]
        kd = [r for r in in_pair if r["run"] == "vanilla_kd"]
        if not kd:
            checks.append((False, f"{pair}: no real-data KD row"))
        for r in kd:
            checks.append((r["student_acc1"] >= MIN_REAL_KD_ACC1, f"{pair}: real-data KD seed {r['seed']} "
                           f"{r['student_acc1']:.2f}% (needs >= {MIN_REAL_KD_ACC1:.0f}%)"))
        for r in (r for r in in_pair if r["run"] == "noise"):
            checks.append((r["student_acc1"] <= MAX_NOISE_ACC1, f"{pair}: noise control seed {r['seed']} "
                           f"{r['student_acc1']:.2f}% (needs <= {MAX_NOISE_ACC1:.0f}%)"))
        budgets = sorted({r["time_budget"] for r in in_pair if r.get("time_budget")})
        if budgets:   # every data-free row of a pair must have had the same seconds
            checks.append((len(budgets) == 1, f"{pair}: data-free rows' time budgets "
                           + ", ".join(f"{b:g} s" for b in budgets) + ("" if len(budgets) == 1 else " (must be one)")))
        for run in SEEDED_ROWS:
            have = {r["seed"] for r in in_pair if r["run"] == run}
            if have:
                missing = sorted(set(range(seeds)) - have)
                checks.append((not missing, f"{pair}: {ROW_LABELS[run]} seeds {sorted(have)}"
                               + (f", missing {missing}" if missing else "")))
        for run in FLAT_ROWS:
            gains = [last_quarter_gain(r["curve"]) for r in in_pair if r["run"] == run and r.get("curve")]
            gains = [g for g in gains if g is not None]
            if gains:
                gain = sum(gains) / len(gains)
                checks.append((gain < MAX_LAST_QUARTER_GAIN,
                               f"{pair}: {ROW_LABELS[run]} gained {gain:.2f} points over the last quarter of its "
                               f"time (needs < {MAX_LAST_QUARTER_GAIN:.0f}: levelled off)"))
    return checks


def machine_of(device):
    """The machine in a summary's `device`: a GPU's name or 'cpu (MODEL, N threads)' -> MODEL; None when the run
    predates the CPU model in its summary ('cpu (N threads)') or names no device."""
    if not device:
        return None
    if not device.startswith("cpu ("):
        return device
    inner = device[len("cpu ("):].rstrip(")")
    return inner.rsplit(",", 1)[0].strip() if "," in inner else None


def one_machine(runs):
    """Times are comparable only from one machine: every run that names its machine names the same one."""
    machines = {machine_of(r.get("device")) for r in runs} - {None}
    unnamed = sum(1 for r in runs if machine_of(r.get("device")) is None)
    note = f" ({unnamed} run(s) predate the machine name in summary.json: not checked)" if unnamed else ""
    if len(machines) > 1:
        return [(False, "runs from more than one machine: " + "; ".join(sorted(machines)) + " (times are "
                 "comparable only on one: rerun the other machine's rows)" + note)]
    return [(True, f"one machine: {machines.pop()}{note}")] if machines else []


def budget_table(report, budgets):
    """Top-1 at fixed wall-clock budgets (minutes), final top-1 and times, mean (+- std) over seeds."""
    heads = [f"top-1 at {b:g} min" for b in budgets]
    lines = ["| pair | method | seeds | " + " | ".join(heads) + " | final top-1 | synthesis s | wall s | speed-up "
             "(synthesis s, to DeepInv's top-1) | speed-up (wall, to DeepInv's top-1) |",
             "|---|---|---|" + "---|" * (len(budgets) + 5)]
    groups = {}
    for r in report["rows"]:
        groups.setdefault((r["pair"], r["run"]), []).append(r)

    def cell(values, digits=2):
        values = [v for v in values if v is not None]
        if not values:
            return "-"
        mean, std = _mean_std(values)
        return f"{mean:.{digits}f}" + (f" +- {std:.{digits}f}" if std is not None else "")

    for (_pair, run), runs in groups.items():
        at = [cell([value_at(r.get("curve") or [], 60 * b) for r in runs]) for b in budgets]
        lines.append(f"| {runs[0]['teacher']} -> {runs[0]['student']} | {ROW_LABELS.get(run, run)} | {len(runs)} | "
                     + " | ".join(at) + f" | {cell([r['student_acc1'] for r in runs])} | "
                     f"{cell([r['synthesis_seconds'] for r in runs], 0)} | {cell([r['wall_seconds'] for r in runs], 0)}"
                     f" | {cell([r.get('speedup_to_acc') for r in runs], 1)}"
                     f" | {cell([r.get('speedup_wall') for r in runs], 1)} |")
    return lines


def _mean_std(values):
    mean = sum(values) / len(values)
    std = (sum((v - mean) ** 2 for v in values) / (len(values) - 1)) ** 0.5 if len(values) > 1 else None
    return mean, std


def paper_layout(report):
    """The paper's layout: one row per method, one column per pair, cells 'top-1 (synthesis s)'."""
    pairs = list(dict.fromkeys(r["pair"] for r in report["rows"]))
    runs = sorted({r["run"] for r in report["rows"]}, key=lambda run: _order(ROW_LABELS, run))
    cell = {}
    for r in report["rows"]:
        cell.setdefault((r["pair"], r["run"]), []).append(r)
    heads = []
    for pair in pairs:
        r = next(r for r in report["rows"] if r["pair"] == pair)
        heads.append(f"{r['teacher']} -> {r['student']}")
    lines = ["| method | " + " | ".join(heads) + " |", "|---|" + "---|" * len(pairs)]
    for run in runs:
        cells = []
        for pair in pairs:
            runs_here = cell.get((pair, run))
            if runs_here is None:
                cells.append("-")
                continue
            mean, std = _mean_std([r["student_acc1"] for r in runs_here])
            text = f"{mean:.2f}" + (f" +- {std:.2f}" if std is not None else "")
            syn = [r["synthesis_seconds"] for r in runs_here if r["synthesis_seconds"]]
            cells.append(text + (f" ({sum(syn) / len(syn):.0f} s)" if syn else ""))
        lines.append(f"| {ROW_LABELS.get(run, run)} | " + " | ".join(cells) + " |")
    return lines


def markdown(report):
    lines = [f"Schedule: {report['schedule']}. Machine: {report['machine']}. Date: {report['date']}. "
             f"Commit: {report['commit']}.", "", "Validity checks:", ""]
    lines += [f"- {'PASS' if ok else 'FAIL'}: {text}" for ok, text in report["validity"]] + [""]
    if report["teachers"]:
        lines += ["| teacher | top-1 | epochs | train images | wall s |", "|---|---|---|---|---|"]
        lines += [f"| {t['model']} | {fmt(t['acc1'])} | {t['epochs'] or '-'} | {t['train_subset'] or 'all'} | "
                  f"{fmt(t['wall_seconds'])} |" for t in report["teachers"]]
        lines.append("")
    lines += ["Student top-1 % (synthesis seconds):", ""] + paper_layout(report)
    lines += head_to_head(report, "nayer", "fast_meta-2")
    if any(r.get("curve") for r in report["rows"]):
        lines += ["", "Top-1 at wall-clock budgets (read from each run's per-epoch log), mean +- std over seeds:", ""]
        lines += budget_table(report, report.get("budgets_minutes", [1, 2, 4, 6]))
    lines += ["", "All columns:", ""]
    lines += ["| " + " | ".join(h for _, h in COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for r in report["rows"]:
        cells = [f"{r['teacher']} -> {r['student']}" if key == "pair" else fmt(r.get(key)) for key, _ in COLUMNS]
        lines.append("| " + " | ".join(cells) + " |")
    subsets = {r["val_subset"] for r in report["rows"]} - {0}
    if subsets:
        lines += ["", f"Top-1 of some runs on a fixed random subset of the test split "
                      f"({', '.join(map(str, sorted(subsets)))} images), not the whole split."]
    return "\n".join(lines) + "\n"


def head_to_head(report, a, b):
    """One line per pair holding both rows: the difference of their mean final top-1, with each side's seeds."""
    lines = []
    for pair in dict.fromkeys(r["pair"] for r in report["rows"]):
        accs = {run: [r["student_acc1"] for r in report["rows"] if r["pair"] == pair and r["run"] == run]
                for run in (a, b)}
        if not (accs[a] and accs[b]):
            continue
        (mean_a, std_a), (mean_b, std_b) = _mean_std(accs[a]), _mean_std(accs[b])
        diff = mean_a - mean_b
        spread = max(std_a or 0, std_b or 0)
        verdict = ("within one seed standard deviation" if abs(diff) <= spread
                   else "higher" if diff > 0 else "lower")
        lines += ["", f"{pair}: {ROW_LABELS[a]} - {ROW_LABELS[b]} at the same time budget: {diff:+.2f} points "
                      f"({mean_a:.2f} over {len(accs[a])} seeds vs {mean_b:.2f} over {len(accs[b])}; {verdict})."]
    return lines


def plot(json_path, png_path):
    """Student top-1 against synthesis seconds (log scale), one panel per pair, drawn from the report JSON."""
    with open(json_path) as f:
        report = json.load(f)
    plt, fig, axes, pairs, ncols = pair_panels(report, 6, 4.5)
    for ax, pair in zip(axes.flat, pairs, strict=False):
        rows = [r for r in report["rows"] if r["pair"] == pair]
        for r in rows:
            if r["run"] in REAL_DATA_ROWS:
                ax.axhline(r["student_acc1"], ls="--" if r["run"] == "vanilla_kd" else ":", color="gray",
                           label=r["label"])
            elif r["synthesis_seconds"]:
                fast = r["method"] == "fast_meta"
                ax.scatter(r["synthesis_seconds"], r["student_acc1"], s=60, marker="*" if fast else "o",
                           color="tab:red" if fast else "tab:blue", zorder=3)
                ax.annotate(r["label"], (r["synthesis_seconds"], r["student_acc1"]), textcoords="offset points",
                            xytext=(5, 4), fontsize=8)
        ax.set_xscale("log")
        ax.set_xlabel("synthesis time (s, log scale)")
        ax.set_ylabel("student top-1 (%)")
        teacher_acc = next((r["teacher_acc1"] for r in rows if r["teacher_acc1"] is not None), None)
        teacher = rows[0]["teacher"] + (f" ({teacher_acc:.1f}%)" if teacher_acc is not None else "")
        ax.set_title(f"{teacher} -> {rows[0]['student']}")
        ax.grid(True, which="both", alpha=0.3)
        if any(r["run"] in REAL_DATA_ROWS for r in rows):
            ax.legend(fontsize=8, loc="best")
    for ax in list(axes.flat)[len(pairs):]:
        ax.axis("off")
    fig.suptitle("\n".join(textwrap.wrap(f"Fashion-MNIST, {report['schedule']} schedule, {report['machine']}",
                                          55 * ncols)), fontsize=10)
    fig.tight_layout()
    fig.savefig(png_path, dpi=110)
    plt.close(fig)
    return png_path


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run_dir", nargs="?")
    p.add_argument("--out", default="results/fmnist_table", help="path prefix: writes OUT.md, OUT.json, OUT.png")
    p.add_argument("--schedule", default="full",
                   help="the schedule the runs followed: full or cpu (reproduce_fmnist.sh without or with --cpu)")
    p.add_argument("--from_json", default=None, metavar="JSON", help="rewrite the .md and .png of a report JSON")
    p.add_argument("--seeds", type=int, default=1, help=f"seeds required of {', '.join(SEEDED_ROWS)} (0..N-1)")
    p.add_argument("--allow_invalid", action="store_true", help="exit 0 even when a validity check fails")
    p.add_argument("--budgets", default="1,2,4,6", help="wall-clock budgets (minutes) of the top-1 table")
    p.add_argument("--expect_pairs", default="", help="pairs (RUN_DIR folders, comma-separated) that must be there")
    p.add_argument("--expect_rows", default="", help="rows (comma-separated) every expected pair must have")
    args = p.parse_args(argv)
    if args.from_json:
        with open(args.from_json) as f:
            report = json.load(f)
        for r in report["rows"]:
            r.setdefault("seed", 0)
        out, json_too = os.path.splitext(args.from_json)[0], False
    else:
        if not args.run_dir:
            p.error("give RUN_DIR (or --from_json JSON)")
        teachers, rows, unfinished = collect(args.run_dir)
        report = {"schedule": args.schedule, "machine": machine(),
                  "date": time.strftime("%Y-%m-%d"), "commit": commit(), "run_dir": args.run_dir,
                  "teachers": teachers, "rows": rows, "unfinished": unfinished,
                  "expected": {"pairs": _names(args.expect_pairs), "rows": _names(args.expect_rows)}}
        out, json_too = args.out, True
    report["validity"] = validity(report, args.seeds)
    report["budgets_minutes"] = [float(b) for b in args.budgets.split(",") if b.strip()]
    write(report, out, json_too)
    failed = [text for ok, text in report["validity"] if not ok]
    for text in failed:
        print(f"VALIDITY CHECK FAILED: {text}", file=sys.stderr)
    if failed and not args.allow_invalid:
        raise SystemExit(1)
    return report


def _names(text):
    return [n for n in text.replace(",", " ").split() if n]


def write(report, out, json_too=True):
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    if json_too:
        with open(out + ".json", "w") as f:
            json.dump(report, f, indent=2)
    table = markdown(report)
    with open(out + ".md", "w") as f:
        f.write(table)
    plot(out + ".json", out + ".png")
    if any(r.get("curve") for r in report["rows"]):
        plot_curves(report, out + "_curves.png", ROW_LABELS)
    print(table)
    print(f"wrote {out}.md and {out}.png" + (f" and {out}.json" if json_too else ""))
    return report


if __name__ == "__main__":
    main()
