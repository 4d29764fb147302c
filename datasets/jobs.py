"""Job kinds of the datasets app."""
from datasets.services.stats import dataset_stats_compute
from tasks.registry import job_kind


@job_kind("dataset_stats", description="Counts per exercise, votes per item and annotator load.")
def dataset_stats(*, job, progress):
    return dataset_stats_compute(dataset=job.dataset, progress=progress.update)
