"""One root for every error a user should read, with one subclass per kind.

Why here: `graph` is the lowest layer of the project (it imports nothing of ours), so `crm`,
`seed`, `web` and the command line can all subclass these without climbing a layer. The
message (`str(exc)`) is always a Chinese sentence for the user; English goes to the logs.

The web app maps the *kinds* to HTTP status codes (`web/errors.py`), the command line prints
the message and exits non-zero. A new error picks the kind that says what the user can do:

>>> issubclass(NotFound, LianzhaoError), issubclass(ConfigError, LianzhaoError)
(True, True)
>>> str(InvalidInput("企业名称不能为空"))
'企业名称不能为空'
"""

from __future__ import annotations


class LianzhaoError(Exception):
    """Root: `str(exc)` is a Chinese sentence a user can act on."""


class InvalidInput(LianzhaoError, ValueError):
    """Input breaks a rule (a field, a file, a request); nothing was written. HTTP 400."""


class NotFound(LianzhaoError, LookupError):
    """The object does not exist (or the actor may not know that it exists). HTTP 404."""


class PermissionDenied(LianzhaoError):
    """The actor's role or team does not allow this on this object. HTTP 403."""


class Conflict(LianzhaoError):
    """The request clashes with the current state (stale edit, duplicate, held firm). HTTP 409."""


class Unavailable(LianzhaoError):
    """A store or server cannot be reached or failed; retrying later may help. HTTP 503."""


class ConfigError(LianzhaoError):
    """config.toml or a seed file is missing or wrong; the message is for the operator."""
