"""Helpers for tests against a live server: uvicorn in a thread, headless Chromium."""
