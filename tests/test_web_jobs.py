"""restore.web without a server: the parts whose failures would be silent in the page."""

from __future__ import annotations

import threading

from gradio.context import LocalContext

from restore.web import _frame_reporter


def test_video_progress_reaches_the_request_from_the_writer_thread():
    """gr.Progress finds its request through context variables, which another thread does not see."""
    seen = []

    def progress(value, desc=None, unit=None):
        seen.append((LocalContext.event_id.get(None), value, desc))

    token = LocalContext.event_id.set("request-1")
    try:
        report = _frame_reporter(progress)
    finally:
        LocalContext.event_id.reset(token)
    writer = threading.Thread(target=lambda: [report(done, 4) for done in (0, 2)])
    writer.start()
    writer.join()
    assert [event for event, _, _ in seen] == ["request-1", "request-1"]
    assert seen[0][1:] == ((0, 4), "Frames")
    assert seen[1][1] == (2, 4) and seen[1][2].endswith("left)")
