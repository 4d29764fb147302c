"""Agreement on FLEX slot marks, per action and per error type (Krippendorff's alpha).

Units are (sample, slot) pairs; values are binary marks. For each group we report:

- ``alpha_stage1``: among the three stage-1 annotators (samples with at least two sets);
- ``alpha_stage2``: among the reviewers' effective sets (samples with at least two reviews);
- ``alpha_stage1_vs_final``: each stage-1 set against the final set, pooled (two coders per unit):
  how close a single stage-1 annotator comes to the settled answer;
- ``alpha_proposal_vs_final``: the stage-1 majority against the final set (what stage 2 changed);
- ``changed_slots``: share of (final sample, slot) units where final differs from the proposal;
- mark rates of stage 1 and of the final sets.

Computed live from the raw labels with the current graph (or a given version).
"""
import numpy as np

from datasets.models import Dataset
from kg.core.agreement import grouped_binary_alpha
from kg.core.two_stage import Status, settle
from kg.models import GraphVersion
from kg.services.graph import compiled_graph
from kg.services.inputs import flex_inputs_load


def _round(x):
    return None if x is None or not np.isfinite(x) else round(float(x), 4)


def _group_table(group_of_unit, n_groups, masks):
    """All figures for all groups. ``group_of_unit``: (n, S) group index per unit, -1 = none."""
    stage1, n1, reviews, nr, proposal, final, is_final, valid = masks
    in_group = (group_of_unit >= 0) & valid
    g = np.where(in_group, group_of_unit, 0)

    def alpha(ones, coders, select):
        sel = select & in_group
        return grouped_binary_alpha(ones[sel], coders[sel], g[sel], n_groups)

    ones1 = stage1.sum(axis=1)
    coders1 = np.broadcast_to(n1[:, None], ones1.shape)
    a1 = alpha(ones1, coders1, coders1 >= 2)
    ones2 = reviews.sum(axis=1)
    coders2 = np.broadcast_to(nr[:, None], ones2.shape)
    a2 = alpha(ones2, coders2, coders2 >= 2)
    fin = np.broadcast_to(is_final[:, None], proposal.shape)
    two = np.full(proposal.shape, 2)
    a_pf = alpha(proposal.astype(int) + final, two, fin)
    # Pool each stage-1 annotator against the final set: three units per (sample, slot).
    sel = fin & in_group
    ones_sf = np.concatenate([(stage1[:, j].astype(int) + final)[sel] for j in range(stage1.shape[1])])
    groups_sf = np.concatenate([g[sel]] * stage1.shape[1])
    a_sf = grouped_binary_alpha(ones_sf, np.full(ones_sf.shape, 2), groups_sf, n_groups)

    def per_group_mean(values, select):
        sel = select & in_group
        num = np.bincount(g[sel], weights=values[sel].astype(float), minlength=n_groups)
        den = np.bincount(g[sel], minlength=n_groups)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(den > 0, num / np.maximum(den, 1), np.nan), den

    changed, n_final_units = per_group_mean(proposal != final, fin)
    complete1 = np.broadcast_to((n1 == 3)[:, None], ones1.shape)
    rate1, n_units1 = per_group_mean(ones1 / 3.0, complete1)
    rate_final, _ = per_group_mean(final, fin)
    return [
        {"alpha_stage1": _round(a1[k]), "alpha_stage2": _round(a2[k]),
         "alpha_stage1_vs_final": _round(a_sf[k]), "alpha_proposal_vs_final": _round(a_pf[k]),
         "changed_slots": _round(changed[k]), "mark_rate_stage1": _round(rate1[k]),
         "mark_rate_final": _round(rate_final[k]), "units_stage1": int(n_units1[k]),
         "units_final": int(n_final_units[k])}
        for k in range(n_groups)
    ]


def flex_agreement_compute(*, dataset: Dataset, graph_version: GraphVersion) -> dict:
    """Agreement figures of a dataset's raw FLEX labels, overall, per action and per error type."""
    graph = compiled_graph(graph_version)
    inputs = flex_inputs_load(dataset=dataset, graph_version=graph_version, graph=graph)
    usable = (inputs.action >= 0) & ~inputs.mismatch
    result = settle(inputs.stage1, inputs.n_stage1, inputs.reviews, inputs.n_reviews, inputs.valid)
    is_final = (result.status == Status.FINAL) & usable
    valid = inputs.valid & usable[:, None]
    masks = (inputs.stage1, inputs.n_stage1, inputs.reviews, inputs.n_reviews, result.proposal, result.final,
             is_final, valid)

    n, width = valid.shape
    overall = _group_table(np.zeros((n, width), dtype=np.int64), 1, masks)[0]
    per_action_groups = np.broadcast_to(np.maximum(inputs.action, 0)[:, None], (n, width))
    per_action = _group_table(per_action_groups, len(graph.actions), masks)
    codes = sorted(graph.error_types)
    code_index = {c: i for i, c in enumerate(codes)}
    et_table = np.full((len(graph.actions), width), -1, dtype=np.int64)
    for a, spec in enumerate(graph.actions):
        et_table[a, :len(spec.slots)] = [code_index[s.error_type] for s in spec.slots]
    per_et_groups = np.where(valid, et_table[np.maximum(inputs.action, 0)], -1)
    per_error = _group_table(per_et_groups, len(codes), masks)
    samples_per_action = np.bincount(inputs.action[usable], minlength=len(graph.actions))
    finals_per_action = np.bincount(inputs.action[is_final], minlength=len(graph.actions))
    return {
        "dataset": dataset.pk,
        "graph_version": graph_version.number,
        "samples": int(usable.sum()),
        "final_samples": int(is_final.sum()),
        "overall": overall,
        "per_action": [
            dict(row, action=spec.name, code=spec.code, samples=int(samples_per_action[a]),
                 final_samples=int(finals_per_action[a]))
            for a, (spec, row) in enumerate(zip(graph.actions, per_action))
        ],
        "per_error_type": [
            dict(row, error_type=code, description=graph.error_types[code][0], weight=graph.error_types[code][1])
            for code, row in zip(codes, per_error) if row["units_stage1"] or row["units_final"]
        ],
    }
