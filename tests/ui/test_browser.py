"""The page in a real browser (Debian's chromium, driven by Playwright): the SAR pipeline drawn
as `runner pipeline show --json` says, run from the page until every step succeeded, re-run
from the cache, a broken step failed with its log and re-run from it once fixed; a refused
connection; a two-step pipeline built from the palette, saved and run with the CLI; the same
with a registered module's non-default version picked in the palette, then another version
picked in the step panel.

Screenshots go to $RUNNER_UI_SCREENSHOTS (docs/screenshots holds the README's), else to the
test's temporary folder."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ui_support import (
    CHROMIUM,
    CHROMIUM_ARGS,
    REPO,
    Server,
    register,
    start_server,
    write_modules,
    write_versions,
)

pytestmark = pytest.mark.browser
SLOW = 300_000  # ms: a first SAR run builds its venv
TRAIN_SCRIPT = Path("sar", "modules", "train", "train_sar_entry.py")


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1400, "height": 820},
        )
        yield context
        context.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    chosen = os.environ.get("RUNNER_UI_SCREENSHOTS")
    folder = Path(chosen) if chosen else tmp_path_factory.mktemp("screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def sar(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Path]]:
    """A copy of the SAR sample (a test breaks a step of it), served with its own cache and
    runs folder for the whole module: one venv build for every test here."""
    ws = tmp_path_factory.mktemp("sar-ws")
    shutil.copytree(REPO / "samples" / "sar", ws / "sar", ignore=shutil.ignore_patterns("runs"))
    env = {**os.environ, "RUNNER_CACHE_DIR": str(ws / "cache"), "RUNNER_RUNS_DIR": str(ws / "runs")}
    env["RUNNER_ENV"] = "auto"
    server = start_server(["pipeline", "view", "sar/pipeline.yml"], ws, env)
    yield server, ws
    server.stop()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    page.close()
    assert not errors, errors


def statuses(page: Any) -> dict[str, str]:
    found: dict[str, str] = page.eval_on_selector_all(
        "[data-step]", "els => Object.fromEntries(els.map(e => [e.dataset.step, e.dataset.status]))"
    )
    return found


def run_name(page: Any) -> str:
    return str(page.inner_text("#run-status")).split(":")[0]


def wait_for_new_run(page: Any, before: str, done: list[str]) -> None:
    """Until a run other than `before` has ended with every step in one of `done`."""
    page.wait_for_function(
        """([before, done]) => {
            const badge = document.querySelector('#run-status').textContent.split(':')[0];
            const steps = [...document.querySelectorAll('[data-step]')];
            return badge && badge !== before && document.body.dataset.runStatus !== 'running'
                && steps.length && steps.every(e => done.includes(e.dataset.status));
        }""",
        arg=[before, done],
        timeout=SLOW,
    )


def open_sar(page: Any, server: Server) -> None:
    page.goto(server.url)
    page.wait_for_selector("[data-step]")
    page.wait_for_function("() => document.body.dataset.rendered")


def wait_for_text(page: Any, selector: str, start: str) -> None:
    """Until the element's text starts with `start` (the panel may be redrawn meanwhile)."""
    page.wait_for_function(
        "([selector, start]) => document.querySelector(selector)?.textContent.startsWith(start)",
        arg=[selector, start],
    )


def click_step(page: Any, name: str) -> None:
    page.click(f'[data-step="{name}"] rect.body')
    page.wait_for_selector(f'#detail-head h2:text-is("{name}")')
    page.wait_for_selector("#cache-key")


def test_sar_graph_is_the_show_json(page: Any, sar: tuple[Server, Path], shots: Path) -> None:
    server, ws = sar
    shown = subprocess.run(
        [sys.executable, "-m", "runner", "pipeline", "show", "sar/pipeline.yml", "--json"],
        cwd=ws, capture_output=True, text=True, check=True,
    )  # fmt: skip
    graph = json.loads(shown.stdout)
    open_sar(page, server)
    assert statuses(page) == {step["name"]: "pending" for step in graph["steps"]}
    edges = page.eval_on_selector_all("[data-edge]", "els => els.map(e => e.dataset.edge)")
    assert sorted(edges) == sorted(f"{e['from']}->{e['to']}" for e in graph["edges"])
    assert page.inner_text("#command-text") == "runner pipeline run sar/pipeline.yml"
    modules = page.eval_on_selector_all("#palette [data-module]", "els => els.length")
    assert modules >= 7
    page.screenshot(path=str(shots / "sar-before-run.png"))


def test_run_from_the_page_then_from_the_cache(
    page: Any, sar: tuple[Server, Path], shots: Path
) -> None:
    server, _ = sar
    open_sar(page, server)
    before = run_name(page)
    page.click("#run-pipeline")
    page.wait_for_selector('[data-step][data-status="running"]', timeout=SLOW)
    click_step(page, "split")
    page.screenshot(path=str(shots / "sar-running.png"))
    wait_for_new_run(page, before, ["succeeded"])
    assert set(statuses(page).values()) == {"succeeded"}
    click_step(page, "score")
    page.wait_for_function("() => document.querySelector('#step-log').dataset.ended")
    assert "score_sar_entry.py" in page.inner_text("#step-log")
    wait_for_text(page, "#why", "ran (key ")
    detail = page.inner_text("#step-detail")
    assert "recommendations" in detail
    assert "ran with 10" in detail  # top_k, bound to the pipeline input's value
    page.screenshot(path=str(shots / "sar-done.png"))

    first = run_name(page)
    page.click("#run-pipeline")
    wait_for_new_run(page, first, ["cached"])
    assert set(statuses(page).values()) == {"cached"}
    click_step(page, "train")
    wait_for_text(page, "#why", "would be served from the cache (key ")


def test_failed_step_then_rerun_from_it(page: Any, sar: tuple[Server, Path], shots: Path) -> None:
    server, ws = sar
    script = ws / TRAIN_SCRIPT
    original = script.read_text()
    script.write_text('raise SystemExit("broken on purpose")\n' + original)
    open_sar(page, server)
    before = run_name(page)
    page.click("#run-pipeline")
    wait_for_new_run(page, before, ["cached", "succeeded", "failed", "skipped"])
    found = statuses(page)
    assert found["split"] in ("cached", "succeeded")
    assert found["train"] == "failed"
    assert {found[n] for n in ("score", "map", "ndcg", "precision", "recall")} == {"skipped"}
    click_step(page, "train")
    page.wait_for_function("() => document.querySelector('#step-log').dataset.ended")
    assert "broken on purpose" in page.inner_text("#step-log")
    assert "exited with code 1" in page.inner_text("#step-detail .message")
    page.wait_for_selector("#stop[disabled]")  # the page's run ended: nothing to stop
    page.screenshot(path=str(shots / "sar-failed-selected.png"))

    script.write_text(original + "# fixed\n")  # a changed snapshot: train runs again
    failed = run_name(page)
    page.click("#rerun-from")
    assert page.inner_text("#command-text") == "runner pipeline run sar/pipeline.yml --from train"
    page.wait_for_function("() => document.body.dataset.job")
    wait_for_new_run(page, failed, ["cached", "succeeded"])
    found = statuses(page)
    assert found["split"] == "cached"  # upstream of the selection: from the cache
    assert found["train"] == "succeeded"


def port_center(page: Any, step: str, side: str, port: str) -> tuple[float, float]:
    box = page.locator(
        f'[data-step="{step}"] circle.port-{side}[data-port="{port}"]'
    ).bounding_box()
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def drag_wire(page: Any, start: tuple[float, float], end: tuple[float, float]) -> None:
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move(*end, steps=8)
    page.mouse.up()


def test_incompatible_ports_do_not_connect(page: Any, sar: tuple[Server, Path]) -> None:
    server, _ = sar
    open_sar(page, server)
    edges = page.eval_on_selector_all("[data-edge]", "els => els.length")
    drag_wire(
        page,
        port_center(page, "train", "out", "model"),
        port_center(page, "score", "in", "dataset_to_score"),
    )
    page.wait_for_selector("#notice:not([hidden])")
    assert page.inner_text("#notice") == (
        "cannot connect train.model -> score.dataset_to_score:"
        " ModelDirectory cannot feed DataFrameDirectory"
    )
    assert page.eval_on_selector_all("[data-edge]", "els => els.length") == edges
    assert page.evaluate("() => document.body.dataset.dirty") is None


def build_two_steps(page: Any, make: str, total: str) -> str:
    """A new pipeline of the palette items `make` (make_numbers) and `total` (sum_numbers),
    the numbers of one connected to the other; the edge's selector."""
    page.click("#new-pipeline")
    for item, name in ((make, "make_numbers"), (total, "sum_numbers")):
        page.drag_and_drop(item, "#canvas")
        page.wait_for_selector(f'[data-step="{name}"]')
    # The output of one to the input of the other (laid out again after each change).
    page.wait_for_function("() => document.querySelectorAll('[data-step]').length === 2")
    page.wait_for_timeout(300)
    drag_wire(
        page,
        port_center(page, "make_numbers", "out", "numbers"),
        port_center(page, "sum_numbers", "in", "numbers"),
    )
    edge = '[data-edge="make_numbers.numbers->sum_numbers.numbers"]'
    page.wait_for_selector(edge, state="attached")
    return edge


def test_build_a_pipeline_from_the_palette(
    page: Any, serve: Any, tmp_path: Path, shots: Path
) -> None:
    write_modules(tmp_path / "modules")
    server = serve(["ui"], tmp_path)
    page.goto(server.url)
    page.wait_for_selector("#palette [data-module]")
    build_two_steps(
        page,
        '#palette [data-module$="make_numbers.yml"]',
        '#palette [data-module$="sum_numbers.yml"]',
    )
    # A wrong connection is refused with the reason: a model is not a folder of numbers.
    click_step(page, "make_numbers")
    field = page.locator('#step-detail [data-param="count"]')
    assert field.get_attribute("min") == "1" and field.get_attribute("max") == "1000"
    field.fill("7")
    field.press("Tab")
    page.fill("#save-path", "two.yml")
    page.click("#save")
    page.wait_for_function("() => document.body.dataset.saved === 'two.yml'")
    page.screenshot(path=str(shots / "built-from-palette.png"))
    result = subprocess.run(
        [sys.executable, "-m", "runner", "pipeline", "run", "two.yml", "--json"],
        cwd=tmp_path, capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    total = json.loads(result.stdout)["steps"]["sum_numbers"]["outputs"]["total"]
    assert Path(total, "total.txt").read_text() == "28"


def run_saved(folder: Path, *args: str) -> str:
    """`runner pipeline run two.yml --json ARGS` on the saved file: the sum it computed."""
    result = subprocess.run(
        [sys.executable, "-m", "runner", "pipeline", "run", "two.yml", "--json", *args],
        cwd=folder, capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    total = json.loads(result.stdout)["steps"]["sum_numbers"]["outputs"]["total"]
    return Path(total, "total.txt").read_text()


def test_a_registered_version_from_the_palette(
    page: Any, serve: Any, tmp_path: Path, shots: Path
) -> None:
    """make_numbers 0.1.0 (the default) and 0.2.0 (counts from 11) in a registry of the test's
    own; the page offers both under one item, the default preselected."""
    registry = tmp_path / "registry"
    for spec in write_versions(tmp_path / "versions").values():
        register(spec, registry)
    ws = tmp_path / "ws"
    write_modules(ws / "modules")
    server = serve(["ui", "--registry", str(registry)], ws)
    page.goto(server.url)
    item = '#palette [data-origin="registry"][data-name="make_numbers"]'
    page.wait_for_selector(item)
    picker = page.locator(f"{item} select.version")
    assert picker.input_value() == "azureml:make_numbers:0.1.0"
    assert picker.locator("option").all_inner_texts() == ["0.1.0 (default)", "0.2.0"]
    picker.select_option("azureml:make_numbers:0.2.0")
    assert page.get_attribute(item, "data-module") == "azureml:make_numbers:0.2.0"
    edge = build_two_steps(page, item, '#palette [data-module$="sum_numbers.yml"]')
    page.fill("#save-path", "two.yml")
    page.click("#save")
    page.wait_for_function("() => document.body.dataset.saved === 'two.yml'")
    saved = (ws / "two.yml").read_text()
    assert "    component: azureml:make_numbers:0.2.0\n" in saved, saved
    assert run_saved(ws, "--registry", str(registry)) == "65"  # 11 + ... + 15: 0.2.0 ran

    # The saved step keeps its version in the panel; another one is written when picked.
    click_step(page, "make_numbers")
    assert page.input_value("#step-version") == "0.2.0"
    page.select_option("#step-version", "0.1.0")
    page.wait_for_function("() => document.body.dataset.dirty")
    page.wait_for_selector(edge, state="attached")  # the same ports: the edge stays
    page.screenshot(path=str(shots / "registered-version-picked.png"))
    page.evaluate("() => { delete document.body.dataset.saved; }")
    page.click("#save")
    page.wait_for_function("() => document.body.dataset.saved === 'two.yml'")
    saved = (ws / "two.yml").read_text()
    assert "    component: azureml:make_numbers:0.1.0\n" in saved, saved
    assert run_saved(ws, "--registry", str(registry)) == "15"


def test_the_browser_is_refused_without_the_token(page: Any, sar: tuple[Server, Path]) -> None:
    server, _ = sar
    assert page.goto(f"{server.base}/").status == 403
    assert page.goto(f"{server.base}/api/session").status == 403
    refused = page.goto(f"{server.base}/api/log?run=..&step=split&token={server.token}")
    assert refused.status == 400
    refused = page.goto(f"{server.base}/api/file?run=..&path=x&token={server.token}")
    assert refused.status == 403
