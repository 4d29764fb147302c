"""Making, importing, editing and checking frozen split versions.

Every writer here validates everything first and writes one split version in one short
transaction: the version row (with its parameters, label source, counts, balance table and
manifest hash) and its memberships, bulk-copied. Nothing is ever updated in place; an edit is a
new version whose ``parent`` is the old one.

The numbers come from ``datasets.core.splitting`` (participant-disjoint, stratified, with zero-
and few-shot holdouts, after Halo Trainer, seed 000 §3 and §6.4); this module only gathers the
arrays and writes the result.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Iterable

import numpy as np
import pyarrow as pa
from django.db import transaction
from django.db.models import Max

from config.exceptions import ConflictError, DomainError
from config.version import code_version
from datasets import selectors_splits as sel
from datasets.bulk import bulk_insert
from datasets.core.splitting import check_disjoint, manifest_hash, split_balance, split_by_group
from datasets.exports.labels import LabelSource, label_set_severity_columns, label_source_resolve
from datasets.models import Dataset, ErrorType, Exercise, SplitMembership, SplitVersion

logger = logging.getLogger(__name__)

SPLIT_NAMES = ("train", "val", "test")
SPLIT_ALIASES = {"train": 0, "training": 0, "val": 1, "valid": 1, "validation": 1, "dev": 1, "test": 2,
                 "testing": 2, "benchmark": 2}
STRATA = ("exercise", "skill", "severity")
Rule = SplitVersion.Rule


# --- arrays ------------------------------------------------------------------------------------


def _clip_frame(dataset: Dataset, split_version: SplitVersion | None = None) -> dict:
    clips = sel.clip_columns(dataset=dataset, split_version=split_version)
    participants = sel.participant_columns(dataset=dataset)
    p_ext = dict(zip(participants["id"].tolist(), participants["external_id"].tolist()))
    p_skill = dict(zip(participants["id"].tolist(), participants["skill_level"].tolist()))
    exercises = {e.pk: e.slug for e in Exercise.objects.filter(dataset=dataset)}
    clips["participant"] = np.array([p_ext.get(p, "") for p in clips["participant_id"].tolist()], dtype=object)
    clips["skill"] = np.array([p_skill.get(p, -1) for p in clips["participant_id"].tolist()], dtype=np.int64)
    clips["exercise_slug"] = np.array([exercises[e] for e in clips["exercise_id"].tolist()], dtype=object)
    return clips


def _groups(participant_ids: np.ndarray) -> np.ndarray:
    """Participant index per clip; a clip without participant is a unit of its own."""
    groups = np.empty(participant_ids.shape[0], dtype=np.int64)
    known = participant_ids >= 0
    _, groups[known] = np.unique(participant_ids[known], return_inverse=True)
    n_known = int(groups[known].max()) + 1 if known.any() else 0
    groups[~known] = n_known + np.arange(int((~known).sum()))
    return groups


def severity_items(*, dataset: Dataset, clip_ids: np.ndarray, label_source: LabelSource,
                   pending: sel.Prefetch | None = None) -> dict[str, np.ndarray]:
    """How many repetitions of each clip reached each severity class, per error type.

    Rows (clip row, error type id, class, n). Raw labels: the class of a (repetition, error type)
    is its majority vote (ties to the lower class), from vote histograms the database counts
    (~9 M Halo votes come back as ~0.9 M histograms); a label set: its class.
    """
    if label_source.severity_id:
        reps = sel.repetition_columns(dataset=dataset)
        rows = label_set_severity_columns(label_source, rep_ids=reps["id"])
        if rows is not None:
            rep_row = sel.positions(reps["id"], rows["repetition_id"])
            counted = sel.class_counts(reps["clip_id"][rep_row], rows["error_type_id"], rows["cls"])
            return _inside_clips(clip_ids, counted["clip_id"], counted["error_type_id"], counted["cls"],
                                 counted["n"])
    rows = pending.result() if pending is not None else sel.clip_class_counts(dataset=dataset)
    return _inside_clips(clip_ids, rows["clip_id"], rows["error_type_id"], rows["cls"], rows["n"])


def _inside_clips(clip_ids, item_clip_id, et_id, cls, n) -> dict[str, np.ndarray]:
    clip_row = np.searchsorted(clip_ids, item_clip_id)
    inside = clip_row < clip_ids.shape[0]
    inside[inside] = clip_ids[clip_row[inside]] == item_clip_id[inside]
    return {"clip_row": clip_row[inside], "error_type_id": np.asarray(et_id)[inside].astype(np.int64),
            "cls": np.asarray(cls)[inside].astype(np.int64), "n": np.asarray(n)[inside].astype(np.int64)}


def clip_max_class(items: dict, n_clips: int) -> np.ndarray:
    """Worst severity class reached by any repetition of each clip (-1 when unlabelled)."""
    out = np.full(n_clips, -1, dtype=np.int64)
    np.maximum.at(out, items["clip_row"], items["cls"])
    return out


def class_balance(items: dict, assignment: np.ndarray, dataset: Dataset) -> dict:
    """Severity class counts per error type and split (Halo Trainer's Table 6, per split)."""
    codes = dict(ErrorType.objects.filter(exercise__dataset=dataset).values_list("pk", "code"))
    if items["cls"].size == 0:
        return {"error_types": [], "classes": [0, 1, 2, 3], "counts": {}}
    et_ids = np.array(sorted(codes, key=codes.get), dtype=np.int64)  # report order: by code
    sorter = np.argsort(et_ids)
    et_row = sorter[np.searchsorted(et_ids, items["error_type_id"], sorter=sorter)]
    split = assignment[items["clip_row"]]
    keep = split >= 0
    table = np.bincount((split[keep] * et_ids.shape[0] + et_row[keep]) * 4 + items["cls"][keep],
                        weights=items["n"][keep], minlength=3 * et_ids.shape[0] * 4)
    table = table.astype(np.int64).reshape(3, et_ids.shape[0], 4)
    counts = {name: table[s].tolist() for s, name in enumerate(SPLIT_NAMES)}
    counts["all"] = table.sum(0).tolist()
    return {"error_types": [codes[int(e)] for e in et_ids], "classes": [0, 1, 2, 3], "counts": counts}


# --- rules -------------------------------------------------------------------------------------


def rule_violations(*, rule: str, clips: dict, assignment: np.ndarray) -> list:
    """Groups of the rule's unit that sit in more than one split (excluded clips, -1, do not count)."""
    if rule == Rule.NONE:
        return []
    if rule == Rule.PARTICIPANT:
        has = clips["participant_id"] >= 0
        if not has.any():
            return []
        bad = check_disjoint(clips["participant_id"][has], assignment[has])
        names = dict(zip(clips["participant_id"].tolist(), clips["participant"].tolist()))
        return sorted(names[p] for p in bad)
    if rule == Rule.EXERCISE:
        units = clips["exercise_slug"]
    elif rule == Rule.ID_PREFIX:
        units = np.array([x.rsplit("_", 1)[0] for x in clips["external_id"].tolist()], dtype=object)
    else:
        raise DomainError(f"Unknown split rule {rule!r}.", code="unknown_rule")
    levels, codes = np.unique(units.astype(str), return_inverse=True)
    return sorted(str(levels[i]) for i in check_disjoint(codes, assignment))


def split_rule_violations(*, split_version: SplitVersion) -> list:
    """Re-check a frozen version against the current clip rows (participants can be corrected).

    Counted by the database for the participant and exercise rules (one row per offender).
    """
    if split_version.rule == Rule.NONE:
        return []
    if split_version.rule in (Rule.PARTICIPANT, Rule.EXERCISE):
        unit = ("JOIN datasets_participant u ON u.id = c.participant_id" if split_version.rule == Rule.PARTICIPANT
                else "JOIN datasets_exercise u ON u.id = c.exercise_id")
        name = "u.external_id" if split_version.rule == Rule.PARTICIPANT else "u.slug"
        rows = sel.copy_rows(
            f"SELECT {name} FROM datasets_splitmembership m JOIN datasets_clip c ON c.id = m.clip_id {unit} "
            f"WHERE m.split_version_id = %s GROUP BY {name} HAVING count(DISTINCT m.split) > 1",
            [split_version.pk], {"name": pa.string()})
        return sorted(rows["name"].tolist())
    clips = _clip_frame(split_version.dataset, split_version)
    ids, split = sel.split_membership_arrays(split_version=split_version)
    assignment = split[np.searchsorted(ids, clips["id"])].astype(np.int64)
    return rule_violations(rule=split_version.rule, clips=clips, assignment=assignment)


def _refuse_violations(rule: str, violations: list) -> None:
    if not violations:
        return
    shown = ", ".join(map(str, violations[:20])) + (" ..." if len(violations) > 20 else "")
    if rule == Rule.PARTICIPANT:
        raise DomainError(
            f"{len(violations)} participant(s) appear in more than one split: {shown}. Fix the split, or mark it as "
            "not participant-based and name the rule it follows.", code="split_leakage",
            fields={"participants": violations})
    raise DomainError(f"The split breaks its rule ({rule}) for {len(violations)} group(s): {shown}.",
                      code="split_rule_violated", fields={"groups": violations})


# --- freezing ----------------------------------------------------------------------------------


def _balance_report(clips: dict, assignment: np.ndarray, severity: np.ndarray | None, result=None) -> dict:
    """Per-split proportions of exercise, skill and severity class, and the largest deviation."""
    groups = _groups(clips["participant_id"])
    n_groups = int(groups.max()) + 1 if groups.size else 0
    skill = np.full(n_groups, -1, dtype=np.int64)
    skill[groups] = clips["skill"]
    strata = severity if severity is not None else None
    if result is not None:
        proportions, max_dev = result.proportions, result.max_deviation
    else:
        proportions, max_dev = split_balance(assignment=assignment, clip_group=groups,
                                             clip_exercise=clips["exercise_slug"].astype(str),
                                             clip_strata=strata, group_strata=skill)
    rename = {"clip_stratum_0": "severity_class", "group_stratum_0": "skill_level"}
    exercise_slug = dict(zip(clips["exercise_id"].tolist(), clips["exercise_slug"].tolist()))
    tables = {}
    for split, variables in proportions.items():
        out = {}
        for var, levels in variables.items():
            name = rename.get(var, var)
            if name == "exercise":
                levels = {str(exercise_slug.get(k, k)): v for k, v in levels.items()}
            out[name] = {str(k): round(float(v), 6) for k, v in levels.items()}
        tables[split] = out
    deviations = {}
    for var in tables.get("all", {}):
        whole = tables["all"][var]
        worst = 0.0
        for split in SPLIT_NAMES:
            part = tables.get(split, {}).get(var, {})
            if any(v > 0 for v in part.values()):
                worst = max(worst, max(abs(part.get(k, 0.0) - w) for k, w in whole.items()))
        deviations[var] = round(worst, 6)
    return {"proportions": tables, "max_deviation": round(float(max_dev), 6), "max_deviation_by_variable": deviations}


def _counts(clips: dict, assignment: np.ndarray, n_reps: np.ndarray) -> dict:
    counts = {"clips": {}, "participants": {}, "repetitions": {}}
    for s, name in enumerate(SPLIT_NAMES):
        mask = assignment == s
        counts["clips"][name] = int(mask.sum())
        counts["participants"][name] = int(np.unique(clips["participant_id"][mask & (clips["participant_id"] >= 0)]).size)
        counts["repetitions"][name] = int(n_reps[mask].sum())
    counts["clips"]["excluded"] = int((assignment < 0).sum())
    return counts


def _rep_counts(dataset: Dataset, clip_ids: np.ndarray, rows: dict | None = None) -> np.ndarray:
    rows = rows if rows is not None else sel.repetition_counts(dataset=dataset)
    out = np.zeros(clip_ids.shape[0], dtype=np.int64)
    pos = np.searchsorted(clip_ids, rows["clip_id"])
    ok = pos < clip_ids.shape[0]
    ok[ok] = clip_ids[pos[ok]] == rows["clip_id"][ok]
    out[pos[ok]] = rows["n"][ok]
    return out


def _freeze(*, dataset: Dataset, clips: dict, assignment: np.ndarray, source: str, rule: str, rule_detail: str = "",
            params: dict, seed, label_source: LabelSource | None, balance: dict, counts: dict, parent=None,
            name: str = "", note: str = "", user=None, job_id=None) -> SplitVersion:
    """Write a split version and its memberships in one transaction. Checks are done by callers."""
    kept = assignment >= 0
    by_split = {name_: clips["external_id"][assignment == s].tolist() for s, name_ in enumerate(SPLIT_NAMES)}
    digest = manifest_hash(by_split)
    with transaction.atomic():
        Dataset.objects.select_for_update().filter(pk=dataset.pk).first()  # serialises version numbers
        number = (SplitVersion.objects.filter(dataset=dataset).aggregate(m=Max("version"))["m"] or 0) + 1
        version = SplitVersion.objects.create(
            dataset=dataset, version=number, name=name, note=note, source=source, parent=parent, rule=rule,
            rule_detail=rule_detail, label_set_id=label_source.label_set_id if label_source else None,
            label_set_info=label_source.as_json() if label_source else {}, params=params, seed=seed,
            counts=counts, balance=balance, manifest_hash=digest, code_version=code_version(), job_id=job_id,
            created_by=user if user is not None and getattr(user, "pk", None) else None,
        )
        bulk_insert(SplitMembership, {
            "split_version_id": version.pk, "clip_id": clips["id"][kept],
            "split": assignment[kept].astype(np.int16),
        }, n_rows=int(kept.sum()))
    logger.info("split.frozen", extra={"dataset": dataset.pk, "version": number, "source": source,
                                       "clips": int(kept.sum())})
    return version


# --- make ----------------------------------------------------------------------------------------


def parse_ratios(value) -> tuple[float, float, float]:
    if isinstance(value, str):
        parts = [p for p in value.replace(";", ",").replace("/", ",").split(",") if p.strip()]
    else:
        parts = list(value)
    try:
        ratios = tuple(float(p) for p in parts)
    except (TypeError, ValueError):
        raise DomainError(f"Ratios must be three numbers, got {value!r}.", code="invalid_ratios",
                          fields={"ratios": [str(value)]}) from None
    if len(ratios) != 3 or any(r < 0 or r != r for r in ratios):
        raise DomainError(f"Ratios must be three non-negative numbers (train, val, test), got {value!r}.",
                          code="invalid_ratios", fields={"ratios": [str(value)]})
    if abs(sum(ratios) - 1.0) > 1e-6:
        raise DomainError(f"Ratios must sum to 1, got {value!r} (sum {sum(ratios):.6g}).", code="invalid_ratios",
                          fields={"ratios": [str(value)]})
    return ratios


def _name_list(value) -> list[str]:
    if value in (None, ""):
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return [str(v).strip() for v in value if str(v).strip()]


def split_make(*, dataset: Dataset, ratios=(0.7, 0.15, 0.15), seed: int = 0, holdout_exercises: Iterable[str] = (),
               few_shot_k: int = 0, stratify: Iterable[str] = STRATA, label_set=None, mixed_holdout: str = "drop",
               name: str = "", note: str = "", user=None, job_id=None, progress=None) -> SplitVersion:
    """Compute a participant-disjoint stratified split and freeze it as a new version.

    Deterministic: the same dataset, labels, parameters and seed give the same manifest hash.
    """
    report = progress or (lambda fraction, message="": None)
    started = time.perf_counter()
    ratios = parse_ratios(ratios)
    holdout = _name_list(holdout_exercises)
    stratify = _name_list(stratify) or ["exercise"]
    unknown_strata = sorted(set(stratify) - set(STRATA))
    if unknown_strata:
        raise DomainError(f"Unknown stratification variable(s) {unknown_strata}; use {', '.join(STRATA)}.",
                          code="invalid_stratify", fields={"stratify": unknown_strata})
    if few_shot_k < 0:
        raise DomainError("few_shot_k must be 0 or more.", code="invalid_few_shot_k")
    if few_shot_k and not holdout:
        raise DomainError("few_shot_k needs holdout_exercises.", code="invalid_few_shot_k")
    slugs = dict(Exercise.objects.filter(dataset=dataset).values_list("slug", "pk"))
    missing = sorted(set(holdout) - set(slugs))
    if missing:
        raise DomainError(f"Holdout exercise(s) {missing} do not exist in {dataset.name}.",
                          code="unknown_holdout_exercise", fields={"holdout_exercises": missing})
    label_source = label_source_resolve(dataset=dataset, label_set_id=label_set)
    # The raw-vote counts take the longest (seconds of database time at Halo scale): started first.
    pending = None if label_source.severity_id else sel.Prefetch(sel.clip_class_counts, dataset=dataset)
    rep_counts = sel.Prefetch(sel.repetition_counts, dataset=dataset)
    clips = _clip_frame(dataset)
    if clips["id"].size == 0:
        raise DomainError(f"Dataset {dataset.name} has no clips to split.", code="no_clips")
    present = set(clips["exercise_id"].tolist())
    absent = sorted(h for h in holdout if slugs[h] not in present)
    if absent:
        raise DomainError(f"Holdout exercise(s) {absent} have no clips.", code="unknown_holdout_exercise",
                          fields={"holdout_exercises": absent})
    report(0.15, "clips read")
    items = severity_items(dataset=dataset, clip_ids=clips["id"], label_source=label_source, pending=pending)
    severity = clip_max_class(items, clips["id"].shape[0]) if "severity" in stratify else None
    report(0.5, "labels read")
    groups = _groups(clips["participant_id"])
    skill = np.full(int(groups.max()) + 1, -1, dtype=np.int64)
    skill[groups] = clips["skill"]
    try:
        result = split_by_group(
            clip_group=groups, clip_exercise=clips["exercise_id"], clip_strata=severity,
            group_strata=skill if "skill" in stratify else None, ratios=ratios, seed=seed,
            holdout_exercises=[slugs[h] for h in holdout], few_shot_k=few_shot_k, mixed_holdout=mixed_holdout)
    except ValueError as exc:
        raise DomainError(str(exc), code="split_failed") from None
    report(0.8, "split computed")
    assignment = result.assignment.astype(np.int64)
    _refuse_violations(Rule.PARTICIPANT, rule_violations(rule=Rule.PARTICIPANT, clips=clips, assignment=assignment))
    balance = _balance_report(clips, assignment, severity, result=result)
    balance["size_deviation"] = round(float(result.size_deviation), 6)
    balance["stratified_on"] = stratify
    balance["class_balance"] = class_balance(items, assignment, dataset)
    counts = _counts(clips, assignment, _rep_counts(dataset, clips["id"], rep_counts.result()))
    counts["holdout_clips"] = result.counts.get("holdout_clips", {})
    params = {"ratios": list(ratios), "seed": seed, "holdout_exercises": holdout, "few_shot_k": few_shot_k,
              "stratify": stratify, "mixed_holdout": mixed_holdout}
    version = _freeze(dataset=dataset, clips=clips, assignment=assignment, source=SplitVersion.Source.MADE,
                      rule=Rule.PARTICIPANT, params=params, seed=seed, label_source=label_source, balance=balance,
                      counts=counts, name=name, note=note, user=user, job_id=job_id)
    report(1.0, f"split version {version.version} frozen in {time.perf_counter() - started:.1f}s")
    return version


# --- import and edit -----------------------------------------------------------------------------


def split_code(name: str) -> int:
    try:
        return SPLIT_ALIASES[str(name).strip().lower()]
    except KeyError:
        raise DomainError(f"Unknown split name {name!r}; use train, val or test.", code="unknown_split_name",
                          fields={"split": [str(name)]}) from None


def split_import(*, dataset: Dataset, entries: list[tuple[str, int]], rule: str = Rule.PARTICIPANT,
                 rule_detail: str = "", source_format: str = "csv", files: list | None = None, name: str = "",
                 note: str = "", user=None, parent: SplitVersion | None = None) -> SplitVersion:
    """Freeze a split given as (clip external id, split code) pairs, after checking it.

    Refuses unknown clips, a clip listed twice with different splits, and a participant in two
    splits unless ``rule`` says the split follows another rule, which is then verified.
    Clips of the dataset that are not listed are in no split.
    """
    if rule not in Rule.values:
        raise DomainError(f"Unknown split rule {rule!r}; use {', '.join(Rule.values)}.", code="unknown_rule")
    if not entries:
        raise DomainError("The split lists no clip.", code="empty_split")
    clips = _clip_frame(dataset)
    index = {ext: i for i, ext in enumerate(clips["external_id"].tolist())}
    assignment = np.full(clips["id"].shape[0], -1, dtype=np.int64)
    unknown, conflicts = [], []
    for ext, code in entries:
        i = index.get(ext)
        if i is None:
            unknown.append(ext)
        elif assignment[i] not in (-1, code):
            conflicts.append(ext)
        else:
            assignment[i] = code
    if unknown:
        raise DomainError(f"The split names {len(unknown)} clip(s) that are not in {dataset.name}: "
                          f"{', '.join(unknown[:20])}{' ...' if len(unknown) > 20 else ''}.", code="unknown_clips",
                          fields={"clips": unknown[:1000]})
    if conflicts:
        raise DomainError(f"Clip(s) listed in two splits: {', '.join(sorted(set(conflicts))[:20])}.",
                          code="clip_in_two_splits", fields={"clips": sorted(set(conflicts))[:1000]})
    _refuse_violations(rule, rule_violations(rule=rule, clips=clips, assignment=assignment))
    label_source = label_source_resolve(dataset=dataset)
    items = severity_items(dataset=dataset, clip_ids=clips["id"], label_source=label_source)
    balance = _balance_report(clips, assignment, clip_max_class(items, clips["id"].shape[0]) if items["cls"].size
                              else None)
    balance["class_balance"] = class_balance(items, assignment, dataset)
    counts = _counts(clips, assignment, _rep_counts(dataset, clips["id"]))
    params = {"format": source_format, "files": files or []}
    source = SplitVersion.Source.EDITED if parent is not None else SplitVersion.Source.IMPORTED
    return _freeze(dataset=dataset, clips=clips, assignment=assignment, source=source, rule=rule,
                   rule_detail=rule_detail, params=params, seed=None, label_source=label_source, balance=balance,
                   counts=counts, parent=parent, name=name, note=note, user=user)


def split_edit(*, split_version: SplitVersion, moves: dict[str, str | None], note: str = "", user=None) -> SplitVersion:
    """A new version: the old one with some clips moved (``None`` removes a clip from every split)."""
    if not moves:
        raise DomainError("Give at least one clip to move.", code="empty_edit")
    clips = _clip_frame(split_version.dataset)
    ids, split = sel.split_membership_arrays(split_version=split_version)
    current = dict(zip(ids.tolist(), split.tolist()))
    by_ext = dict(zip(clips["external_id"].tolist(), clips["id"].tolist()))
    unknown = sorted(ext for ext in moves if ext not in by_ext)
    if unknown:
        raise DomainError(f"Unknown clip(s): {', '.join(unknown[:20])}.", code="unknown_clips", fields={"clips": unknown})
    for ext, target in moves.items():
        pk = by_ext[ext]
        if target is None or target == "":
            current.pop(pk, None)
        else:
            current[pk] = split_code(target)
    id_to_ext = dict(zip(clips["id"].tolist(), clips["external_id"].tolist()))
    entries = [(id_to_ext[pk], code) for pk, code in sorted(current.items())]
    if sorted(current.items()) == sorted(zip(ids.tolist(), split.tolist())):
        raise ConflictError("The edit changes nothing.", code="edit_changes_nothing")
    return split_import(dataset=split_version.dataset, entries=entries, rule=split_version.rule,
                        rule_detail=split_version.rule_detail, source_format="edit",
                        name=split_version.name, note=note, user=user, parent=split_version)
