from django.urls import path

from annotation import apis_label_sets as apis

urlpatterns = [
    path("label-sets/", apis.LabelSetListApi.as_view(), name="label-set-list"),
    path("label-sets/<int:label_set_id>/", apis.LabelSetDetailApi.as_view(), name="label-set-detail"),
    path("label-sets/<int:label_set_id>/items/", apis.LabelSetItemListApi.as_view(), name="label-set-items"),
    path("label-sets/<int:label_set_id>/set-current/", apis.LabelSetSetCurrentApi.as_view(),
         name="label-set-set-current"),
    path("label-sets/<int:label_set_id>/histogram/", apis.LabelSetHistogramApi.as_view(),
         name="label-set-histogram"),
    path("label-sets/<int:label_set_id>/histogram.png", apis.LabelSetHistogramPngApi.as_view(),
         name="label-set-histogram-png"),
    path("agreement/", apis.AgreementReportListApi.as_view(), name="agreement-report-list"),
    path("agreement/latest/", apis.AgreementReportLatestApi.as_view(), name="agreement-report-latest"),
    path("agreement/<int:report_id>/", apis.AgreementReportDetailApi.as_view(), name="agreement-report-detail"),
    path("agreement/<int:report_id>/error-types/", apis.AgreementErrorTypeListApi.as_view(),
         name="agreement-error-types"),
    path("agreement/<int:report_id>/annotators/", apis.AgreementAnnotatorListApi.as_view(),
         name="agreement-annotators"),
]
