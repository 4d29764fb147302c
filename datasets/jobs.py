"""Job kinds of the datasets app."""
from datasets.services.stats import dataset_stats_compute
from tasks.registry import job_kind


@job_kind("dataset_stats", description="Counts per exercise, votes per item and annotator load.")
def dataset_stats(*, job, progress):
    return dataset_stats_compute(dataset=job.dataset, progress=progress.update)


# --- split versions and exports (datasets/services/splits.py, datasets/exports/) ---------------

from rest_framework import serializers  # noqa: E402


class MakeSplitParams(serializers.Serializer):
    ratios = serializers.CharField(default="0.7,0.15,0.15", help_text="train,val,test; must sum to 1")
    seed = serializers.IntegerField(default=0, min_value=0)
    holdout_exercises = serializers.CharField(default="", allow_blank=True,
                                              help_text="Exercise slugs kept out of train and val (zero-shot)")
    few_shot_k = serializers.IntegerField(default=0, min_value=0, help_text="Clips per held-out exercise put in train")
    stratify = serializers.CharField(default="exercise,skill,severity", help_text="Any of exercise, skill, severity")
    label_set = serializers.CharField(default="", allow_blank=True, help_text="Label-set id, or 'raw'")
    mixed_holdout = serializers.ChoiceField(["drop", "test"], default="drop")
    name = serializers.CharField(default="", allow_blank=True, max_length=128)
    note = serializers.CharField(default="", allow_blank=True)


@job_kind("make_split", params=MakeSplitParams,
          description="Participant-disjoint stratified train/val/test split, frozen as a new split version.")
def make_split(*, job, progress, ratios, seed, holdout_exercises, few_shot_k, stratify, label_set, mixed_holdout,
               name, note):
    from datasets.models import SplitVersion
    from datasets.services.splits import split_make

    # A worker that died after the freeze committed must not freeze a second copy.
    version = SplitVersion.objects.filter(dataset=job.dataset, job_id=job.pk).first()
    if version is None:
        version = split_make(dataset=job.dataset, ratios=ratios, seed=seed, holdout_exercises=holdout_exercises,
                             few_shot_k=few_shot_k, stratify=stratify, label_set=label_set or None,
                             mixed_holdout=mixed_holdout, name=name, note=note, user=job.launched_by, job_id=job.pk,
                             progress=progress.update)
    return {"split_version": version.pk, "version": version.version, "manifest_hash": version.manifest_hash,
            "counts": version.counts, "max_deviation": version.balance.get("max_deviation")}


class ExportSplitParams(serializers.Serializer):
    split_version = serializers.IntegerField()
    format = serializers.ChoiceField(["jsonl", "csv", "parquet", "npz", "llava", "qevd", "flex", "croissant"])
    label_set = serializers.CharField(default="", allow_blank=True, help_text="Label-set id, or 'raw'")
    endpoint_label_set = serializers.CharField(default="", allow_blank=True, help_text="End-point label-set id")
    balance = serializers.ChoiceField(["none", "two_step", "dynamic_step"], default="none")
    balance_splits = serializers.CharField(default="train")
    seed = serializers.IntegerField(default=0, min_value=0)
    include_pose = serializers.BooleanField(default=False)
    max_frames = serializers.IntegerField(required=False, min_value=1)
    llava_frames = serializers.IntegerField(default=32, min_value=1, max_value=1024)
    time_instruction = serializers.BooleanField(default=True)
    video_prefix = serializers.CharField(default="videos")
    qevd_span_s = serializers.FloatField(default=2.0, min_value=0.001)
    license = serializers.CharField(default="", allow_blank=True)
    export = serializers.IntegerField(required=False, help_text="Set by the export API; leave out")


@job_kind("export_split", params=ExportSplitParams,
          description="Export a frozen split version (jsonl, csv, parquet, npz, llava, qevd, flex, croissant) "
                      "under MEDIA_ROOT/exports/<id>/.")
def export_split(*, job, progress, **params):
    from datasets.exports.service import split_export_job

    return split_export_job(job=job, progress=progress, params=params)
