from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import forms

from chatapp.accounts.models import User
from chatapp.core.periods import local_today
from chatapp.usage.selectors import Filters

MAX_RANGE_DAYS = 366


class CostFilterForm(forms.Form):
    start = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    user = forms.CharField(required=False, max_length=150, label="User")
    model = forms.CharField(required=False, max_length=200, label="Model")
    by = forms.ChoiceField(
        required=False,
        choices=[("model", "by model"), ("payer", "by who paid")],
        label="Chart",
    )

    def clean_user(self) -> User | None:
        username = self.cleaned_data["user"].strip()
        if not username:
            return None
        user = User.objects.filter(username=username).first()
        if user is None:
            raise forms.ValidationError(f"There is no user called “{username}”. Check the name.")
        return user

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        today = local_today()
        end = data.get("end") or today
        start = data.get("start") or end - timedelta(days=29)
        if start > end:
            raise forms.ValidationError("The start date is after the end date; swap them.")
        if (end - start).days >= MAX_RANGE_DAYS:
            raise forms.ValidationError(
                f"Choose a range of at most {MAX_RANGE_DAYS} days; this one has "
                f"{(end - start).days + 1}."
            )
        data["start"], data["end"] = start, end
        return data

    def filters(self) -> Filters:
        data = self.cleaned_data
        user = data.get("user")
        return Filters(
            start=data["start"],
            end=data["end"],
            user_id=user.pk if user else None,
            model=(data.get("model") or "").strip() or None,
        )

    @property
    def chart_by(self) -> str:
        return (self.cleaned_data.get("by") if self.is_valid() else None) or "model"


def default_filters() -> Filters:
    today = local_today()
    return Filters(start=today - timedelta(days=29), end=today)
