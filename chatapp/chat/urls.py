from __future__ import annotations

from django.urls import path

from chatapp.chat import views

app_name = "chat"
urlpatterns = [
    path("", views.home, name="home"),
    path("c/<int:pk>/", views.conversation, name="conversation"),
    path("c/new", views.create, name="create"),
    path("c/<int:pk>/rename", views.rename, name="rename"),
    path("c/<int:pk>/delete", views.delete, name="delete"),
    path("c/<int:pk>/settings", views.update_settings, name="settings"),
    path("c/<int:pk>/web-search", views.web_search, name="web_search"),
    path("search", views.search, name="search"),
    path("providers", views.providers, name="providers"),
]
