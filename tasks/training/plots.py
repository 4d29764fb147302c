"""PNG plots saved with a model run: Kappa1 against the target per error type, confusion matrices,
and per-group bar charts. Each function returns the PNG bytes; nothing here touches storage.

Matplotlib runs headless (Agg) and figures are closed after rendering, so a worker that trains
many runs does not accumulate figures.
"""
from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after the backend is chosen)
import numpy as np  # noqa: E402

__all__ = ["bar_chart_png", "confusion_png", "kappa_vs_target_png"]

_DPI = 100


def _render(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=_DPI, bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()


def kappa_vs_target_png(rows: list[dict], *, title: str = "Kappa1 vs target per error type") -> bytes:
    """Horizontal bars of Kappa1 per (exercise, error type), the target as a tick, met in green.

    ``rows``: dicts with ``label``, ``kappa1`` (may be None), ``target`` (may be None), ``met``.
    """
    labels = [r["label"] for r in rows] or ["(none)"]
    kappa = np.array([np.nan if r.get("kappa1") is None else r["kappa1"] for r in rows] or [np.nan])
    target = np.array([np.nan if r.get("target") is None else r["target"] for r in rows] or [np.nan])
    colours = ["#2e7d32" if r.get("met") else "#c62828" for r in rows] or ["#999999"]
    height = max(2.5, 0.28 * len(labels) + 1.2)
    fig, ax = plt.subplots(figsize=(9, height))
    y = np.arange(len(labels))
    ax.barh(y, np.nan_to_num(kappa, nan=0.0), color=colours, height=0.7, label="model Kappa1")
    ax.scatter(target, y, marker="|", s=250, color="black", zorder=3, label="target (0.85 x annotators)")
    ax.set_yticks(y, labels, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlim(min(0.0, float(np.nanmin(np.append(kappa, 0.0)))), 1.0)
    ax.set_xlabel("Kappa1")
    ax.set_title(title)
    ax.legend(loc="lower right", fontsize=7)
    return _render(fig)


def confusion_png(matrix, labels, *, title: str = "Confusion matrix", normalise: bool = True) -> bytes:
    """A confusion matrix (rows = true, columns = predicted), row-normalised by default."""
    matrix = np.asarray(matrix, dtype=np.float64)
    shown = matrix
    if normalise:
        totals = matrix.sum(axis=1, keepdims=True)
        shown = np.divide(matrix, totals, out=np.zeros_like(matrix), where=totals > 0)
    size = max(3.0, 0.35 * len(labels) + 2.0)
    fig, ax = plt.subplots(figsize=(size + 1, size))
    image = ax.imshow(shown, cmap="Blues", vmin=0.0, vmax=1.0 if normalise else None)
    ax.set_xticks(range(len(labels)), labels, rotation=90, fontsize=7)
    ax.set_yticks(range(len(labels)), labels, fontsize=7)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    if len(labels) <= 12:
        for (i, j), value in np.ndenumerate(matrix):
            ax.text(j, i, f"{int(value)}", ha="center", va="center", fontsize=7,
                    color="white" if shown[i, j] > 0.5 else "black")
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    return _render(fig)


def bar_chart_png(values: dict[str, float], *, title: str, xlabel: str, reference: float | None = None) -> bytes:
    """Horizontal bars of one metric per group (e.g. EORL per exercise, rho per action)."""
    labels = list(values) or ["(none)"]
    data = np.array([np.nan if values.get(k) is None else values[k] for k in labels], dtype=np.float64)
    fig, ax = plt.subplots(figsize=(8, max(2.5, 0.28 * len(labels) + 1.2)))
    y = np.arange(len(labels))
    ax.barh(y, np.nan_to_num(data, nan=0.0), color="#1565c0", height=0.7)
    if reference is not None:
        ax.axvline(reference, color="black", linestyle="--", linewidth=1)
    ax.set_yticks(y, labels, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    return _render(fig)
