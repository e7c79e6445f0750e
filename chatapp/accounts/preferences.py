"""What a person keeps for themselves across conversations: their favourite models."""

from __future__ import annotations

from chatapp.accounts.models import User

FAVORITES_MAX = 100


def user_set_favorite_model(*, user: User, model_id: str, favorite: bool) -> list[str]:
    """Add or remove a favourite model; return the new list (most recently added first)."""
    favorites = [m for m in user.favorite_models if m != model_id]
    if favorite:
        favorites.insert(0, model_id)
    user.favorite_models = favorites[:FAVORITES_MAX]
    user.save(update_fields=["favorite_models"])
    return list(user.favorite_models)
