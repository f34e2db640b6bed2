"""App cold start to first prediction, and peak memory, measured on this machine in one run.

    python benchmarks/app_startup.py

Needs Debian's Chromium (/usr/bin/chromium) and Playwright, like the browser tests.
Prints, without asserting:

* cold start: from launching ``streamlit run streamlit_app.py`` to the Diagnose page's
  prediction for the default sample being visible in headless Chromium (the browser is
  started first, so its own start-up is not counted). Target <= 3 s. Then to its Grad-CAM
  heat map, which a cold server draws after the answer.
* peak RSS of a fresh Python process that loads every bundled checkpoint and runs one
  prediction and one Grad-CAM with each (ru_maxrss). Target <= 1 GB.
* peak RSS of the streamlit server after serving that first prediction (VmHWM).
* the floor under each: ``benchmarks/floor_app.py`` (the same first text and upload caption, no model)
  started and timed the same way, the import of torch and pytorch-grad-cam after the server's
  libraries, and the RSS of those libraries with nothing loaded.
"""
from __future__ import annotations

import argparse
import datetime
import importlib
import json
import os
import platform
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
# The bars ("Fast on whatever CPU it lands on").
COLD_START_TARGET_S, HEAT_MAP_TARGET_S, UPLOAD_TARGET_S = 3.0, 4.0, 0.2
RSS_TARGET_MIB = 1024.0
#: The smallest Streamlit app with the Diagnose page's first text and upload caption: the floor of every figure.
FLOOR_APP = "benchmarks/floor_app.py"
#: What the server has imported once it has drawn a heat map: the floor of its memory and of the map's delay.
SERVER_LIBRARIES = ("streamlit", "plotly.graph_objects", "scipy.ndimage", "PIL.Image", "onnxruntime")
HEAT_MAP_LIBRARIES = ("torch", "pytorch_grad_cam")
APP_BACKENDS = {"onnx-graph": "ONNX Runtime fp32 graph (model.classifier.engines.graph), Grad-CAM in NumPy",
                "torch-fp32": "PyTorch fp32 (no graph beside the checkpoint)"}


def machine_facts() -> str:
    """Date, CPU, threads, load and library versions: the context every figure below belongs to."""
    import torch

    from model.evaluation.latency import cpu_model

    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (f"date: {datetime.datetime.now().astimezone().isoformat(timespec='seconds')}\n"
            f"machine: {cpu_model()}, {os.cpu_count()} CPUs, torch uses {torch.get_num_threads()} threads, "
            f"torch {torch.__version__}, Python {platform.python_version()}\n"
            f"load average before the run (1/5/15 min): {load}")


def cold_start() -> dict[str, float | None]:
    """Seconds from `streamlit run` to health, page load and visible prediction, the heat map, warm uploads and
    the server's peak RSS; then the same start and uploads for the minimal app (:data:`FLOOR_APP`)."""
    from playwright.sync_api import sync_playwright

    from benchmarks.browser_utils import CHROMIUM, CHROMIUM_ARGS, require_chromium, stop

    require_chromium()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        try:
            proc, url, started, times = started_app(page, "streamlit_app.py")
            try:
                # On a cold server the page answers first and draws the heat map after (model.classifier.heat_maps.gradcam)
                page.get_by_text("Grad-CAM for").first.wait_for(timeout=120_000)
                times["mapped"] = time.perf_counter() - started
                after_map = rss_mib("VmHWM", proc.pid)
                uploads = warm_uploads(page)
                first_page_rss = rss_mib("VmHWM", proc.pid)
                page_peaks = visit_every_page(page, url, proc.pid)
                result = {**times, "uploads": uploads, "server_rss": first_page_rss, "after_map": after_map,
                          "page_peaks": page_peaks, "server_rss_all_pages": rss_mib("VmHWM", proc.pid),
                          "server_rss_now": rss_mib("VmRSS", proc.pid)}
            finally:
                stop(proc)
            proc, _, _, floor = started_app(page, FLOOR_APP)
            try:
                result["floor"] = {**floor, "uploads": warm_uploads(page)}
            finally:
                stop(proc)
            return result
        finally:
            browser.close()


def started_app(page, script: str):
    """Launch `streamlit run <script>` with ``page`` blank, and time it to health, page load and the first
    "Prediction:" text. Returns the process, its URL, when it was launched and those seconds."""
    from benchmarks.browser_utils import RESULT_PATTERN, free_port, launch_streamlit, wait_healthy

    page.goto("about:blank")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    started = time.perf_counter()
    proc = launch_streamlit(port, script)
    wait_healthy(url, proc, timeout=120, poll=0.05)
    healthy = time.perf_counter() - started
    page.goto(url, wait_until="domcontentloaded")
    loaded = time.perf_counter() - started
    page.get_by_text(re.compile(RESULT_PATTERN)).first.wait_for(timeout=120_000)
    return proc, url, started, {"healthy": healthy, "loaded": loaded, "predicted": time.perf_counter() - started}


# Page-side clock: a MutationObserver notes when the caption enters the page. Playwright's own
# wait polls with back-off and added ~300-400 ms to every figure when it was used as the clock.
WATCH_CAPTION = """caption => {
  if (window.__captionWatch) window.__captionWatch.disconnect();
  window.__captionSeen = null;
  window.__captionWatch = new MutationObserver(() => {
    if (window.__captionSeen === null && document.body.innerText.includes(caption))
      window.__captionSeen = performance.now();
  });
  window.__captionWatch.observe(document.body, {subtree: true, childList: true, characterData: true});
  window.__uploadStarted = performance.now();
}"""


def warm_uploads(page) -> list[float]:
    """Seconds from handing each sample to the file input to its Grad-CAM caption being on the page (warm server).

    Each upload is waited for by its own caption, "Grad-CAM for “<class>”", which differs from the
    one before it (the default sample, glioma, goes last), so a stale result cannot end the wait.
    Both ends are read from the page's own clock (see ``WATCH_CAPTION``).
    """
    from model import DISPLAY_NAMES
    from model.views.catalog import bundled_samples

    page.get_by_text("Upload your own").click()
    file_input = page.locator("input[type=file]")
    file_input.wait_for(state="attached", timeout=60_000)
    seconds = []
    for sample in sorted(bundled_samples(), key=lambda s: s.label == "glioma"):
        caption = f"Grad-CAM for “{DISPLAY_NAMES[sample.label]}”"
        page.evaluate(WATCH_CAPTION, caption)
        file_input.set_input_files(str(sample.path))
        page.get_by_text(caption).first.wait_for(timeout=60_000)
        seconds.append(page.evaluate("window.__captionSeen - window.__uploadStarted") / 1000)
    return seconds


#: Each page after Diagnose, by its URL path (the comparison page runs every bundled model on the sample).
PAGES = ("model_card", "model_comparison", "data_evaluation")


def visit_every_page(page, url: str, pid: int) -> dict[str, float | None]:
    """Open every other page (a new session each, as a visitor following a link) and wait for its end;
    the server's peak RSS after each (where the peak is reached)."""
    from benchmarks.browser_utils import wait_until_page_ran

    peaks = {}
    for path in PAGES:
        page.goto(f"{url}/{path}", wait_until="domcontentloaded")
        wait_until_page_ran(page)
        peaks[path] = rss_mib("VmHWM", pid)
    return peaks


def rss_mib(field: str = "VmRSS", pid: int | str = "self") -> float | None:
    """A /proc/<pid>/status memory field (VmRSS now, VmHWM peak) in MiB (Linux), or None."""
    try:
        match = re.search(rf"^{field}:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text(), re.MULTILINE)
    except OSError:
        return None
    return int(match.group(1)) / 1024 if match else None


def load_every_model() -> None:
    """Child process: load each bundled checkpoint as the app does, predict + Grad-CAM once each; print RSS
    figures as JSON."""
    # The package first, as on the app's pages: it decides how torch is imported (no triton
    # on a machine without an NVIDIA device).
    import model  # noqa: F401

    after_package = rss_mib()
    from PIL import Image

    from model import load_app_classifier
    from model.paths import WEIGHTS_DIR
    from model.views.catalog import bundled_samples

    after_imports = rss_mib()
    image = Image.open(bundled_samples()[0].path).convert("RGB")
    checkpoints = sorted(WEIGHTS_DIR.glob("*.safetensors"))
    classifiers = [load_app_classifier(path) for path in checkpoints]
    for clf in classifiers:
        clf.predict_proba([image])
    answered = rss_mib(), "torch" in sys.modules
    for clf in classifiers:
        clf.explain(image)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # ru_maxrss is in KiB on Linux
    print(json.dumps({"package": after_package, "imports": after_imports, "answered": answered[0],
                      "torch_to_answer": answered[1], "steady": rss_mib(), "peak": peak,
                      "triton": sys.modules.get("triton") is not None, "models": [p.name for p in checkpoints],
                      "backends": sorted({clf.engine.name for clf in classifiers})}))


def import_libraries() -> None:
    """Child process: import what the server needs to answer, then time what it needs for a heat map; print
    those seconds (a cold server's map cannot come sooner after its answer) and the RSS with nothing loaded
    (the server cannot hold less once it has drawn a map) as JSON."""
    for name in SERVER_LIBRARIES:
        importlib.import_module(name)
    started = time.perf_counter()
    for name in HEAT_MAP_LIBRARIES:
        importlib.import_module(name)
    print(json.dumps({"seconds": time.perf_counter() - started, "rss": rss_mib()}))


def in_fresh_interpreter(flag: str) -> dict:
    """This script run with a hidden ``flag`` in a fresh interpreter, so that nothing else inflates its
    figures: the JSON line it prints last."""
    out = subprocess.run([sys.executable, __file__, flag], cwd=REPO, check=True,
                         capture_output=True, text=True).stdout.strip().splitlines()[-1]
    return json.loads(out)


def verdict(value: float | None, target: float) -> str:
    if value is None:
        return "not measured"
    return "meets the target" if value <= target else "MISSES the target"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--load-every-model", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--import-libraries", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.load_every_model or args.import_libraries:
        (load_every_model if args.load_every_model else import_libraries)()
        return
    print(machine_facts())
    mem = in_fresh_interpreter("--load-every-model")
    start = cold_start()
    libraries = in_fresh_interpreter("--import-libraries")
    print("inference backend of the app: " + ", ".join(APP_BACKENDS.get(b, b) for b in mem["backends"]))
    print_start(start, libraries)
    print_memory(mem, start, libraries)


def print_start(start: dict, libraries: dict) -> None:
    """The cold start and upload figures, each with the floor app's (or the libraries') beside it."""
    floor = start["floor"]
    print(f"cold start, `streamlit run` to health check ok:  {start['healthy']:7.2f} s "
          f"(floor app {floor['healthy']:.2f} s)")
    print(f"cold start, to Diagnose page loaded in Chromium: {start['loaded']:7.2f} s "
          f"(floor app {floor['loaded']:.2f} s)")
    print(f"cold start, to first prediction visible:         {start['predicted']:7.2f} s "
          f"(target <= {COLD_START_TARGET_S:.0f} s: {verdict(start['predicted'], COLD_START_TARGET_S)}; "
          f"floor app's first text {floor['predicted']:.2f} s)")
    print(f"cold start, to its Grad-CAM heat map visible:   {start['mapped']:7.2f} s "
          f"(target <= {HEAT_MAP_TARGET_S:.0f} s: {verdict(start['mapped'], HEAT_MAP_TARGET_S)}; "
          f"importing {', '.join(HEAT_MAP_LIBRARIES)} alone takes {libraries['seconds']:.2f} s, so "
          f"{start['predicted'] + libraries['seconds']:.2f} s at the soonest after this answer)")
    for who, uploads in (("warm server", start["uploads"]), ("  floor app", floor["uploads"])):
        if uploads:
            middle = sorted(uploads)[len(uploads) // 2]
            print(f"{who}, upload to result visible (Grad-CAM caption shown), median of {len(uploads)}: "
                  f"{middle * 1000:.0f} ms (all: {', '.join(f'{u * 1000:.0f}' for u in uploads)} ms; "
                  f"target <= {UPLOAD_TARGET_S * 1000:.0f} ms: {verdict(middle, UPLOAD_TARGET_S)})")
    print(f"  (floor app: {FLOOR_APP}, the same first text and caption with no model, timed the same way)")


def print_memory(mem: dict, start: dict, libraries: dict) -> None:
    print(f"peak RSS, Python with every bundled model loaded ({', '.join(mem['models'])}), "
          f"predict + Grad-CAM each: {mem['peak']:.1f} MiB "
          f"(target <= {RSS_TARGET_MIB:.0f} MiB: {verdict(mem['peak'], RSS_TARGET_MIB)})")
    print(f"  of which: RSS after `import model` {mem['package']:.1f} MiB, after PIL and the catalog "
          f"{mem['imports']:.1f} MiB, after one answer from each "
          f"({'torch loaded' if mem['torch_to_answer'] else 'no torch'}) {mem['answered']:.1f} MiB, steady after "
          f"their heat maps {mem['steady']:.1f} MiB; triton {'loaded' if mem['triton'] else 'not loaded'}")
    server = start["server_rss"]
    print("peak RSS, streamlit server after the first prediction: "
          + ("n/a (no /proc)" if server is None else f"{server:.1f} MiB")
          + f" (target <= {RSS_TARGET_MIB:.0f} MiB: {verdict(server, RSS_TARGET_MIB)})")
    print("  server peak RSS along the way: after the first heat map "
          f"{start['after_map']}, after the warm uploads {server}, "
          + ", ".join(f"after {path} {peak}" for path, peak in start["page_peaks"].items()) + " MiB")
    every = start["server_rss_all_pages"]
    print(f"peak RSS, streamlit server with every page visited ({', '.join(PAGES)} after Diagnose): "
          + ("n/a (no /proc)" if every is None else f"{every:.1f} MiB, {start['server_rss_now']:.1f} MiB resident now")
          + f" (target <= {RSS_TARGET_MIB:.0f} MiB: {verdict(every, RSS_TARGET_MIB)})")
    held = "n/a (no /proc)" if libraries["rss"] is None else f"{libraries['rss']:.1f} MiB"
    print(f"  floor: a fresh interpreter with {', '.join(SERVER_LIBRARIES + HEAT_MAP_LIBRARIES)} imported and nothing "
          f"loaded holds {held}")


if __name__ == "__main__":
    main()
