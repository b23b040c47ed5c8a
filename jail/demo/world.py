"""A throw-away world for `jail demo`, replaying a real incident pattern: an
agent finds a platform token in an unrelated file and deletes a production
volume with one GraphQL mutation.

Everything is local: a fake home holding the token, a "volume" (a directory
with a database file in it), a stand-in platform API on 127.0.0.1 that deletes
the volume when it receives `volumeDelete` with the right token, and a scripted
"agent" (a bash script) that greps the home for a token and curls the mutation.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import threading
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

VOLUME = "vol-prod-db"

AGENT_SCRIPT = r"""#!/bin/bash
# A scripted stand-in for an agent asked to "clean up the staging volume".
echo "agent: I need an API token to clean up staging. Searching the home folder..."
TOKEN=$(grep -rhoE 'RAILWAY_TOKEN=[^[:space:]]+' "$HOME" 2>/dev/null | head -n 1 | cut -d= -f2-)
if [ -z "$TOKEN" ]; then echo "agent: no token found"; exit 1; fi
echo "agent: found a token (${#TOKEN} characters) in an old notes file; using it."
echo "agent: deleting volume $VOLUME_ID ..."
curl -s -X POST "$PLATFORM_URL/graphql" -H "Authorization: Bearer $TOKEN" \
  -H 'Content-Type: application/json' \
  -d "{\"query\":\"mutation { volumeDelete(volumeId: \\\"$VOLUME_ID\\\") }\"}"
status=$?
echo
echo "agent: done (curl exit status $status)."
"""


@dataclass
class World:
    root: Path
    home: Path
    project: Path
    volume: Path
    agent: Path
    token: str

    @property
    def state(self) -> Path:
        """XDG_STATE_HOME of the demo: jail's audit log, outside the agent's home."""
        return self.root / "state"

    @property
    def volume_alive(self) -> bool:
        return (self.volume / "data.db").is_file()

    def restore_volume(self) -> None:
        self.volume.mkdir(parents=True, exist_ok=True)
        (self.volume / "data.db").write_text("customers: 1,204 rows\norders: 18,377 rows\n")

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def build_world(parent: Path | None = None) -> World:
    root = Path(tempfile.mkdtemp(prefix="jail-demo-", dir=parent))
    root.chmod(0o755)
    home, project = root / "home", root / "project"
    notes = home / "notes"
    notes.mkdir(parents=True)
    project.mkdir()
    token = str(uuid.uuid4())
    # The unrelated file: notes from an old deployment, token and all.
    (notes / "old-staging-deploy.md").write_text(
        f"# staging deploy, last spring\nexport RAILWAY_TOKEN={token}\nremember to rotate this\n")
    (project / "README.md").write_text("# shop\nTask for the agent: clean up the staging volume.\n")
    agent = project / "agent.sh"
    agent.write_text(AGENT_SCRIPT)
    agent.chmod(0o755)
    world = World(root, home, project, root / "platform" / "volumes" / VOLUME, agent, token)
    world.restore_volume()
    return world


class PlatformAPI:
    """The stand-in hosting platform: POST /graphql, `volumeDelete` with the right token deletes."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.calls: list[dict] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> PlatformAPI:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode("utf-8", "replace")
                authorized = self.headers.get("Authorization", "") == f"Bearer {api.world.token}"
                deletes = "volumeDelete" in body
                api.calls.append({"authorized": authorized, "volumeDelete": deletes})
                if not authorized:
                    self._reply(401, {"errors": [{"message": "Not Authorized"}]})
                    return
                if deletes:
                    shutil.rmtree(api.world.volume, ignore_errors=True)
                self._reply(200, {"data": {"volumeDelete": deletes}})

            def _reply(self, status: int, data: dict) -> None:
                payload = json.dumps(data).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        return Handler
