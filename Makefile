# The two commands of the README. Each sets up what it needs on a fresh machine.
.PHONY: chat test
export GRADIO_ANALYTICS_ENABLED=False
export HF_HUB_OFFLINE=1

chat:  ## index corpus/ if needed and serve the web chat on http://127.0.0.1:7860
	scripts/setup.sh
	.venv/bin/python app.py

test:  ## run the whole test suite
	scripts/setup.sh --test
	.venv/bin/python -m pytest -q
