"""Times of the browser demo on this machine, and the README's screenshots of the real page:

    python benchmarks/app_times.py OUT_DIR [APP FLAGS]

Starts ``python app.py`` (the shipped model; APP FLAGS are passed on, e.g. ``--mouths
weights/smile_mouths.safetensors`` for what a fresh clone without a mouth bank gets) on a free port, loads the
page 3 times in headless Chromium, uploads an LFW photo, moves the smile slider end to end 5 times (keyboard End /
Home), and writes OUT_DIR/times.json
(seconds: app start, page loads, upload to first edit, slider moves; and any request that left 127.0.0.1) with
OUT_DIR/app_edit.png and OUT_DIR/app_prior.png (the two tabs). Needs chromium and the shared LFW photos.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

ROOT = Path(__file__).resolve().parents[1]
PHOTO = ROOT.parent / "shared" / "data" / "lfw" / "photos" / "Aaron_Eckhart_0001.jpg"
VIEW = {"width": 1280, "height": 820}


def status_says(page: Page, text: str) -> None:
    page.wait_for_function("t => document.querySelector('#status textarea').value.includes(t)", arg=text,
                           timeout=60_000)


def main(out: Path, app_flags: list[str]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url, log = f"http://127.0.0.1:{port}", out / "app.log"
    start = time.perf_counter()
    with open(log, "w") as sink:
        proc = subprocess.Popen([sys.executable, "app.py", "--port", str(port), *app_flags], cwd=ROOT, stdout=sink,
                                stderr=subprocess.STDOUT)
    times: dict = {}
    try:
        while "serving on http://127.0.0.1:" not in log.read_text():
            if proc.poll() is not None:
                raise SystemExit(log.read_text())
            time.sleep(0.1)
        times["app_start_s"] = time.perf_counter() - start
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=["--no-sandbox"])
            loads = []
            for _ in range(3):
                page = browser.new_page(viewport=VIEW)
                t = time.perf_counter()
                page.goto(url)
                page.locator("#smile input[type=range]").wait_for()
                loads.append(time.perf_counter() - t)
                page.close()
            times["page_load_s"] = loads
            page = browser.new_page(viewport=VIEW)
            outside: list[str] = []
            page.on("request", lambda r: None if r.url.startswith((url, "data:", "blob:")) else outside.append(r.url))
            page.goto(url)
            slider = page.locator("#smile input[type=range]")
            slider.wait_for()
            t = time.perf_counter()
            page.locator("#photo input[type=file]").set_input_files(str(PHOTO))
            status_says(page, "set to smile +0.00")
            times["upload_to_first_edit_s"] = time.perf_counter() - t
            moves = []
            for key, value in [("End", "+1.00"), ("Home", "-1.00")] * 2 + [("End", "+1.00")]:
                slider.focus()
                t = time.perf_counter()
                slider.press(key)
                status_says(page, f"set to smile {value}")
                moves.append(time.perf_counter() - t)
            times["slider_move_s"] = moves
            times["status"] = page.locator("#status textarea").input_value()
            page.screenshot(path=str(out / "app_edit.png"))
            page.get_by_role("tab", name="Faces from the prior").click()
            page.locator("#prior_face img").wait_for()
            page.screenshot(path=str(out / "app_prior.png"))
            times["outside_requests"] = outside
            browser.close()
    finally:
        proc.terminate()
        proc.wait(30)
    (out / "times.json").write_text(json.dumps(times, indent=1))
    print(json.dumps(times, indent=1))


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "results" / "app_times", sys.argv[2:])
