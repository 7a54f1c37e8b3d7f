"""The running consumer's stop flag, for the few tasks that wait on purpose.

A graceful stop (Ctrl-C on `serve`, SIGINT to `socialpulse worker`) lets running tasks finish.
The reply queue's tick waits on purpose: it sends each reply at its planned second, up to 50 s
ahead, so a stop used to hang for as long as that tick had left (17 s on the demo, and
`socialpulse serve` gives up after 30). A task that waits does it on this flag instead, and
hands the work it had not started back to the queue when the flag is set.
"""

from __future__ import annotations

import threading

_flag = threading.Event()


def watch(flag: threading.Event) -> None:
    """Tasks in this process now wait on `flag` (the consumer's own stop flag)."""
    global _flag
    _flag = flag


def forget() -> None:
    """No consumer runs in this process any more: nothing asks a task to stop."""
    watch(threading.Event())


def stop_flag() -> threading.Event:
    """Set once the consumer running this process's tasks is stopping."""
    return _flag
