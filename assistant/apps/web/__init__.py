"""The web chat (Gradio). A thin shell: it receives an Assistant and holds no retrieval logic."""
