"""The assistant's errors. Messages say what is wrong and how to fix it."""


class AssistantError(Exception):
    """Base class: anything the user can act on. Only the CLI, UI and API translate these."""


class ConfigError(AssistantError):
    """A setting is wrong or a needed backend is missing."""


class InputError(AssistantError):
    """A file, record or request is malformed. ``where`` names the file/record/field."""

    def __init__(self, where: str, problem: str, fix: str = ""):
        self.where, self.problem, self.fix = where, problem, fix
        super().__init__(f"{where}: {problem}" + (f" ({fix})" if fix else ""))


class NotAvailableHere(InputError, ConfigError):
    """A request chose something valid that this installation does not offer (an answer mode that is
    not configured): the request is what must change, so the API answers 422, not 503. Still a
    ConfigError for callers that catch those (the setting is what would offer it)."""


class IndexUnavailable(AssistantError):
    """The index cannot be reached (e.g. the Chroma server is down)."""


class MoreErrors(InputError):
    """Stands for ``count`` further problems of one file that are not listed one by one."""

    def __init__(self, where: str, count: int, fix: str = ""):
        self.count = count
        super().__init__(where, f"{count} more records could not be read (not listed)", fix)
