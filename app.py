"""Serve the web chat (/) and the REST API (/api) on the bundled corpus: `python app.py`.

The same as `assistant serve`; the index is filled from corpus/ first when it is empty.
Host and port come from ASSISTANT_WEB_HOST and ASSISTANT_WEB_PORT (127.0.0.1:7860).
"""

import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")


def main() -> None:
    from assistant.apps.cli_errors import handle_errors
    from assistant.apps.server import serve

    handle_errors(serve)()  # a bad setting: one line naming it and exit 2, as `assistant serve`


if __name__ == "__main__":
    main()
