"""Re-encrypt every stored OpenRouter key under the first key of CHATAPP_ENCRYPTION_KEYS.

Rotation: put the new key first in CHATAPP_ENCRYPTION_KEYS (keep the old ones after it), run
this command, then drop the old keys from the setting.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from chatapp.accounts.keys import key_rotate_all


class Command(BaseCommand):
    help = "Re-encrypt every stored OpenRouter key under the first CHATAPP_ENCRYPTION_KEYS key."

    def handle(self, *args: Any, **options: Any) -> None:
        result = key_rotate_all()
        self.stdout.write(f"Re-encrypted {result.rotated} OpenRouter key(s) under the first key.")
        if result.unreadable:
            users = ", ".join(str(pk) for pk in result.unreadable)
            raise CommandError(
                f"{len(result.unreadable)} key(s) could not be decrypted with any configured "
                f"key and were left unchanged (user ids: {users}). Add the encryption key they "
                "were written with to CHATAPP_ENCRYPTION_KEYS and run this again, or ask those "
                "users to connect OpenRouter again."
            )
