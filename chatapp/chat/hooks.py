"""What the chat engine asks of, and tells, the apps above it, without importing them.

`usage` sits above `chat` (README, "Import rules"): it sums chat's messages, so chat may not
import usage. Where the engine needs usage — may this reply be paid for? a cost was written
behind the save signals — it sends one of these, and usage connects its receivers in its
AppConfig.ready(). Both are sent with `send`, not `send_robust`: a receiver that fails fails
the caller, it never waves a reply through or loses a refresh silently.
"""

from __future__ import annotations

from django.dispatch import Signal

# Sent before every upstream call with `user` and `paid_by` ("user" or "operator"). A receiver
# returns the sentence that refuses the reply (its budget is spent), or None to let it go.
reply_payable = Signal()

# Sent (in the ORM's thread) once costs of `user_id`'s replies in `conversation_ids` on the local
# calendar `day` were written with QuerySet.update, which sends no save signal: usage recomputes
# that day's rollups. Sent once per (user, day) however many replies ended together.
spend_written = Signal()


def reply_refusal(*, user: object, paid_by: str) -> str | None:
    """Return the first refusal a receiver of `reply_payable` gives, or None."""
    for _receiver, refusal in reply_payable.send(sender=None, user=user, paid_by=paid_by):
        if refusal:
            return str(refusal)
    return None
