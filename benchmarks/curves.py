"""Accuracy against wall-clock time, read from a run's per-epoch metrics.csv: the curve, top-1 at a time budget,
time to reach an accuracy, flatness at the end, and a plot of one panel per pair with seed bands."""
import csv
import os
import textwrap


def read_curve(run_dir, clock="wall"):
    """[(seconds, top-1)] of the evaluated epochs. clock "wall": the cumulative `wall_seconds` column, or for logs
    without it the cumulative synthesis + KD (or epoch) seconds; clock "synthesis": the cumulative synthesis
    seconds. [] when there is no metrics.csv."""
    path = os.path.join(run_dir, "metrics.csv")
    if not os.path.isfile(path):
        return []
    curve, spent, synthesized = [], 0.0, 0.0
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            spent += sum(float(row.get(k) or 0) for k in ("synthesis_seconds", "kd_seconds", "epoch_seconds"))
            synthesized += float(row.get("synthesis_seconds") or 0)
            if clock == "synthesis":
                t = synthesized
            else:
                t = float(row["wall_seconds"]) if row.get("wall_seconds") else spent
            if row.get("acc1"):
                curve.append((round(t, 2), float(row["acc1"])))
    return curve


def value_at(curve, seconds):
    """Top-1 of the last evaluation at or before `seconds` (None before the first)."""
    seen = [acc for t, acc in curve if t <= seconds]
    return seen[-1] if seen else None


def time_to(curve, accuracy):
    """Seconds of the first evaluation at or above `accuracy` (None if never)."""
    return next((t for t, acc in curve if acc >= accuracy), None)


def last_quarter_gain(curve):
    """Top-1 gained over the last quarter of the run's time (None without two evaluations)."""
    if len(curve) < 2:
        return None
    end = curve[-1][0]
    before = value_at(curve, 0.75 * end)
    return None if before is None else curve[-1][1] - before


def pair_panels(report, width, height):
    """A figure with one panel per teacher/student pair of `report`, two per row: (pyplot, fig, axes, pairs, ncols)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pairs = list(dict.fromkeys(r["pair"] for r in report["rows"]))
    ncols = min(len(pairs), 2)
    nrows = (len(pairs) + ncols - 1) // ncols
    fig, axes = plt.subplots(nrows, ncols, figsize=(width * ncols, height * nrows), squeeze=False)
    return plt, fig, axes, pairs, ncols


def plot_curves(report, png_path, labels):
    """One panel per pair: mean top-1 over seeds against wall-clock minutes, a band from the lowest to the
    highest seed; real-data rows as horizontal lines."""
    plt, fig, axes, pairs, ncols = pair_panels(report, 7, 4.8)
    for ax, pair in zip(axes.flat, pairs, strict=False):
        rows = [r for r in report["rows"] if r["pair"] == pair]
        for run in dict.fromkeys(r["run"] for r in rows):
            seeds = [r for r in rows if r["run"] == run and r.get("curve")]
            if not seeds:
                continue
            if run in ("scratch", "vanilla_kd"):
                ax.axhline(sum(r["student_acc1"] for r in seeds) / len(seeds), color="gray",
                           ls="--" if run == "vanilla_kd" else ":", label=labels.get(run, run))
                continue
            grid = sorted({t for r in seeds for t, _ in r["curve"]})
            values = [[value_at(r["curve"], t) for r in seeds] for t in grid]
            keep = [(t, v) for t, v in zip(grid, values, strict=True) if all(x is not None for x in v)]
            if not keep:
                continue
            minutes = [t / 60 for t, _ in keep]
            line, = ax.plot(minutes, [sum(v) / len(v) for _, v in keep], lw=2 if run.startswith("fast_meta") else 1,
                            label=labels.get(run, run) + (f" ({len(seeds)} seeds)" if len(seeds) > 1 else ""))
            if len(seeds) > 1:
                ax.fill_between(minutes, [min(v) for _, v in keep], [max(v) for _, v in keep],
                                color=line.get_color(), alpha=0.2)
        ax.set_xlabel("wall-clock minutes")
        ax.set_ylabel("student top-1 (%)")
        ax.set_title(f"{rows[0]['teacher']} -> {rows[0]['student']}")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7, loc="lower right")
    for ax in list(axes.flat)[len(pairs):]:
        ax.axis("off")
    title = f"Fashion-MNIST, {report['schedule']} schedule, {report['machine']}: accuracy against time"
    fig.suptitle("\n".join(textwrap.wrap(title, 60 * ncols)), fontsize=10)
    fig.tight_layout()
    fig.savefig(png_path, dpi=110)
    plt.close(fig)
    return png_path
