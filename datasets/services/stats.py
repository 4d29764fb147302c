"""Dataset statistics: the first real job kind."""
import numpy as np
from django.db.models import Count

from annotation.models import EndPointMark, SeverityVote
from datasets.models import Clip, Dataset, Exercise, Repetition


def dataset_stats_compute(*, dataset: Dataset, progress=None) -> dict:
    """Counts per exercise, votes per item and annotator load. Reads only; writes nothing."""
    report = progress or (lambda fraction, message="": None)
    exercises = dict(Exercise.objects.filter(dataset=dataset).values_list("pk", "slug"))
    clips = Clip.objects.filter(dataset=dataset)
    per_exercise = {
        exercises[row["exercise_id"]]: {"clips": row["n"]}
        for row in clips.values("exercise_id").annotate(n=Count("id"))
    }
    report(0.2, "clips counted")
    reps = Repetition.objects.filter(clip__dataset=dataset)
    for row in reps.values("clip__exercise_id").annotate(n=Count("id")):
        per_exercise[exercises[row["clip__exercise_id"]]]["repetitions"] = row["n"]
    report(0.4, "repetitions counted")
    votes = SeverityVote.objects.filter(repetition__clip__dataset=dataset)
    vote_rows = np.array(list(votes.values_list("repetition_id", "error_type_id", "annotator_id")), dtype=np.int64)
    report(0.7, "votes loaded")
    marks = EndPointMark.objects.filter(clip__dataset=dataset)
    mark_load = dict(marks.values("annotator_id").annotate(n=Count("id")).values_list("annotator_id", "n"))
    result = {
        "dataset": dataset.name,
        "clips": clips.count(),
        "participants": dataset.participants.count(),
        "repetitions": reps.count(),
        "end_point_marks": sum(mark_load.values()),
        "votes": int(len(vote_rows)),
        "per_exercise": dict(sorted(per_exercise.items())),
    }
    if len(vote_rows):
        _, per_item = np.unique(vote_rows[:, 0] * (int(vote_rows[:, 1].max()) + 1) + vote_rows[:, 1],
                                return_counts=True)
        _, per_annotator = np.unique(vote_rows[:, 2], return_counts=True)
        result["severity_items"] = int(len(per_item))
        result["votes_per_item"] = {"mean": float(per_item.mean()), "min": int(per_item.min()),
                                    "max": int(per_item.max())}
        result["voter_load"] = {"annotators": int(len(per_annotator)), "mean": float(per_annotator.mean()),
                                "min": int(per_annotator.min()), "max": int(per_annotator.max())}
    if mark_load:
        loads = np.array(list(mark_load.values()))
        result["end_point_annotator_load"] = {"annotators": len(loads), "mean": float(loads.mean()),
                                              "min": int(loads.min()), "max": int(loads.max())}
    report(1.0, "done")
    return result
