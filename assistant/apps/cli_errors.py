"""The one place where the command line turns the assistant's errors into messages and exit codes."""

from __future__ import annotations

import logging
import sys
from functools import wraps

import click
from pydantic import ValidationError

from assistant.errors import AssistantError

log = logging.getLogger(__name__)

EXIT_FAILED_RECORDS = 1  # some files or records could not be ingested; the rest was
EXIT_ERROR = 2  # nothing done: bad option, bad settings, bad input file, unreachable index

# What the user typed to set a field of a validated model: (model title, field) -> option name.
# Fields of the settings come from environment variables (ASSISTANT_<FIELD>); see _where.
OPTION_OF_FIELD = {
    ("SearchFilters", "since"): "--since",
    ("SearchFilters", "until"): "--until",
    ("SearchFilters", "sources"): "--source",
    ("SearchFilters", "categories"): "--category",
}


def _date_forms() -> str:
    from assistant.ingest.dates import EXPECTED

    return f"YYYY-MM-DD, {EXPECTED}"


# What an option accepts, for the fields whose own error would not say it in the option's terms.
ACCEPTED = {"--since": ("a date", _date_forms), "--until": ("a date", _date_forms)}


def _where(title: str, field: str) -> str:
    if (title, field) in OPTION_OF_FIELD:
        return OPTION_OF_FIELD[(title, field)]
    if title == "Settings":
        return f"ASSISTANT_{field.upper()}" if field else "the settings (ASSISTANT_* variables)"
    return f"{title}.{field}" if field else title


def _reason(error: dict) -> str:
    """The validator's own words: the ValueError it raised, else pydantic's short message (no URL)."""
    cause = (error.get("ctx") or {}).get("error")
    text = str(cause) if error.get("type") == "value_error" and cause is not None else str(error.get("msg", ""))
    return text if text[:2].isupper() else text[:1].lower() + text[1:]  # "ASSISTANT_X …" keeps its case


def validation_lines(exc: ValidationError) -> list[str]:
    """One line per invalid value: the option (or environment variable) it came from, the value, and
    what is accepted — instead of pydantic's multi-line dump with its documentation link."""
    lines = []
    for error in exc.errors(include_url=False):
        field = ".".join(str(part) for part in error.get("loc", ()) if not isinstance(part, int))
        where = _where(exc.title, field.split(".")[0] if field else "")
        if not field:  # a check across fields: its message names them
            reason = _reason(error)
            lines.append(reason if reason.startswith("ASSISTANT_") else f"{where}: {reason}")
            continue
        value = error.get("input")
        if where in ACCEPTED and error.get("type") == "value_error":
            what, forms = ACCEPTED[where]
            lines.append(f"{where} {value!r} is not {what}; use {forms()}")
        else:
            lines.append(f"{where} {value!r}: {_reason(error)}")
    return lines


def unreachable_message(exc: BaseException) -> str | None:
    """For an exception saying the Chroma server did not answer (raised where the index does not
    translate it itself), the message naming the server from the settings; else None."""
    from assistant.index.store import is_connection_error, unreachable

    if not is_connection_error(exc):
        return None
    try:
        from assistant.settings import Settings

        return str(unreachable(Settings(), exc))
    except Exception:  # noqa: BLE001 - settings that do not validate: say what we know
        return "Cannot reach the Chroma server (check ASSISTANT_CHROMA_URL)."


def handle_errors(func):
    """Print ``Error: <message>`` on stderr and exit 2, for errors a user can act on (a Chroma
    server that stopped answering included: "Cannot reach the Chroma server at HOST:PORT …")."""
    @wraps(func)
    def wrapper(*args, **kwargs):
        try:
            result = func(*args, **kwargs)
            sys.stdout.flush()  # a closed pipe shows here, where it is handled, not at the interpreter's exit
            return result
        except ValidationError as exc:  # an option or setting a pydantic model refused
            for line in validation_lines(exc):
                click.echo(f"Error: {line}", err=True)
            sys.exit(EXIT_ERROR)
        except (AssistantError, ValueError) as exc:
            shown = exc if isinstance(exc, AssistantError) else unreachable_message(exc) or exc
            click.echo(f"Error: {shown}", err=True)
            sys.exit(EXIT_ERROR)
        except BrokenPipeError:  # the reader went away (`assistant articles | head`): nothing more to say
            _quiet_stdout()
            sys.exit(0)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except Exception as exc:  # EOFError included: click would print a bare "Aborted!"
            message = unreachable_message(exc)
            if message is None:
                log.error("unexpected error", exc_info=exc)
                message = (f"unexpected {type(exc).__name__}: {str(exc)[:300] or 'no message'}. "
                           "A server's /api/health names the part that fails (the Chroma index, the BM25 files, "
                           "the embedding model, retrieval); if it persists, report it with this message.")
            click.echo(f"Error: {message}", err=True)
            sys.exit(EXIT_ERROR)
    return wrapper


def _quiet_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush does not fail on the closed pipe."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
