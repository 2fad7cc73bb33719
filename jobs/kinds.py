"""The table of job kinds. Each app registers its own in `AppConfig.ready`:

    register(JobKind("cameo.verify", verify_capture_job, queue="gpu"))

so the runner can run any kind without importing the app that owns it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ImproperlyConfigured

if TYPE_CHECKING:
    from jobs.models import Job

Progress = Callable[[str, float], None]
Handler = Callable[["Job", Progress], dict[str, Any]]

QUEUES = ("default", "gpu")  # gpu: work that wants the GPU when there is one


@dataclass(frozen=True)
class JobKind:
    name: str
    handler: Handler
    queue: str = "default"


class UnknownJobKind(LookupError):
    pass


_registry: dict[str, JobKind] = {}


def register(kind: JobKind) -> None:
    if kind.queue not in QUEUES:
        raise ImproperlyConfigured(f"Job kind {kind.name!r}: unknown queue {kind.queue!r}.")
    known = _registry.get(kind.name)
    if known is not None and known != kind:
        raise ImproperlyConfigured(f"Job kind {kind.name!r} is registered twice.")
    _registry[kind.name] = kind


def unregister(name: str) -> None:
    _registry.pop(name, None)


def kind_for(name: str) -> JobKind:
    try:
        return _registry[name]
    except KeyError:
        raise UnknownJobKind(name) from None


def queue_for(name: str) -> str:
    known = _registry.get(name)
    return known.queue if known is not None else "default"


def registered() -> list[str]:
    return sorted(_registry)
