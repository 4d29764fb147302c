from django.urls import include, path

from datasets import apis

urlpatterns = [
    path("", include("datasets.urls_splits")),
    path("datasets/", apis.DatasetListApi.as_view(), name="dataset-list"),
    path("datasets/<int:dataset_id>/", apis.DatasetDetailApi.as_view(), name="dataset-detail"),
    path("exercises/", apis.ExerciseListApi.as_view(), name="exercise-list"),
    path("error-types/", apis.ErrorTypeListApi.as_view(), name="error-type-list"),
    path("participants/", apis.ParticipantListApi.as_view(), name="participant-list"),
    path("clips/", apis.ClipListApi.as_view(), name="clip-list"),
    path("clips/upload/", apis.ClipCreateApi.as_view(), name="clip-upload"),
    path("clips/<int:clip_id>/", apis.ClipDetailApi.as_view(), name="clip-detail"),
    path("clips/<int:clip_id>/pose/", apis.ClipPoseApi.as_view(), name="clip-pose"),
    path("clips/<int:clip_id>/repetitions/", apis.RepetitionListApi.as_view(), name="clip-repetitions"),
]
