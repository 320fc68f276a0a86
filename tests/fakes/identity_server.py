"""A fake identity server (a front of the hospital directory, spec 01 §3.11).

* `POST /user/authenticate` form `username`, `password` → 200 when valid, else 401;
* `POST /user/info` form `username` → 200 `{"data": {"attributes": {cn, givenName, sn, mail}}}` or 404.
Both require the header `Key-auth: <auth_token>` (401 otherwise).
"""

from __future__ import annotations

import hmac

from tests.fakes.http_server import FakeServer, RecordedRequest, Reply


class FakeIdentityServer(FakeServer):
    def __init__(self, auth_token: str = "identity-server-key") -> None:
        super().__init__()
        self.auth_token = auth_token
        self.users: dict[str, dict] = {}
        self.route("POST", "/user/authenticate", self._authenticate)
        self.route("POST", "/user/info", self._info)

    def add_user(
        self, username: str, *, password: str | None = None, firstname: str, lastname: str, email: str
    ) -> None:
        self.users[username] = {"password": password, "givenName": firstname, "sn": lastname, "mail": email}

    def _key_refused(self, request: RecordedRequest) -> Reply | None:
        if hmac.compare_digest(request.headers.get("Key-auth", ""), self.auth_token):
            return None
        return Reply(status=401, json={"status": "error", "message": "Invalid key"})

    def _authenticate(self, request: RecordedRequest) -> Reply:
        refused = self._key_refused(request)
        if refused:
            return refused
        entry = self.users.get(request.form.get("username", ""))
        password = request.form.get("password", "")
        if entry is None or entry["password"] is None or not hmac.compare_digest(entry["password"], password):
            return Reply(status=401, json={"status": "error", "message": "Invalid credentials"})
        return Reply(json={"status": "ok"})

    def _info(self, request: RecordedRequest) -> Reply:
        refused = self._key_refused(request)
        if refused:
            return refused
        username = request.form.get("username", "")
        entry = self.users.get(username)
        if entry is None:
            return Reply(status=404, json={"status": "error", "message": "User not found"})
        attributes = {"cn": username, "givenName": entry["givenName"], "sn": entry["sn"], "mail": entry["mail"]}
        return Reply(json={"data": {"attributes": attributes}})
