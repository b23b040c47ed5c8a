"""`jail demo`: a throw-away world that replays a real incident."""
