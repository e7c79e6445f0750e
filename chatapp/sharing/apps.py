from __future__ import annotations

from django.apps import AppConfig


class SharingConfig(AppConfig):
    name = "chatapp.sharing"
    verbose_name = "Export, share and import"

    def ready(self) -> None:
        # The account page lists shares and offers import without importing this app: it
        # renders the sections registered with it. Models load only after app registry setup.
        from chatapp.accounts.sections import register_account_section  # noqa: PLC0415
        from chatapp.sharing.account import account_section  # noqa: PLC0415

        register_account_section("sharing/_account.html", account_section)
