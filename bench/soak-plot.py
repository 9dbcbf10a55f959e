"""Plots bench/soak.ts's CSV: RSS, heap used, event-loop delay p99 and consumer lag over time, one line per process.

    python bench/soak-plot.py bench/soak/soak.csv bench/soak/soak.png [warmup_seconds]
"""
import csv
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

source, target = sys.argv[1], sys.argv[2]
warmup = float(sys.argv[3]) if len(sys.argv) > 3 else 0.0

series = {}
with open(source, newline="") as f:
    for row in csv.DictReader(f):
        series.setdefault(row["process"], []).append(row)

panels = [
    ("rss_mb", "RSS (MB)"),
    ("heap_used_mb", "heap used (MB)"),
    ("eventloop_p99_ms", "event-loop delay p99 (ms)"),
    ("lag", "consumer lag (records)"),
]
fig, axes = plt.subplots(len(panels), 1, figsize=(10, 11), sharex=True)
for ax, (column, title) in zip(axes, panels):
    for process, rows in series.items():
        points = [(float(r["elapsed_s"]) / 60, float(r[column])) for r in rows if r[column] != ""]
        if points:
            ax.plot([p[0] for p in points], [p[1] for p in points], label=process, linewidth=1.2)
    if warmup > 0:
        ax.axvline(warmup / 60, color="grey", linestyle=":", linewidth=1)
    ax.set_ylabel(title)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper left", fontsize=8)
axes[-1].set_xlabel("minutes (dotted line: end of warm-up)")
fig.suptitle("onex-events soak: producer, worker and alert processor at a steady rate")
fig.tight_layout()
fig.savefig(target, dpi=90)
