"""Dataset statistics: the first real job kind. Everything is counted in the database."""
from django.db import connection
from django.db.models import Count

from annotation.models import EndPointMark, SeverityVote
from datasets.models import Clip, Dataset, Exercise, Repetition


def _distribution(inner_sql: str, params) -> dict | None:
    """min / mean / max / count of the ``n`` column of a grouped sub-query."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*), MIN(n), AVG(n), MAX(n) FROM ({inner_sql}) AS grouped", params)
        count, low, mean, high = cursor.fetchone()
    if not count:
        return None
    return {"count": int(count), "min": int(low), "mean": float(mean), "max": int(high)}


def _sql(queryset):
    sql, params = queryset.query.sql_with_params()
    return sql, params


def dataset_stats_compute(*, dataset: Dataset, progress=None) -> dict:
    """Counts per exercise, votes per item and annotator load. Reads only; writes nothing."""
    report = progress or (lambda fraction, message="": None)
    exercises = dict(Exercise.objects.filter(dataset=dataset).values_list("pk", "slug"))
    clips = Clip.objects.filter(dataset=dataset)
    per_exercise = {
        exercises[row["exercise_id"]]: {"clips": row["n"], "repetitions": 0}
        for row in clips.values("exercise_id").annotate(n=Count("id"))
    }
    report(0.2, "clips counted")
    reps = Repetition.objects.filter(clip__dataset=dataset)
    for row in reps.values("clip__exercise_id").annotate(n=Count("id")):
        per_exercise[exercises[row["clip__exercise_id"]]]["repetitions"] = row["n"]
    report(0.4, "repetitions counted")
    votes = SeverityVote.objects.filter(repetition__clip__dataset=dataset)
    per_item = _distribution(*_sql(votes.values("repetition_id", "error_type_id").annotate(n=Count("id"))
                                   .values("n")))
    report(0.7, "votes per item counted")
    per_voter = _distribution(*_sql(votes.values("annotator_id").annotate(n=Count("id")).values("n")))
    marks = EndPointMark.objects.filter(clip__dataset=dataset)
    per_marker = _distribution(*_sql(marks.values("annotator_id").annotate(n=Count("id")).values("n")))
    result = {
        "dataset": dataset.name,
        "clips": clips.count(),
        "participants": dataset.participants.count(),
        "repetitions": reps.count(),
        "end_point_marks": marks.count(),
        "votes": votes.count(),
        "per_exercise": dict(sorted(per_exercise.items())),
    }
    if per_item:
        result["severity_items"] = per_item["count"]
        result["votes_per_item"] = {k: per_item[k] for k in ("mean", "min", "max")}
    if per_voter:
        result["voter_load"] = {"annotators": per_voter["count"], "mean": per_voter["mean"],
                                "min": per_voter["min"], "max": per_voter["max"]}
    if per_marker:
        result["end_point_annotator_load"] = {"annotators": per_marker["count"], "mean": per_marker["mean"],
                                              "min": per_marker["min"], "max": per_marker["max"]}
    report(1.0, "done")
    return result
