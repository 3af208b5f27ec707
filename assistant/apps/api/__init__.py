"""The REST API (FastAPI): ``create_api(assistant, settings)``; see ``assistant.server`` for the whole app."""

from assistant.apps.api.app import create_api

__all__ = ["create_api"]
