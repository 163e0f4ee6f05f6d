"""A local HTTP server that answers like Google Drive does for public files (as of 2025):

- ``/uc?export=download&id=ID``: a small file comes at once (Content-Disposition: attachment);
  a large one gets the "can't scan for viruses" page whose ``download-form`` posts (GET) to
  ``/download`` with hidden ``id``, ``export``, ``confirm`` and ``uuid``; that request gives
  the file only with the same uuid. A file over quota gets the "Too many users" page.
- ``/embeddedfolderview?id=FOLDER``: the folder's entries, each a ``/file/d/ID/view`` link
  with a ``flip-entry-title``; a sub-folder is a ``/drive/folders/ID`` link.
- ``/files/NAME``: a plain file server (mirrors, --from); anything else is 404.

Tests set LSBENCH_GDRIVE_URL to its address; `files`, `folders`, `large` and `quota` can be
changed while it runs (a file the authors replaced).
"""

from __future__ import annotations

import html
import http.server
import threading
import urllib.parse
import uuid as uuidlib
from typing import Dict, Set


class DriveImitation:
    def __init__(self):
        self.files: Dict[str, bytes] = {}  # Drive file id -> content
        self.names: Dict[str, str] = {}  # Drive file id -> its name
        self.folders: Dict[str, list] = {}  # folder id -> file ids (and "folder:ID" for sub-folders)
        self.plain: Dict[str, bytes] = {}  # /files/NAME
        self.large: Set[str] = set()  # ids that need the confirmation step
        self.quota: Set[str] = set()  # ids over their download quota
        self.requests: list = []
        self._uuids: Dict[str, str] = {}
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def add(self, file_id: str, name: str, content: bytes, large: bool = True) -> None:
        self.files[file_id], self.names[file_id] = content, name
        if large:
            self.large.add(file_id)

    def __enter__(self):
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()

    def _handler(self):
        drive = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                parsed = urllib.parse.urlparse(self.path)
                q = {k: v[0] for k, v in urllib.parse.parse_qs(parsed.query).items()}
                drive.requests.append(self.path)
                if parsed.path == "/uc":
                    return drive._uc(self, q.get("id", ""))
                if parsed.path == "/download":
                    return drive._confirmed(self, q)
                if parsed.path == "/embeddedfolderview":
                    return drive._folder(self, q.get("id", ""))
                if parsed.path.startswith("/files/") and parsed.path[7:] in drive.plain:
                    return drive._send(self, drive.plain[parsed.path[7:]], parsed.path[7:])
                self.send_error(404)

        return Handler

    def _send(self, h, body: bytes, name: str = "", kind: str = "application/octet-stream") -> None:
        h.send_response(200)
        h.send_header("Content-Type", kind)
        h.send_header("Content-Length", str(len(body)))
        if name:
            h.send_header("Content-Disposition", f'attachment; filename="{name}"')
        h.end_headers()
        h.wfile.write(body)

    def _page(self, h, title: str, body: str) -> None:
        self._send(h, f"<!DOCTYPE html><html><head><title>{title}</title></head><body>{body}</body></html>".encode(),
                   kind="text/html; charset=utf-8")

    def _uc(self, h, file_id: str) -> None:
        if file_id not in self.files:
            return self._page(h, "Google Drive - 404", "<p>Sorry, the file you have requested does not exist.</p>")
        if file_id in self.quota:
            return self._page(h, "Google Drive - Quota exceeded", "<p>Too many users have viewed or downloaded this "
                                                                   "file recently.</p>")
        if file_id not in self.large:
            return self._send(h, self.files[file_id], self.names[file_id])
        token = self._uuids.setdefault(file_id, str(uuidlib.uuid4()))
        inputs = "".join(f'<input type="hidden" name="{k}" value="{html.escape(v)}">'
                         for k, v in (("id", file_id), ("export", "download"), ("confirm", "t"), ("uuid", token)))
        self._page(h, "Google Drive - Virus scan warning",
                   f"<p>Google Drive can't scan this file for viruses.</p><p>{html.escape(self.names[file_id])} is too "
                   f"large for Google to scan for viruses. Would you still like to download this file?</p>"
                   f'<form id="download-form" action="{self.url}/download" method="get">'
                   f'<input type="submit" id="uc-download-link" value="Download anyway">{inputs}</form>')

    def _confirmed(self, h, q: dict) -> None:
        file_id = q.get("id", "")
        if file_id not in self.files or q.get("confirm") != "t" or q.get("uuid") != self._uuids.get(file_id):
            return self._page(h, "Google Drive - Error", "<p>We're sorry, this request could not be completed.</p>")
        self._send(h, self.files[file_id], self.names[file_id])

    def _folder(self, h, folder_id: str) -> None:
        if folder_id not in self.folders:
            return h.send_error(404)
        entries = []
        for entry in self.folders[folder_id]:
            if entry.startswith("folder:"):
                sub = entry[7:]
                entries.append(f'<div class="flip-entry" id="entry-{sub}"><div class="flip-entry-info">'
                               f'<a href="https://drive.google.com/drive/folders/{sub}" target="_blank">'
                               f'<div class="flip-entry-title">a sub-folder</div></a></div></div>')
                continue
            entries.append(f'<div class="flip-entry" id="entry-{entry}"><div class="flip-entry-info">'
                           f'<a href="https://drive.google.com/file/d/{entry}/view?usp=drive_web" target="_blank">'
                           f'<div class="flip-entry-visual"></div><div class="flip-entry-title">'
                           f'{html.escape(self.names[entry])}</div></a></div></div>')
        self._page(h, "Shared folder", f'<div class="flip-entries">{"".join(entries)}</div>')
