"""The one place where the command line turns the assistant's errors into messages and exit codes."""

from __future__ import annotations

import sys
from functools import wraps

import click

from assistant.errors import AssistantError

EXIT_FAILED_RECORDS = 1  # some files or records could not be ingested; the rest was
EXIT_ERROR = 2  # nothing done: bad settings, bad input file, unreachable index


def handle_errors(func):
    """Print ``Error: <message>`` on stderr and exit 2, for errors a user can act on."""
    @wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except (AssistantError, ValueError) as exc:  # ValueError: pydantic validation of settings/filters
            click.echo(f"Error: {exc}", err=True)
            sys.exit(EXIT_ERROR)
    return wrapper
