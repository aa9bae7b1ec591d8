"""Children that must see Ctrl-C: start them with SIGINT at its default action.

A process started in the background by a non-interactive shell (``nohup cmd &``) ignores SIGINT,
its children inherit that, and Python then installs no KeyboardInterrupt handler: a test that
sends SIGINT to a child would find it ignored whoever launched the test run.
"""

from __future__ import annotations

import signal


def default_ctrl_c() -> None:
    """A ``preexec_fn``: SIGINT back to its default action in the child, before Python starts."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
