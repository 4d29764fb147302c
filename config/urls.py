from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from config.auth import TokenObtainApi

api_patterns = [
    path("auth/token/", TokenObtainApi.as_view(), name="token-obtain"),
    path("", include("datasets.urls")),
    path("", include("annotation.urls")),
    path("", include("kg.urls")),
    path("", include("tasks.urls")),
    path("", include("audit.urls")),
]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("api/", include(api_patterns)),
    path("", include("labelling_ui.urls")),
]
