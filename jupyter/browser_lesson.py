"""Opens a lesson in JupyterLab in Chromium, runs all its cells, and reports.

Used by tests/browser_test.ts against a JupyterLab started with
`--LabApp.expose_app_in_browser=True`. Prints one JSON object: the number of
code cells, how many ran, the rendered tables and SVG diagrams, and the text of
every error output. Exit code 0 when it could look, 1 when it could not.

    .venv/bin/python jupyter/browser_lesson.py URL SCREENSHOT [TIMEOUT_S]
"""

import json
import sys

from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/bin/chromium"


def main(url: str, screenshot: str, timeout_s: float) -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 2400})
            page.set_default_timeout(timeout_s * 1000)
            page.goto(url)
            page.wait_for_selector(".jp-Notebook .jp-CodeCell")
            page.wait_for_function("window.jupyterapp?.shell?.currentWidget?.sessionContext?.session?.kernel")
            page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
            page.wait_for_function(
                """() => [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')]
                    .every((p) => /\\[\\d+\\]/.test(p.textContent))"""
            )
            report = page.evaluate(
                """() => {
                  const outputs = [...document.querySelectorAll('.jp-OutputArea-output')];
                  return {
                    cells: document.querySelectorAll('.jp-CodeCell').length,
                    ran: [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')]
                      .filter((p) => /\\[\\d+\\]/.test(p.textContent)).length,
                    tables: outputs.filter((o) => o.querySelector('table')).length,
                    svgs: outputs.filter((o) => o.querySelector('svg')).length,
                    errors: outputs
                      .filter((o) => o.matches('[data-mime-type="application/vnd.jupyter.stderr"]'))
                      .map((o) => o.textContent.trim().slice(0, 300)),
                  };
                }"""
            )
            page.screenshot(path=screenshot, full_page=True)
            print(json.dumps(report))
        finally:
            browser.close()


if __name__ == "__main__":
    try:
        main(sys.argv[1], sys.argv[2], float(sys.argv[3]) if len(sys.argv) > 3 else 90)
    except Exception as error:  # one line for the test's message, not a traceback
        print(f"error: {type(error).__name__}: {str(error).splitlines()[0]}", file=sys.stderr)
        sys.exit(1)
