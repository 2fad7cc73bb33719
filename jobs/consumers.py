from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from config.errors import NotFoundError
from jobs.lifecycle import job_group, job_payload
from jobs.selectors import access_job


@database_sync_to_async
def _snapshot_for(user: Any, job_id: str) -> dict[str, Any] | None:
    if not user or not user.is_authenticated:
        return None
    try:
        return job_payload(access_job(user=user, job_id=job_id))
    except NotFoundError:
        return None


class JobProgressConsumer(AsyncJsonWebsocketConsumer):
    """ws/jobs/<id>/: the job's state now, then every change. Only its owner may listen."""

    group: str | None = None

    async def connect(self) -> None:
        job_id = self.scope["url_route"]["kwargs"]["job_id"]
        snapshot = await _snapshot_for(self.scope.get("user"), job_id)
        if snapshot is None:
            await self.close()  # before accept: the handshake is refused (403), not or not yours
            return
        self.group = job_group(snapshot["id"])
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        # Sent after joining the group, so no change between snapshot and join is missed.
        await self.send_json({"type": "job", "job": snapshot})

    async def disconnect(self, code: int) -> None:
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        pass  # the stream is one-way; clients cancel through the REST API

    async def job_update(self, event: dict[str, Any]) -> None:
        await self.send_json({"type": "job", "job": event["job"]})
