from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.urls import path

from chatapp.accounts import views

urlpatterns = [
    path("", views.account, name="account"),
    path("cap/", views.own_key_cap, name="own_key_cap"),
    path("openrouter/start/", views.openrouter_start, name="openrouter_start"),
    path("openrouter/callback/", views.openrouter_callback, name="openrouter_callback"),
    path("openrouter/paste/", views.openrouter_paste, name="openrouter_paste"),
    path("openrouter/refresh/", views.openrouter_refresh, name="openrouter_refresh"),
    path("openrouter/disconnect/", views.openrouter_disconnect, name="openrouter_disconnect"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("signup/", views.signup, name="signup"),
]
