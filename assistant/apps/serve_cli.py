"""``assistant serve``: the web chat at / and the REST API at /api, in one process."""

from __future__ import annotations

import click

from assistant.apps.cli_errors import handle_errors


@click.command("serve")
@click.option("--host", default=None, help="Address to listen on (default: ASSISTANT_WEB_HOST, 127.0.0.1).")
@click.option("--port", type=click.IntRange(1, 65535), default=None,
              help="Port (default: ASSISTANT_WEB_PORT, 7860).")
@handle_errors
def serve_command(host, port):
    """Serve the web chat on / and the REST API on /api (docs on /docs).

    Indexes the bundled corpus first when the index is empty.
    """
    from assistant.apps.server import serve

    serve(host=host, port=port, echo=lambda line: click.echo(line, err=True))
