from django.urls import path

from annotation import apis_queue as apis

urlpatterns = [
    path("queue/next/", apis.QueueNextApi.as_view(), name="queue-next"),
    path("queue/release/", apis.QueueReleaseApi.as_view(), name="queue-release"),
    path("queue/complete/", apis.QueueCompleteApi.as_view(), name="queue-complete"),
    path("queue/send-back/", apis.QueueSendBackApi.as_view(), name="queue-send-back"),
    path("queue/progress/", apis.QueueProgressApi.as_view(), name="queue-progress"),
    path("queue/overview/", apis.QueueOverviewApi.as_view(), name="queue-overview"),
    path("clips/<int:clip_id>/segments/", apis.SegmentListCreateApi.as_view(), name="segment-list"),
    path("clips/<int:clip_id>/segments/submit/", apis.SegmentSubmitApi.as_view(), name="segment-submit"),
    path("clips/<int:clip_id>/segments/<int:segment_id>/", apis.SegmentUpdateDeleteApi.as_view(),
         name="segment-detail"),
    path("clips/<int:clip_id>/feedback/", apis.FeedbackListCreateApi.as_view(), name="feedback-list"),
    path("clips/<int:clip_id>/feedback/submit/", apis.FeedbackSubmitApi.as_view(), name="feedback-submit"),
    path("clips/<int:clip_id>/feedback/<int:note_id>/", apis.FeedbackUpdateDeleteApi.as_view(),
         name="feedback-detail"),
]
