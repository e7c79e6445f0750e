from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from chatapp.chat.views import metrics
from chatapp.core.views import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("metrics", metrics, name="metrics"),
    path("admin/", admin.site.urls),
    path("accounts/", include("chatapp.accounts.urls")),
    path("catalog/", include("chatapp.catalog.urls")),
    path("", include("chatapp.usage.urls")),
    path("", include("chatapp.sharing.urls")),
    path("", include("chatapp.attachments.urls")),
    path("", include("chatapp.chat.urls")),
]
