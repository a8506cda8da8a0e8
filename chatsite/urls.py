from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from chatsite import health
from chatsite.foundation.metrics import metrics_view
from chatsite.pages import urls_pages
from notifications.urls import page_urlpatterns as notification_pages

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("accounts.urls")),
    path("api/", include("rooms.urls")),
    path("api/", include("messaging.urls")),
    path("api/", include("moderation.urls")),
    path("api/", include("notifications.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="docs"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics_view, name="metrics"),
    path(settings.MEDIA_URL.lstrip("/"), include("images.urls")),
    *(path(route, view, name=name) for route, view, name in urls_pages),
    *notification_pages,
]
