"""Approvals: a paused request waits here for a person's answer, or the timeout.

The supervisor calls `Broker.ask` from the thread that holds the request; the
prompt (`jail.approve.app`, imported only when a prompt is needed) and `jail
approve` over the socket (`server`, `client`) answer it. Nothing in this
package touches the sandbox: requests come in as data, a Decision goes out.
"""

from jail.approve.broker import Broker
from jail.approve.grants import GrantStore, command_pattern, propose_always, render_always_diff
from jail.approve.request import (
    Answer,
    ApprovalRequest,
    Decision,
    ProcessLink,
    ProfileEdit,
    RequestClosed,
    RequestOpened,
)

__all__ = ["Answer", "ApprovalRequest", "Broker", "Decision", "GrantStore", "ProcessLink", "ProfileEdit",
           "RequestClosed", "RequestOpened", "command_pattern", "propose_always", "render_always_diff"]
