from __future__ import annotations

from django.urls import path

from chatapp.usage import views

app_name = "usage"
urlpatterns = [
    path("dashboard/costs/", views.costs, name="costs"),
    path("dashboard/costs/export.csv", views.costs_csv, name="costs_csv"),
    path("dashboard/costs/users/<int:user_id>/", views.user_replies, name="user_replies"),
    path("usage/", views.my_usage, name="mine"),
    path("usage/estimate", views.estimate, name="estimate"),
]
