"""Load on the web API: many clients at once against a real `python app.py`, its queue and its memory.

    python -m benchmarks.load [--weights DIR] [--clients 20] [--requests 5] [--size 128x128]
                              [--concurrency 2] [--queue-size 8] [--time-limit 300] [--json PATH]

Starts `python app.py --port <free> --weights DIR --concurrency C --queue-size Q` on 127.0.0.1 (the tests' server
helper, benchmarks/web_server.py), restores one photo to warm it up, then starts CLIENTS threads, each with its own
gradio_client.Client, that send REQUESTS photo requests each (/restore_photo; a black-and-white photo of --size,
so both models run), one after the other. A request succeeds (a PNG of the photo's size comes back), is refused
by the full queue (gradio_client's QueueError, from HTTP 503; counted, not retried) or fails (anything else,
a timeout included). Meanwhile the server's resident memory (VmRSS in /proc/PID/status) is sampled every 50 ms.
Afterwards one more request must succeed: the server still serves. Nothing is sent after --time-limit seconds
(those requests count as "not sent"). Without --weights: the repository's weights/ if it has a manifest, else the
tests' tiny models (benchmarks/tiny_models.py), built into a temporary folder.

Exit status 0 when no request failed, the last one succeeded and the peak RSS stayed under --max-rss-mb.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

from PIL import Image

from benchmarks.common import ROOT, Result, markdown_table, parse_size, report, sample_photo

SAMPLE_EVERY_S = 0.05


class MemorySampler(threading.Thread):
    """Samples a process's VmRSS (MB) until stopped; `peak_mb` and `last_mb` so far."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak_mb, self.last_mb = pid, 0.0, 0.0
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            self.last_mb = vm_rss_mb(self.pid)
            self.peak_mb = max(self.peak_mb, self.last_mb)
            self._stop_event.wait(SAMPLE_EVERY_S)

    def stop(self) -> None:
        self._stop_event.set()
        self.join()


def vm_rss_mb(pid: int) -> float:
    """Resident memory of process `pid` in MB (10^6 bytes), from /proc; 0 once it is gone."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024 / 1e6
    except OSError:
        pass
    return 0.0


def percentile(values: list[float], q: int) -> float | None:
    if not values:
        return None
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


def default_weights(tmp: Path) -> Path:
    """The repository's weights/ if it has a manifest, else the tests' tiny models in `tmp`."""
    if (ROOT / "weights" / "manifest.json").is_file():
        return ROOT / "weights"
    from benchmarks.tiny_models import write_weights

    return write_weights(tmp / "tiny-weights")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Many clients at once against the web API: queue, latency, memory.")
    parser.add_argument(
        "--weights", type=Path, help="weights folder (default: weights/ if it has a manifest, else tiny)"
    )
    parser.add_argument("--clients", type=int, default=20, help="concurrent clients (threads)")
    parser.add_argument("--requests", type=int, default=5, help="photo requests per client, one after the other")
    parser.add_argument("--size", type=parse_size, default=(128, 128), metavar="WxH", help="photo size (128x128)")
    parser.add_argument("--concurrency", type=int, default=2, help="the server's --concurrency")
    parser.add_argument("--queue-size", type=int, default=8, help="the server's --queue-size")
    parser.add_argument("--device", default="cpu", choices=("auto", "cpu", "cuda"), help="the server's --device")
    parser.add_argument("--time-limit", type=float, default=300.0, help="send nothing after this many seconds")
    parser.add_argument("--max-rss-mb", type=float, default=2000.0, help="fail if the server's peak RSS is above")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write all results as JSON here")
    args = parser.parse_args(argv)
    from gradio_client import Client

    from benchmarks.web_server import concurrent_requests, request_photo, running_server

    height, width = args.size
    size = (width, height)  # as Pillow gives it
    with tempfile.TemporaryDirectory(prefix="revive-load-") as tmp_name:
        tmp = Path(tmp_name)
        weights = args.weights or default_weights(tmp)
        photo = tmp / "photo.png"
        Image.fromarray(sample_photo(height, width, gray=True)).save(photo)
        server_args = ["--concurrency", str(args.concurrency), "--queue-size", str(args.queue_size)]
        server_args += ["--device", args.device, "--max-pixels", str(max(height * width, 250_000))]
        server_args += ["--max-file-size", str(max(1.0, 2 * photo.stat().st_size / 1e6))]
        print(f"server: {weights}, {' '.join(server_args)}", file=sys.stderr, flush=True)
        with running_server(weights, tmp, args=server_args) as server:
            sampler = MemorySampler(server.process.pid)
            sampler.start()
            warm = request_photo(Client(server.url, verbose=False, download_files=str(tmp / "a")), photo, size, 120)
            baseline_mb = vm_rss_mb(server.process.pid)
            deadline = time.monotonic() + args.time_limit
            load = concurrent_requests(server.url, photo, size, args.clients, args.requests, deadline)
            after_mb = vm_rss_mb(server.process.pid)
            last = request_photo(Client(server.url, verbose=False, download_files=str(tmp / "b")), photo, size, 120)
            sampler.stop()
    counts = Counter("failed" if outcome.startswith("failed") else outcome for outcome, _ in load["outcomes"])
    ok = [seconds for outcome, seconds in load["outcomes"] if outcome == "ok"]
    refused = [seconds for outcome, seconds in load["outcomes"] if outcome == "refused"]
    failures = sorted({outcome for outcome, _ in load["outcomes"] if outcome.startswith("failed")})
    results: Result = {
        "clients": args.clients,
        "requests_per_client": args.requests,
        "photo": f"{width}x{height}",
        "concurrency": args.concurrency,
        "queue_size": args.queue_size,
        "weights": str(weights),
        "ok": counts["ok"],
        "refused": counts["refused"],
        "failed": counts["failed"],
        "not_sent": counts["not sent"],
        "failures": failures,
        "latency_ok_p50_s": percentile(ok, 50),
        "latency_ok_p95_s": percentile(ok, 95),
        "latency_refused_p50_s": percentile(refused, 50),
        "server_rss_baseline_mb": baseline_mb,
        "server_rss_peak_mb": sampler.peak_mb,
        "server_rss_after_mb": after_mb,
        "total_s": load["seconds"],
        "warm_up": warm,
        "request_after_load": last,
    }
    headers = ["requests", "ok", "refused (queue full)", "failed", "not sent", "ok p50 s", "ok p95 s"]
    headers += ["refused p50 s", "server RSS: idle / peak / after MB", "total s", "request after"]
    row = [args.clients * args.requests, counts["ok"], counts["refused"], counts["failed"], counts["not sent"]]
    row += [results["latency_ok_p50_s"], results["latency_ok_p95_s"], results["latency_refused_p50_s"]]
    row += [f"{baseline_mb:.0f} / {sampler.peak_mb:.0f} / {after_mb:.0f}", load["seconds"], last]
    title = (
        f"Web API load: {args.clients} clients x {args.requests} photo requests ({width}x{height}), "
        f"--concurrency {args.concurrency} --queue-size {args.queue_size}"
    )
    report(title, markdown_table(headers, [row]), results, args.json)
    for failure in failures:
        print(f"- {failure}")
    healthy = not counts["failed"] and last == "ok" and sampler.peak_mb <= args.max_rss_mb
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main())
