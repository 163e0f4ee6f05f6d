"""What the published site may show of a results file: the same document with every local path
(home, cache, corpus, temporary folders) cut to its last part, so a page or a JSON copy on the
site never names the machine's folders. The results file itself keeps them."""

from __future__ import annotations

import re

# an absolute path, not inside a URL, a relative path or a word ("and/or")
_ABSOLUTE = re.compile(r"(?<![\w:/.~-])/(?:[^\s'\"()<>,;]+/)*([^\s'\"()<>,;/]+)")


def scrub(text: str) -> str:
    """'looked in /root/.cache/lsbench/weights/x.pth' -> 'looked in …/x.pth'."""
    return _ABSOLUTE.sub(lambda m: "…/" + m.group(1), text)


# identities, not paths: the pair list and clip ids stay as they are (the pair list's hash is checked on them)
KEEP = frozenset({"pairs", "clip_id", "audio_from", "pairs_sha256"})


def public_copy(doc):
    """A copy of a results document (or any part of one) with every string scrubbed but the clip ids."""
    if isinstance(doc, dict):
        return {k: v if k in KEEP else public_copy(v) for k, v in doc.items()}
    if isinstance(doc, list):
        return [public_copy(v) for v in doc]
    return scrub(doc) if isinstance(doc, str) else doc
