"""Deprecated import path: use :mod:`assistant.apps.langchain`.

``from assistant.langchain_retriever import NewsRetriever`` is what users of the first version wrote;
it keeps working, with a :class:`DeprecationWarning` naming the new path.
"""

import warnings

from assistant.apps.langchain import *  # noqa: F401,F403  (the same names, the same objects)
from assistant.apps.langchain import NewsRetriever  # noqa: F401

warnings.warn("assistant.langchain_retriever is deprecated: import NewsRetriever from assistant.apps.langchain",
              DeprecationWarning, stacklevel=2)
