from __future__ import annotations

from django.urls import path

from chatapp.attachments import views

app_name = "attachments"

urlpatterns = [
    path("attachments/", views.upload, name="upload"),
    path("attachments/<int:pk>/", views.remove, name="remove"),
    path("attachments/<int:pk>/thumbnail", views.thumbnail, name="thumbnail"),
    path("attachments/<int:pk>/<str:name>", views.file, name="file"),
]
