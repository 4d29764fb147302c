"""The severity histogram curators look at: mean votes of one error type and the fitted BMM.

``severity_histogram_data`` returns JSON series (for the browser to draw); ``histogram_png``
draws the same series with matplotlib's Agg backend (no display needed) for a plain <img>.
The x axis is the BMM's own scale, ``mean vote / 3`` in [0, 1].
"""
from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")  # before pyplot: workers and web processes have no display

import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from scipy import stats  # noqa: E402

from annotation.models import LabelSet  # noqa: E402
from annotation.selectors_label_sets import severity_means  # noqa: E402
from config.exceptions import DomainError  # noqa: E402
from datasets.models import ErrorType  # noqa: E402

CURVE_POINTS = 200
MAX_CLASS = 3


def severity_histogram_data(*, label_set: LabelSet, error_type_id: int, bins: int = 30) -> dict:
    """Histogram (as a density) of the items' mean vote / 3 and the BMM fitted to them."""
    if label_set.kind != LabelSet.Kind.SEVERITY:
        raise DomainError("Histograms exist for severity label sets only.", code="not_severity")
    means = np.asarray(severity_means(label_set=label_set, error_type_id=error_type_id), dtype=float)
    if means.size == 0:
        raise DomainError(f"Label set {label_set.pk} has no item of error type {error_type_id}.",
                          code="no_items")
    x = means / MAX_CLASS
    counts, edges = np.histogram(x, bins=bins, range=(0.0, 1.0))
    density = counts / (means.size * np.diff(edges))
    fit = (label_set.summary.get("error_types", {}).get(str(error_type_id), {}) or {}).get("bmm") or {}
    data = {
        "label_set": label_set.pk, "error_type": error_type_id,
        "error_type_code": ErrorType.objects.filter(pk=error_type_id).values_list("code", flat=True).first(),
        "n_items": int(means.size),
        "bin_edges": edges.round(6).tolist(), "counts": counts.tolist(), "density": density.round(6).tolist(),
        "bmm": {k: fit.get(k) for k in ("alphas", "betas", "weights", "eps", "n_iter", "converged",
                                          "fallback_reason")},
        "curve": None,
    }
    if fit.get("alphas"):
        eps = float(fit.get("eps") or 1e-4)
        grid = np.linspace(eps, 1 - eps, CURVE_POINTS)
        components = [w * stats.beta.pdf(grid, a, b) for a, b, w in zip(fit["alphas"], fit["betas"], fit["weights"])]
        mixture = np.sum(components, axis=0)
        data["curve"] = {"x": grid.round(6).tolist(), "mixture": np.round(mixture, 6).tolist(),
                         "components": [np.round(c, 6).tolist() for c in components],
                         "posterior_high": np.round(components[-1] / np.maximum(mixture, 1e-300), 6).tolist()}
    return data


def histogram_png(data: dict, *, title: str = "") -> bytes:
    """Draw ``severity_histogram_data`` output as a PNG."""
    figure = Figure(figsize=(7, 4), dpi=100)
    axes = figure.subplots()
    edges = np.asarray(data["bin_edges"])
    axes.bar(edges[:-1], data["density"], width=np.diff(edges), align="edge", color="#9db4d6",
             edgecolor="#4a6a9a", label=f"mean vote / 3 ({data['n_items']} items)")
    curve = data.get("curve")
    if curve:
        for k, component in enumerate(curve["components"]):
            axes.plot(curve["x"], component, linestyle="--", linewidth=1, label=f"BMM component {k + 1}")
        axes.plot(curve["x"], curve["mixture"], color="#c0392b", linewidth=2, label="BMM mixture")
        top = max(max(data["density"]), 1e-9) * 1.3
        axes.set_ylim(0, top)  # the beta tails at 0 and 1 are unbounded
    else:
        axes.text(0.5, 0.9, f"no BMM fit ({data['bmm'].get('fallback_reason') or 'not computed'})",
                  transform=axes.transAxes, ha="center")
    axes.set_xlim(0, 1)
    axes.set_xlabel("mean severity vote / 3")
    axes.set_ylabel("density")
    axes.set_title(title or f"Label set {data['label_set']}: {data['error_type_code'] or data['error_type']}",
                   fontsize=10)
    axes.legend(fontsize=8)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
