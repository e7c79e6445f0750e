from __future__ import annotations

from django.urls import path

from chatapp.sharing import views

app_name = "sharing"
urlpatterns = [
    path("c/<int:pk>/export.md", views.export_markdown, name="export_markdown"),
    path("c/<int:pk>/export.json", views.export_json, name="export_json"),
    path("c/<int:pk>/share", views.share, name="share"),
    path("c/<int:pk>/share/stop", views.share_stop, name="share_stop"),
    path("s/<str:token>", views.shared, name="shared"),
    path("shares/<int:pk>/stop", views.share_stop_from_account, name="stop_from_account"),
    path("export/all.zip", views.export_all, name="export_all"),
    path("import/", views.import_upload, name="import"),
    path("import/<int:pk>", views.import_status, name="import_status"),
]
