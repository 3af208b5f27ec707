"""Start the web chat on the bundled corpus: `python app.py` (indexes corpus/ first if needed)."""

import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")


def main() -> None:
    from assistant import Settings, build_assistant
    from assistant.web.chat import build_ui

    settings = Settings()
    assistant = build_assistant(settings)
    if assistant.is_empty():
        print(f"Index is empty; indexing {settings.corpus_dir} …")
        print(assistant.ingest(progress=True).summary())
    build_ui(assistant).queue(default_concurrency_limit=4).launch(
        server_name=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
        server_port=int(os.environ.get("GRADIO_SERVER_PORT", "7860")),
    )


if __name__ == "__main__":
    main()
