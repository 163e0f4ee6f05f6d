"""Where a checkpoint file can be downloaded from, and how to open each kind of source.

A weight spec lists its sources in order: the authors' current links first (each citing the
page and commit that gives it), older official links after them. Three kinds exist:

- ``url``: the file itself (syncnet_python's robots.ox.ac.uk links, a GitHub release);
- ``gdrive``: a Google Drive file id. Drive answers ``uc?export=download&id=ID`` with the file
  when it is small, else with a page ("can't scan this file for viruses") whose download form
  (``drive.usercontent.google.com/download`` with hidden ``id``, ``export``, ``confirm`` and
  ``uuid``) or ``confirm=`` link leads to it: that second request is the confirmation step;
- ``gdrive-folder``: a file named inside a Drive folder, found in the folder's listing
  (``embeddedfolderview?id=FOLDER``: each entry's ``/file/d/ID/`` link and its
  ``flip-entry-title``), then fetched as ``gdrive``.

This replaces gdown (see docs/choices.md): the same two requests, a Drive address that tests
point at 127.0.0.1 (``LSBENCH_GDRIVE_URL``), and one-line failures.
"""

from __future__ import annotations

import os
import re
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Dict, List, Optional

from .errors import WeightsError

DRIVE = "https://drive.google.com"
MAX_PAGE = 2 << 20  # a Drive page is a few hundred KB at most; a larger HTML answer is not a Drive page
KINDS = ("url", "gdrive", "gdrive-folder")


class SourceFailed(WeightsError):
    """This source did not deliver the file (dead link, quota page, no such file in the folder):
    the next source is tried."""


@dataclass(frozen=True)
class Source:
    kind: str  # url | gdrive | gdrive-folder
    ref: str  # the URL, the Drive file id or the Drive folder id
    official: bool = True  # False: a mirror (LSBENCH_MIRROR, --from); what it delivers is recorded as a mirror
    file_in_folder: str = ""  # gdrive-folder: the file's name in the folder
    cited: str = ""  # where this link is published (page and commit), for `weights list`

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"source kind {self.kind!r}: one of {', '.join(KINDS)}")
        if (self.kind == "gdrive-folder") != bool(self.file_in_folder):
            raise ValueError("a gdrive-folder source names the file it takes from the folder, and only it")

    def label(self) -> str:
        where = {"url": self.ref, "gdrive": f"Google Drive file {self.ref}",
                 "gdrive-folder": f"{self.file_in_folder} in Google Drive folder {self.ref}"}[self.kind]
        return f"{'official' if self.official else 'mirror'}: {where}" + (f" ({self.cited})" if self.cited else "")


def url(link: str, cited: str = "", official: bool = True) -> Source:
    return Source("url", link, official, cited=cited)


def drive_file(file_id: str, cited: str = "") -> Source:
    return Source("gdrive", file_id, cited=cited)


def drive_folder(folder_id: str, name: str, cited: str = "") -> Source:
    return Source("gdrive-folder", folder_id, file_in_folder=name, cited=cited)


def drive_base() -> str:
    return os.environ.get("LSBENCH_GDRIVE_URL", DRIVE).rstrip("/")


def open_source(src: Source, timeout: float):
    """(an open HTTP response whose body is the file, the URL it came from); SourceFailed when this
    source does not deliver it."""
    if src.kind == "url":
        return _get(src.ref, timeout), src.ref
    file_id = src.ref if src.kind == "gdrive" else folder_file_id(src.ref, src.file_in_folder, timeout)
    return _drive_file(file_id, timeout)


def _get(link: str, timeout: float):
    try:
        return urllib.request.urlopen(urllib.request.Request(link, headers={"User-Agent": "lsbench"}), timeout=timeout)
    except urllib.error.HTTPError as exc:
        raise SourceFailed(f"HTTP {exc.code} {exc.reason} from {link}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise SourceFailed(f"{link}: {getattr(exc, 'reason', exc)} (offline?)") from None


def _is_file(response) -> bool:
    disposition = response.headers.get("Content-Disposition") or ""
    kind = response.headers.get("Content-Type") or ""
    return "attachment" in disposition or not kind.startswith("text/html")


def _page(response) -> str:
    with response:
        return response.read(MAX_PAGE).decode("utf-8", "replace")


def _drive_file(file_id: str, timeout: float):
    first = f"{drive_base()}/uc?export=download&id={urllib.parse.quote(file_id)}"
    response = _get(first, timeout)
    if _is_file(response):
        return response, first
    page = _page(response)
    confirm = confirm_url(page, first)
    if confirm is None:
        raise SourceFailed(f"Google Drive file {file_id}: {first} gave a page, not the file ({page_reason(page)})")
    response = _get(confirm, timeout)
    if _is_file(response):
        return response, confirm
    raise SourceFailed(f"Google Drive file {file_id}: the confirmed download {confirm} gave a page, not the file "
                       f"({page_reason(_page(response))})")


def page_reason(page: str) -> str:
    """What a Drive page that is not the file says, in a few words."""
    low = page.lower()
    if "too many users" in low or "quota" in low:
        return "download quota exceeded: try again in 24 h, or download it in a browser and use `weights import`"
    if "sign in" in low or "accounts.google.com" in low:
        return "the file is not shared publicly (Drive asks to sign in)"
    title = re.search(r"<title>(.*?)</title>", page, re.S | re.I)
    return f"page title {title.group(1).strip()[:80]!r}" if title else "no download form on it"


class _Forms(HTMLParser):
    """The download form (action and hidden inputs) and the links of a Drive page."""

    def __init__(self):
        super().__init__()
        self.action: Optional[str] = None
        self.inputs: Dict[str, str] = {}
        self.in_form = False
        self.links: List[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and (a.get("id") == "download-form" or "download" in (a.get("action") or "")):
            self.action, self.in_form = a.get("action"), True
        elif tag == "input" and self.in_form and a.get("name"):
            self.inputs[a["name"]] = a.get("value") or ""
        elif tag == "a" and a.get("href"):
            self.links.append(a["href"])

    def handle_endtag(self, tag):
        if tag == "form":
            self.in_form = False


def confirm_url(page: str, base: str) -> Optional[str]:
    """The confirmation request a Drive warning page leads to: its download form with the form's
    hidden inputs, else a link carrying ``confirm=``; None when the page has neither."""
    forms = _Forms()
    forms.feed(page)
    if forms.action:
        action = urllib.parse.urljoin(base, forms.action)
        return f"{action}{'&' if '?' in action else '?'}{urllib.parse.urlencode(forms.inputs)}"
    link = next((h for h in forms.links if "confirm=" in h), None)
    return urllib.parse.urljoin(base, link) if link else None


class _Listing(HTMLParser):
    """A Drive folder view's entries: name -> file id (sub-folders are left out)."""

    def __init__(self):
        super().__init__()
        self.files: Dict[str, str] = {}
        self._id: Optional[str] = None
        self._title: Optional[List[str]] = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        match = re.search(r"/file/d/([\w-]+)", a.get("href") or "") if tag == "a" else None
        if match:
            self._id = match.group(1)
        elif tag == "a" and "/folders/" in (a.get("href") or ""):
            self._id = None
        if tag == "div" and "flip-entry-title" in (a.get("class") or "").split():
            self._title = []

    def handle_data(self, data):
        if self._title is not None:
            self._title.append(data)

    def handle_endtag(self, tag):
        if tag == "div" and self._title is not None:
            if self._id:
                self.files["".join(self._title).strip()] = self._id
            self._title = None


def folder_files(page: str) -> Dict[str, str]:
    listing = _Listing()
    listing.feed(page)
    return listing.files


def folder_file_id(folder_id: str, name: str, timeout: float) -> str:
    view = f"{drive_base()}/embeddedfolderview?id={urllib.parse.quote(folder_id)}"
    files = folder_files(_page(_get(view, timeout)))
    if name not in files:
        held = ", ".join(sorted(files)) or "nothing readable"
        raise SourceFailed(f"Google Drive folder {folder_id} has no file named {name} (it holds: {held})")
    return files[name]

