"""Prompt templates: files under ``prompts/`` with ``$name`` placeholders, rendered strictly.

A missing variable is an error naming the file and the variable; so is a variable that the
template does not use (a sign the template and the code drifted apart). ``$$`` is a literal ``$``.
"""

from __future__ import annotations

from pathlib import Path
from string import Template

from assistant.errors import ConfigError


class PromptTemplate:
    def __init__(self, name: str, text: str):
        self.name = name
        self.template = Template(text)
        self.variables = {m.group("named") or m.group("braced") for m in self.template.pattern.finditer(text)
                          if m.group("named") or m.group("braced")}

    @classmethod
    def load(cls, folder: str | Path, name: str) -> "PromptTemplate":
        path = Path(folder) / name
        try:
            return cls(name, path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"Prompt file {path} is missing; restore it or point ASSISTANT_PROMPTS_DIR "
                              "at a folder holding answer_system.txt, answer_user.txt and condense.txt") from None

    def render(self, **values: object) -> str:
        missing = sorted(self.variables - values.keys())
        if missing:
            raise ConfigError(f"Prompt {self.name} needs {', '.join('$' + m for m in missing)}, which the "
                              "code did not supply")
        unused = sorted(values.keys() - self.variables)
        if unused:
            raise ConfigError(f"Prompt {self.name} does not use {', '.join('$' + u for u in unused)}; "
                              "add the placeholder to the file or stop passing it")
        return self.template.substitute({k: str(v) for k, v in values.items()})


class Prompts:
    """The answering prompts of one folder, loaded once."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        self._cache: dict[str, PromptTemplate] = {}

    def get(self, name: str) -> PromptTemplate:
        if name not in self._cache:
            self._cache[name] = PromptTemplate.load(self.folder, name)
        return self._cache[name]

    def render(self, name: str, **values: object) -> str:
        return self.get(name).render(**values)
