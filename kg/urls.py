from django.urls import path

from kg import apis

urlpatterns = [
    path("kg/graph-versions/", apis.KgGraphVersionListApi.as_view(), name="kg-graph-version-list"),
    path("kg/actions/", apis.KgActionListApi.as_view(), name="kg-action-list"),
    path("kg/actions/<int:action_id>/", apis.KgActionDetailApi.as_view(), name="kg-action-detail"),
    path("kg/error-types/", apis.KgErrorTypeListApi.as_view(), name="kg-error-type-list"),
    path("kg/score/", apis.KgScoreApi.as_view(), name="kg-score"),
    path("kg/samples/<int:clip_id>/", apis.FlexSampleDetailApi.as_view(), name="kg-sample-detail"),
    path("kg/samples/<int:clip_id>/stage1/", apis.FlexStage1SubmitApi.as_view(), name="kg-stage1-submit"),
    path("kg/samples/<int:clip_id>/review/", apis.FlexReviewDetailApi.as_view(), name="kg-review-detail"),
    path("kg/samples/<int:clip_id>/stage2/", apis.FlexStage2SubmitApi.as_view(), name="kg-stage2-submit"),
    path("kg/samples/<int:clip_id>/feedback/", apis.FlexSampleFeedbackApi.as_view(), name="kg-sample-feedback"),
    path("kg/samples/<int:clip_id>/truth/", apis.FlexSampleTruthApi.as_view(), name="kg-sample-truth"),
    path("kg/label-sets/", apis.FlexLabelSetListApi.as_view(), name="kg-label-set-list"),
    path("kg/label-sets/<int:label_set_id>/", apis.FlexLabelSetDetailApi.as_view(), name="kg-label-set-detail"),
    path("kg/label-sets/<int:label_set_id>/samples/", apis.FlexLabelSetSampleListApi.as_view(),
         name="kg-label-set-samples"),
    path("kg/label-sets/<int:label_set_id>/make-current/", apis.FlexLabelSetMakeCurrentApi.as_view(),
         name="kg-label-set-make-current"),
    path("kg/agreement/", apis.FlexAgreementApi.as_view(), name="kg-agreement"),
    path("kg/feedback/", apis.FeedbackTextListApi.as_view(), name="kg-feedback-list"),
    path("kg/feedback/<str:code>/", apis.FeedbackTextHistoryApi.as_view(), name="kg-feedback-history"),
    path("kg/feedback/<str:code>/create/", apis.FeedbackTextCreateApi.as_view(), name="kg-feedback-create"),
]
