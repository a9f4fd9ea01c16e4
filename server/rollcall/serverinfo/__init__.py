"""Server information for admins: the state of Rollcall, its directory, its database and cache
(`status` builds the document, `service` gathers its parts when an admin asks)."""

from .service import ServerInfo

__all__ = ["ServerInfo"]
