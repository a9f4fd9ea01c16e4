"""Ambiguous-name lookup as ResolveNames does it: exact addresses, then name and alias prefixes."""

from __future__ import annotations

import bisect

from .org import DirectoryObject, Organisation


class NameIndex:
    """Prefix search over display-name words, whole display names and aliases of visible objects.

    Sorted tokens and bisect keep a lookup in a 100,000-person directory to microseconds.
    """

    def __init__(self, org: Organisation) -> None:
        self._objects: list[DirectoryObject] = [o for o in org.objects.values() if not o.hidden]
        pairs: list[tuple[str, int]] = []
        for i, o in enumerate(self._objects):
            words = {o.name.lower(), o.address.split("@", 1)[0].lower(), *o.name.lower().split()}
            words.update(p.split("@", 1)[0].lower() for p in o.proxies)
            pairs.extend((w, i) for w in words if w)
        pairs.sort()
        self._keys = [p[0] for p in pairs]
        self._ids = [p[1] for p in pairs]

    def prefix(self, query: str, limit: int) -> tuple[list[DirectoryObject], bool]:
        """Objects with a name word, full name or alias starting with `query`; (hits, more)."""
        q = query.strip().lower()
        if not q:
            return [], False
        start = bisect.bisect_left(self._keys, q)
        seen: dict[int, None] = {}
        for pos in range(start, len(self._keys)):
            if not self._keys[pos].startswith(q):
                break
            seen.setdefault(self._ids[pos], None)
        hits = sorted((self._objects[i] for i in seen), key=lambda o: (o.name.lower(), o.address))
        return hits[:limit], len(hits) > limit
