"""A stand-in model server on 127.0.0.1 for driving real agent CLIs offline.

It speaks just enough of three provider APIs to play a script of tool calls:
the Anthropic Messages API (POST /v1/messages, streamed as server-sent events
the way Claude Code asks for them), the OpenAI Chat Completions API (POST
.../chat/completions, streamed), which Codex and other OpenAI-compatible
clients speak, and the Gemini API (POST .../models/M:streamGenerateContent).
Every request is recorded, so a test can assert what the agent sent back to
the "model" (above all, that no secret value did) and which key it used.

The script is stateless per conversation: the step played is the number of
assistant (model) turns already in the request, so retries and side queries
(title generation, quota checks, Gemini's next-speaker check: requests
without tools) never move it.
"""

from __future__ import annotations

import json
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Step:
    """One model turn: a tool call (name and input), or the final text."""

    tool: str | None
    input: dict[str, Any] = field(default_factory=dict)
    text: str = ""


def tool(name: str, **arguments: Any) -> Step:
    return Step(name, dict(arguments))


def say(text: str) -> Step:
    return Step(None, text=text)


@dataclass
class Recorded:
    path: str
    body: str
    headers: dict[str, str]


class StandIn:
    """Start with `with StandIn(script) as server:`; `server.url` is the base URL."""

    def __init__(self, script: list[Step]) -> None:
        self.script = script
        self.requests: list[Recorded] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> StandIn:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def record(self, path: str, body: str, headers: dict[str, str]) -> None:
        with self._lock:
            self.requests.append(Recorded(path, body, headers))

    def everything_sent(self) -> str:
        """Every request body the agent sent, concatenated (to search for secrets)."""
        with self._lock:
            return "\n".join(r.body for r in self.requests)

    def credentials_seen(self) -> set[str]:
        """The API keys the agent authenticated with (x-api-key, Authorization: Bearer ...)."""
        with self._lock:
            found = set()
            for r in self.requests:
                headers = {k.lower(): v for k, v in r.headers.items()}
                for name in ("x-api-key", "x-goog-api-key"):
                    if name in headers:
                        found.add(headers[name])
                if headers.get("authorization", "").startswith("Bearer "):
                    found.add(headers["authorization"][7:])
            return found

    def model_turns(self) -> int:
        """How many scripted turns were asked for (requests carrying tools)."""
        with self._lock:
            return sum(1 for r in self.requests if _has_tools(r.body))

    def step_for(self, messages: list[dict]) -> Step:
        done = sum(1 for m in messages if m.get("role") in ("assistant", "model"))
        return self.script[min(done, len(self.script) - 1)]


def _has_tools(body: str) -> bool:
    try:
        return bool(json.loads(body).get("tools"))
    except (ValueError, AttributeError):
        return False


def _handler_for(standin: StandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:  # quiet test output
            pass

        def do_GET(self) -> None:
            standin.record(self.path, "", dict(self.headers.items()))
            self._json(200, {})

        def do_HEAD(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode("utf-8", "replace") if length else ""
            standin.record(self.path, body, dict(self.headers.items()))
            try:
                request = json.loads(body) if body else {}
            except ValueError:
                request = {}
            path = self.path.split("?", 1)[0]
            if path.endswith("/messages/count_tokens"):
                self._json(200, {"input_tokens": 10})
            elif path.endswith("/messages"):
                self._anthropic(request)
            elif path.endswith("/chat/completions"):
                self._openai_chat(request)
            elif path.endswith(":countTokens"):
                self._json(200, {"totalTokens": 10})
            elif path.endswith((":generateContent", ":streamGenerateContent")):
                self._gemini(request, stream=path.endswith(":streamGenerateContent"))
            else:
                self._json(200, {})

        # -- Anthropic Messages ---------------------------------------------------

        def _anthropic(self, request: dict) -> None:
            step = standin.step_for(request.get("messages", [])) if request.get("tools") else say("ok")
            if step.tool is not None:
                block = {"type": "tool_use", "id": f"toolu_{uuid.uuid4().hex[:20]}", "name": step.tool,
                         "input": step.input}
                stop = "tool_use"
            else:
                block = {"type": "text", "text": step.text}
                stop = "end_turn"
            message = {"id": f"msg_{uuid.uuid4().hex[:20]}", "type": "message", "role": "assistant",
                       "model": request.get("model", "stand-in"), "stop_reason": stop,
                       "stop_sequence": None, "usage": {"input_tokens": 10, "output_tokens": 10}}
            if not request.get("stream"):
                self._json(200, {**message, "content": [block]})
                return
            start_block = {**block, "input": {}} if step.tool else {**block, "text": ""}
            delta = ({"type": "input_json_delta", "partial_json": json.dumps(step.input)} if step.tool
                     else {"type": "text_delta", "text": step.text})
            self._events([
                ("message_start", {"type": "message_start",
                                   "message": {**message, "content": [], "stop_reason": None}}),
                ("content_block_start", {"type": "content_block_start", "index": 0,
                                         "content_block": start_block}),
                ("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": delta}),
                ("content_block_stop", {"type": "content_block_stop", "index": 0}),
                ("message_delta", {"type": "message_delta", "delta": {"stop_reason": stop,
                                                                      "stop_sequence": None},
                                   "usage": {"output_tokens": 10}}),
                ("message_stop", {"type": "message_stop"}),
            ])

        # -- OpenAI Chat Completions ----------------------------------------------

        def _openai_chat(self, request: dict) -> None:
            step = standin.step_for(request.get("messages", [])) if request.get("tools") else say("ok")
            ident = f"chatcmpl-{uuid.uuid4().hex[:20]}"
            base = {"id": ident, "object": "chat.completion.chunk", "created": 0,
                    "model": request.get("model", "stand-in")}
            if step.tool is not None:
                call = {"index": 0, "id": f"call_{uuid.uuid4().hex[:20]}", "type": "function",
                        "function": {"name": step.tool, "arguments": json.dumps(step.input)}}
                delta, finish = {"role": "assistant", "content": None, "tool_calls": [call]}, "tool_calls"
            else:
                delta, finish = {"role": "assistant", "content": step.text}, "stop"
            if not request.get("stream"):
                message = {k: v for k, v in delta.items() if k != "tool_calls"}
                if step.tool is not None:
                    message["tool_calls"] = [{k: v for k, v in call.items() if k != "index"}]
                self._json(200, {**base, "object": "chat.completion",
                                 "choices": [{"index": 0, "message": message, "finish_reason": finish}],
                                 "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20}})
                return
            chunks = [{**base, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]},
                      {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": finish}],
                       "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20}}]
            self._events([(None, chunk) for chunk in chunks], done=True)

        # -- Gemini ----------------------------------------------------------------

        def _gemini(self, request: dict, stream: bool) -> None:
            # Without tools it is a side question (Gemini CLI asks who speaks next, in JSON).
            step = (standin.step_for(request.get("contents", [])) if request.get("tools")
                    else say('{"reasoning": "the task is done", "next_speaker": "user"}'))
            part = ({"functionCall": {"name": step.tool, "args": step.input}} if step.tool is not None
                    else {"text": step.text})
            response = {"candidates": [{"content": {"role": "model", "parts": [part]}, "finishReason": "STOP",
                                        "index": 0}],
                        "usageMetadata": {"promptTokenCount": 10, "candidatesTokenCount": 10,
                                          "totalTokenCount": 20},
                        "modelVersion": "stand-in"}
            if stream:
                self._events([(None, response)])
            else:
                self._json(200, response)

        # -- wire ----------------------------------------------------------------

        def _json(self, status: int, data: object) -> None:
            payload = json.dumps(data).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def _events(self, events: list[tuple[str | None, dict]], done: bool = False) -> None:
            lines = []
            for name, data in events:
                if name:
                    lines.append(f"event: {name}\n")
                lines.append(f"data: {json.dumps(data)}\n\n")
            if done:
                lines.append("data: [DONE]\n\n")
            payload = "".join(lines).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    return Handler
