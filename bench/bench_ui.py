"""The web page in a real browser (Debian's chromium): (a) the first render of a 50-step
pipeline, against the 7-step SAR pipeline and against the page's own start (its HTML and
bundle loaded, DOMContentLoaded); (b) the delay from a step's status change on disk to its
colour change in the page, against one HTTP round trip of the page to the same server.

    python bench/bench_ui.py                 # 5 loads, 20 status changes
    python bench/bench_ui.py --loads 3 --changes 10

(b) is measured twice: a line appended to events.jsonl (the run folder contract) and a rewrite
of pipeline.json (runners that write no events.jsonl). The page's time is taken in the frame
after the attribute changed (requestAnimationFrame), the write's just before it, both from the
same wall clock. Prints times and ratios measured in this run; never asserts on time.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests" / "ui"))
from ui_support import CHROMIUM, CHROMIUM_ARGS, Server, start_server  # noqa: E402

STEP = """\
$schema: https://azuremlschemas.azureedge.net/latest/commandComponent.schema.json
type: command
name: relay
version: 0.1.0
inputs:
  first: {type: uri_folder, optional: true}
  second: {type: uri_folder, optional: true}
  tag: {type: integer, default: 0}
outputs:
  out: {type: uri_folder}
command: >-
  python -c "print(1)" ${{outputs.out}} ${{inputs.tag}}
  $[[${{inputs.first}}]] $[[${{inputs.second}}]]
"""


def big_pipeline(folder: Path, steps: int, width: int = 5) -> Path:
    """`steps` steps in layers of `width`; each reads one or two steps of the layer before."""
    (folder / "relay.yml").write_text(STEP)
    lines = ["type: pipeline", "display_name: fifty", "jobs:"]
    for i in range(steps):
        lines += [f"  s{i:02d}:", "    component: ./relay.yml", "    inputs:", f"      tag: {i}"]
        layer, slot = divmod(i, width)
        if layer:
            sources = {(layer - 1) * width + slot, (layer - 1) * width + (slot + 1) % width}
            for port, source in zip(("first", "second"), sorted(sources), strict=False):
                lines.append(f"      {port}: ${{{{parent.jobs.s{source:02d}.outputs.out}}}}")
    path = folder / "fifty.yml"
    path.write_text("\n".join(lines) + "\n")
    return path


def first_render(context: Any, url: str, loads: int) -> tuple[float, float]:
    """Median ms from navigation start to the graph drawn, and to DOMContentLoaded."""
    renders, shells = [], []
    for _ in range(loads):
        page = context.new_page()
        page.goto(url)
        page.wait_for_function("() => performance.getEntriesByName('runner-first-render').length")
        render, shell = page.evaluate(
            """() => [performance.getEntriesByName('runner-first-render')[0].startTime,
                      performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd]"""
        )
        renders.append(render)
        shells.append(shell)
        page.close()
    return statistics.median(renders), statistics.median(shells)


WATCH = """() => {
  window.__seen = {};
  new MutationObserver((changes) => {
    for (const change of changes) {
      const key = change.target.dataset.step + ':' + change.target.dataset.status;
      requestAnimationFrame(() => { window.__seen[key] = Date.now(); });
    }
  }).observe(document.querySelector('#nodes'), {attributes: true, subtree: true,
                                                 attributeFilter: ['data-status']});
}"""


def record(run: Path, source: Path, steps: dict[str, dict[str, object]]) -> None:
    data = {"pipeline": "fifty", "source": str(source), "status": "running", "steps": steps,
            "started_at": "2026-01-01T00:00:00.000+00:00"}  # fmt: skip
    tmp = run / ".pipeline.json.tmp"
    tmp.write_text(json.dumps(data))
    tmp.replace(run / "pipeline.json")


def append_event(run: Path, step: str, status: str) -> None:
    line = json.dumps({"step": step, "status": status, "at": "2026-01-01T00:00:01.000+00:00"})
    fd = os.open(run / "events.jsonl", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (line + "\n").encode())
    finally:
        os.close(fd)


def status_delays(
    page: Any, run: Path, source: Path, names: list[str], use_events: bool
) -> list[float]:
    steps: dict[str, dict[str, object]] = {name: {"status": "queued"} for name in names}
    delays = []
    for name in names:
        status = "running"
        written = time.time() * 1000
        if use_events:
            append_event(run, name, status)
        else:
            steps[name] = {"status": status}
            record(run, source, steps)
        page.wait_for_function(f"() => window.__seen['{name}:{status}']", timeout=10_000)
        delays.append(page.evaluate(f"() => window.__seen['{name}:{status}']") - written)
        time.sleep(0.05)  # changes apart, as a pipeline's are
    return delays


def round_trip(page: Any) -> float:
    return float(page.evaluate(
        """async () => {
            const token = document.querySelector('meta[name="runner-token"]').content;
            const times = [];
            for (let i = 0; i < 20; i++) {
                const start = performance.now();
                await fetch('/api/session?token=' + token);
                times.push(performance.now() - start);
            }
            times.sort((a, b) => a - b);
            return times[10];
        }"""
    ))  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--loads", type=int, default=5)
    parser.add_argument("--changes", type=int, default=20)
    parser.add_argument("--steps", type=int, default=50)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="bench-ui-") as scratch:
        ws = Path(scratch)
        big = big_pipeline(ws, args.steps)
        env = {**os.environ, "RUNNER_RUNS_DIR": str(ws / "runs")}
        server = start_server(["ui"], ws, env)
        sar = start_server(["pipeline", "view", str(REPO / "samples/sar/pipeline.yml")], ws, env)
        try:
            with sync_playwright() as playwright:
                context = playwright.chromium.launch_persistent_context(
                    str(ws / "profile"), executable_path=CHROMIUM, headless=True,
                    args=CHROMIUM_ARGS, viewport={"width": 1400, "height": 820},
                )  # fmt: skip
                report(context, server, sar, big, ws, args)
                context.close()
        finally:
            server.stop()
            sar.stop()


def report(context: Any, server: Server, sar: Server, big: Path, ws: Path, args: Any) -> None:
    url = f"{server.url}&p={big.name}"
    render_big, shell = first_render(context, url, args.loads)
    render_sar, _ = first_render(context, sar.url, args.loads)
    print(f"first render, median of {args.loads} loads (chromium, headless):")
    print(f"  page start (DOMContentLoaded)   {shell:8.1f} ms")
    print(f"  SAR, 7 steps                    {render_sar:8.1f} ms")
    ratios = f"{render_big / shell:.1f}x page start, {render_big / render_sar:.2f}x SAR"
    print(f"  {args.steps} steps                        {render_big:8.1f} ms   = {ratios}")

    run = ws / "runs" / "fifty-20260101-000000-bench00"
    run.mkdir(parents=True)
    names = [f"s{i:02d}" for i in range(args.steps)]
    record(run, big, {name: {"status": "queued"} for name in names})
    page = context.new_page()
    page.goto(url)
    page.wait_for_function("() => document.body.dataset.runStatus === 'running'")
    page.evaluate(WATCH)
    rtt = round_trip(page)
    chosen = names[: args.changes]
    by_events = status_delays(page, run, big, chosen, use_events=True)
    page.close()

    run2 = ws / "runs" / "fifty-20260101-000001-bench01"
    run2.mkdir()
    record(run2, big, {name: {"status": "queued"} for name in names})
    page = context.new_page()
    page.goto(url)
    page.wait_for_function(
        f"() => document.querySelector('#run-status').textContent.startsWith('{run2.name}')"
    )
    page.evaluate(WATCH)
    by_record = status_delays(page, run2, big, chosen, use_events=False)
    page.close()
    print(f"status change on disk -> colour in the page, {args.changes} changes:")
    print(f"  one HTTP round trip (median of 20)      {rtt:7.1f} ms")
    for label, delays in (("events.jsonl line", by_events), ("pipeline.json rewrite", by_record)):
        median, worst = statistics.median(delays), max(delays)
        print(f"  {label:<22} median {median:6.1f} ms, max {worst:6.1f} ms"
              f"   = {median / rtt:.1f}x a round trip")  # fmt: skip
    print(
        "(the server polls the run folder every 50 ms: the median is about half of that plus"
        " the frame)"
    )


if __name__ == "__main__":
    main()
