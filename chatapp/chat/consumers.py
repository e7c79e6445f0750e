"""The chat websocket: authenticate, authorize, validate, call a service, reply."""

from __future__ import annotations

from typing import Any

from channels.generic.websocket import AsyncJsonWebsocketConsumer


class ChatConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=4401)
            return
        await self.accept()

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        # The streaming engine (issue 4) handles the protocol in docs/websocket-protocol.md.
        await self.send_json(
            {"type": "error", "code": "bad_request", "message": "Not implemented yet."}
        )
