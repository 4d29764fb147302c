from django.urls import include, path

from annotation import apis

urlpatterns = [
    path("", include("annotation.urls_label_sets")),
    path("", include("annotation.urls_queue")),
    path("votes/", apis.VoteListApi.as_view(), name="vote-list"),
    path("votes/submit/", apis.VoteSubmitApi.as_view(), name="vote-submit"),
    path("clips/<int:clip_id>/end-points/", apis.EndPointListApi.as_view(), name="end-point-list"),
    path("clips/<int:clip_id>/end-points/submit/", apis.EndPointSubmitApi.as_view(), name="end-point-submit"),
    path("clips/<int:clip_id>/truth/", apis.ClipTruthApi.as_view(), name="clip-truth"),
]
