"""Plots bench/cost-grid.ts's CSV: events/s and CPU µs per event against event size, one line per producer (and
consumer, with its process count) and partition count, one column per cluster.

    python bench/cost-grid-plot.py bench/cost-grid/grid.csv bench/cost-grid/grid.png
"""
import csv
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

source, target = sys.argv[1], sys.argv[2]
with open(source, newline="") as f:
    rows = list(csv.DictReader(f))
clusters = sorted({r["cluster"] for r in rows}, key=lambda c: c != "single")
producers = {"onex": "-", "kafkajs": "--", "java": ":"}
consumers = {c: ("-" if c.startswith("worker-") else "--") for c in sorted({r["contender"] for r in rows}) if c.startswith(("worker-", "kafkajs-consumer-"))}
panels = [(producers, "events_per_s", "producer events/s"), (producers, "cpu_us_per_event", "producer CPU µs/event (this process; Java without JVM start)")]
if consumers:
    panels += [(consumers, "events_per_s", "consumer events/s (1 or 2 processes)"), (consumers, "cpu_us_per_event", "consumer CPU µs/event (all its processes)")]
fig, axes = plt.subplots(len(panels), len(clusters), figsize=(7 * len(clusters), 4.5 * len(panels)), squeeze=False)
for col, cluster in enumerate(clusters):
    for row, (styles, column, title) in enumerate(panels):
        ax = axes[row][col]
        for contender, style in styles.items():
            for partitions in sorted({int(r["partitions"]) for r in rows}):
                pts = sorted((int(r["size_bytes"]), float(r[column])) for r in rows if r["cluster"] == cluster and r["contender"] == contender and int(r["partitions"]) == partitions)
                if pts and not (column == "cpu_us_per_event" and all(y == 0 for _, y in pts)):
                    ax.plot([p[0] for p in pts], [max(p[1], 0.1) for p in pts], style, marker="o", markersize=3, label=f"{contender}, {partitions} p")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("event size (bytes)")
        ax.set_title(f"{cluster}: {title}")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=6, ncol=3)
fig.tight_layout()
fig.savefig(target, dpi=110)
