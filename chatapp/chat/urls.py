from __future__ import annotations

from django.urls import path

from chatapp.chat import views

app_name = "chat"
urlpatterns = [
    path("", views.home, name="home"),
]
