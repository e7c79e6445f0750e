from __future__ import annotations

from django.urls import path

from chatapp.catalog import views

app_name = "catalog"
urlpatterns = [
    path("models.json", views.models_json, name="models"),
    path("favorite", views.favorite, name="favorite"),
]
