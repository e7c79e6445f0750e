from __future__ import annotations

from decimal import Decimal

from django import forms
from django.contrib.auth.forms import UserCreationForm

from chatapp.accounts.models import User


class SignupForm(UserCreationForm[User]):
    class Meta:
        model = User
        fields = ("username", "email")


class PasteKeyForm(forms.Form):
    # render_value=False: a refused key is never sent back in the page.
    api_key = forms.CharField(
        label="OpenRouter API key",
        max_length=200,
        strip=True,
        widget=forms.PasswordInput(
            render_value=False, attrs={"autocomplete": "off", "spellcheck": "false"}
        ),
        help_text="Starts with sk-or-. It is checked with OpenRouter, then stored encrypted.",
    )

    def clean_api_key(self) -> str:
        value: str = self.cleaned_data["api_key"]
        # Messages never repeat the value: it may be a real key with a typo.
        if not value.startswith("sk-or-"):
            raise forms.ValidationError(
                "That does not look like an OpenRouter key: those start with \u201csk-or-\u201d."
            )
        if len(value) < 20 or any(ch.isspace() for ch in value):
            raise forms.ValidationError(
                "That key looks incomplete or has spaces in it. Copy it again from "
                "openrouter.ai/keys."
            )
        return value


class OwnKeyCapForm(forms.Form):
    # A plain form, not a ModelForm: it validates without queries, inside an async view.
    own_key_monthly_cap = forms.DecimalField(
        label="Monthly cap on your own key (USD)",
        required=False,
        min_value=Decimal(0),
        max_digits=12,
        decimal_places=4,
        help_text="Sending stops for the rest of the month once replies paid with your key "
        "reach this amount. Leave it empty for no cap.",
        widget=forms.NumberInput(attrs={"step": "0.01", "min": "0", "inputmode": "decimal"}),
    )
