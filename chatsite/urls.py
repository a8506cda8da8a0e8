from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.utils import timezone
from django.views.decorators.cache import cache_control
from django.views.decorators.http import last_modified
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from chatsite import health
from chatsite.foundation.metrics import metrics_view
from chatsite.i18n import LanguageCatalog
from chatsite.pages import urls_pages
from notifications.urls import page_urlpatterns as notification_pages

# The client's catalog (static/js/i18n.js): the project's djangojs strings (LOCALE_PATHS are
# always included; naming one app keeps the admin's own catalog out). base.html loads it as
# /jsi18n/?l=<language>: one URL per language, cached by the browser for an hour and
# revalidated against the process start (a deploy brings new catalogs).
_catalog_compiled = timezone.now()
javascript_catalog = cache_control(max_age=3600)(
    last_modified(lambda request, **kwargs: _catalog_compiled)(
        LanguageCatalog.as_view(domain="djangojs", packages=["accounts"])
    )
)

urlpatterns = [
    path("i18n/", include("django.conf.urls.i18n")),  # set_language: the switcher's POST
    path("jsi18n/", javascript_catalog, name="javascript-catalog"),
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
