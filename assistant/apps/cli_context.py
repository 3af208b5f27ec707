"""Which assistant a command runs on: the one a caller hands the command line, else the configured one.

Click's context object is the injection point: ``main(args, obj=...)`` or
``CliRunner().invoke(main, args, obj=...)`` with either a built :class:`~assistant.service.assistant.Assistant`
(every command runs on it) or a factory ``(**settings_overrides) -> Assistant`` (called once per
command, with what the command overrides, e.g. ``eval --profile``). Apps embedding the CLI and tests
sharing a loaded model use it; nothing else needs to be replaced.
"""

from __future__ import annotations

import click


def command_assistant(**overrides):
    """The assistant for the running command (see the module's doc)."""
    ctx = click.get_current_context(silent=True)
    given = ctx.find_root().obj if ctx is not None else None
    if given is not None:
        return given(**overrides) if callable(given) else given
    from assistant.service.factory import build_assistant
    from assistant.settings import Settings

    return build_assistant(Settings(**overrides))
