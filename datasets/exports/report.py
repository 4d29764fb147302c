"""A split version's balance, as JSON for the browser and as a PNG (matplotlib, Agg backend).

Everything is read from what the version stored when it was frozen (proportions per split of
exercise, skill level and clip severity class, their largest deviation from the whole, and the
severity class counts per error type), so drawing it never re-reads labels.
"""
from __future__ import annotations

import io

SPLIT_NAMES = ("train", "val", "test")
COLOURS = {"all": "#7f7f7f", "train": "#1f77b4", "val": "#ff7f0e", "test": "#2ca02c"}


def balance_json(split_version) -> dict:
    balance = split_version.balance or {}
    proportions = balance.get("proportions", {})
    variables = {}
    for var in proportions.get("all", {}):
        levels = sorted(proportions["all"][var], key=lambda k: (len(k), k))
        variables[var] = {"levels": levels, **{
            part: [proportions.get(part, {}).get(var, {}).get(level, 0.0) for level in levels]
            for part in ("all", *SPLIT_NAMES)}}
    class_balance = balance.get("class_balance", {})
    totals = {}
    for part, table in class_balance.get("counts", {}).items():
        sums = [sum(row[c] for row in table) for c in range(4)]
        n = sum(sums)
        totals[part] = {"counts": sums, "shares": [round(x / n, 6) if n else 0.0 for x in sums]}
    return {
        "split_version": split_version.pk, "version": split_version.version, "rule": split_version.rule,
        "manifest_hash": split_version.manifest_hash, "counts": split_version.counts,
        "max_deviation": balance.get("max_deviation"),
        "max_deviation_by_variable": balance.get("max_deviation_by_variable", {}),
        "size_deviation": balance.get("size_deviation"), "variables": variables,
        "class_balance": {"error_types": class_balance.get("error_types", []), "classes": [0, 1, 2, 3],
                          "per_error_type": class_balance.get("counts", {}), "totals": totals},
    }


def balance_png(split_version, *, max_levels: int = 20) -> bytes:
    """Grouped bars: severity class, skill level and exercise shares per split, plus the whole."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    data = balance_json(split_version)
    panels = []
    totals = data["class_balance"]["totals"]
    if totals:
        panels.append(("severity class of labelled items", [str(c) for c in range(4)],
                       {p: totals.get(p, {}).get("shares", [0] * 4) for p in ("all", *SPLIT_NAMES)}))
    for var, title in (("severity_class", "clip severity class (worst repetition)"), ("skill_level", "skill level"),
                       ("exercise", "exercise")):
        if var in data["variables"]:
            v = data["variables"][var]
            levels = v["levels"]
            order = sorted(range(len(levels)), key=lambda i: -v["all"][i])[:max_levels]
            panels.append((title, [levels[i] for i in order], {p: [v[p][i] for i in order] for p in ("all", *SPLIT_NAMES)}))
    figure = Figure(figsize=(11, 3.2 * max(len(panels), 1)), dpi=100)
    axes = figure.subplots(max(len(panels), 1), 1, squeeze=False)[:, 0]
    for ax, (title, levels, series) in zip(axes, panels):
        width = 0.8 / 4
        for j, part in enumerate(("all", *SPLIT_NAMES)):
            xs = [i + (j - 1.5) * width for i in range(len(levels))]
            ax.bar(xs, series[part], width=width, label=part, color=COLOURS[part])
        ax.set_xticks(range(len(levels)))
        ax.set_xticklabels(levels, rotation=45 if len(levels) > 6 else 0, ha="right" if len(levels) > 6 else "center",
                           fontsize=8)
        ax.set_ylabel("share")
        ax.set_title(title, fontsize=10)
        ax.legend(fontsize=8, ncols=4)
    if not panels:
        axes[0].text(0.5, 0.5, "no balance data", ha="center", va="center")
    figure.suptitle(f"split version {data['version']}: largest deviation {data['max_deviation']}", fontsize=11)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()
