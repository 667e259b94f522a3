"""A page of `rl-control monitor` without a browser: a websocket client that connects as
viser's page script does (its versioned subprotocol, then a camera message, which is when
viser counts a client) and reads every message the server pushes, drawing nothing.

It stands for a watcher whose browser renders on another machine: the monitor then does
all the work of a watched page (posing the robot, serialising and sending the scene), and
the rendering's own cost stays out of the measurement.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager


def _camera_message() -> bytes:
    import msgspec
    import viser._messages as messages

    camera = messages.ViewerCameraMessage(
        wxyz=(1.0, 0.0, 0.0, 0.0), position=(0.0, -2.2, 1.2), fov=1.0, near=0.01, far=100.0,
        image_height=480, image_width=640, look_at=(0.0, 0.0, 0.3), up_direction=(0.0, 0.0, 1.0),
    )  # fmt: skip
    return msgspec.msgpack.encode(camera.as_serializable_dict())


@contextmanager
def open_page(port: int, host: str = "127.0.0.1", timeout: float = 10.0) -> Iterator[list[int]]:
    """Connect a page to the viser server at ``port``, retrying for ``timeout`` s while the
    server is still binding its port; yields a one-item list counting the bytes received so
    far. Closed on leaving."""
    import viser
    from websockets.exceptions import ConnectionClosed
    from websockets.sync.client import connect

    received = [0]
    end = time.monotonic() + timeout
    while True:
        try:
            ws = connect(f"ws://{host}:{port}", subprotocols=[f"viser-v{viser.__version__}"],
                         max_size=None)  # fmt: skip
            break
        except OSError:
            if time.monotonic() > end:
                raise
            time.sleep(0.1)
    ws.send(_camera_message())

    def read() -> None:
        try:
            for message in ws:
                received[0] += len(message)
        except ConnectionClosed:
            pass

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        yield received
    finally:
        ws.close()
        reader.join(5)
