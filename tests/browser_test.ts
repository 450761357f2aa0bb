/**
 * Lesson 1 in a real browser: `deno task notebook` serves JupyterLab, the
 * system's Chromium (Debian's `chromium`, driven by Playwright for Python from
 * the project venv) opens the lesson and runs all its cells, and the table,
 * the SVG diagram and no error must show. Outside CI it is skipped, saying
 * so, when Chromium is not installed; in CI (`CI` set, as `.ci/run` runs
 * there, installing it) it always runs.
 */
import { ensureJupyter, jupyterEnv } from "../lib/platform/jupyter.ts";
import {
  isFileSync,
  mkdirp,
  projectPath,
  scriptRunner,
  spawnProcess,
} from "../lib/platform/runtime.ts";
import { assertEquals, assertTrue } from "./assert.ts";
import { testBrokers } from "./harness.ts";

const CHROMIUM = "/usr/bin/chromium";
const LESSON = "notebooks/01-what-is-a-consumer-group.ipynb";
const SCREENSHOT = projectPath(".lab/browser/lesson-01.png");
const chromiumMissing = !isFileSync(CHROMIUM) && !Deno.env.get("CI");
if (chromiumMissing) {
  console.log(`browser test skipped: no ${CHROMIUM} (apt-get install chromium; CI installs it)`);
}

/** A TCP port nothing listens on now. */
function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  listener.close();
  return (listener.addr as Deno.NetAddr).port;
}

/** Polls JupyterLab's status API until it answers, at most `timeoutMs`. */
async function serverAnswers(base: string, token: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ok = await fetch(`${base}/api/status?token=${token}`).then((r) =>
      r.body?.cancel().then(() => r.ok)
    )
      .catch(() => false);
    if (ok) return true;
    await new Promise((r) => setTimeout(r, 300));
  }
  return false;
}

Deno.test({
  name: "lesson 1 runs in JupyterLab in Chromium: the table and the diagram render, no error",
  ignore: chromiumMissing,
  async fn() {
    assertTrue(
      isFileSync(CHROMIUM),
      `${CHROMIUM} is installed (.ci/run: apt-get install chromium)`,
    );
    await ensureJupyter("requirements-browser.txt");
    const settings = await Deno.makeTempDir({ prefix: "lab-browser-" });
    // Outputs stay in the browser: the committed lesson is never saved with them.
    await mkdirp(`${settings}/user/@jupyterlab/docmanager-extension`);
    Deno.writeTextFileSync(
      `${settings}/user/@jupyterlab/docmanager-extension/plugin.jupyterlab-settings`,
      '{ "autosave": false }',
    );
    const lessonBefore = Deno.readTextFileSync(projectPath(LESSON));
    const port = freePort();
    const token = crypto.randomUUID();
    const serverLines: string[] = [];
    const server = spawnProcess(scriptRunner()[0], [
      ...scriptRunner().slice(1),
      projectPath("scripts/jupyter.ts"),
      "notebook",
      "--no-browser",
      `--port=${port}`,
      `--IdentityProvider.token=${token}`,
      "--LabApp.expose_app_in_browser=True",
      `--LabApp.user_settings_dir=${settings}/user`,
      `--LabApp.workspaces_dir=${settings}/workspaces`,
    ], {
      env: { KAFKA_BROKERS: (await testBrokers()).join(","), ...jupyterEnv() },
      onLine: (line) => serverLines.push(line),
    });
    try {
      const base = `http://127.0.0.1:${port}`;
      assertTrue(
        await serverAnswers(base, token, 60_000),
        `JupyterLab did not answer: ${serverLines.slice(-5).join(" | ")}`,
      );
      await mkdirp(projectPath(".lab/browser"));
      const started = Date.now();
      const out = await new Deno.Command(projectPath(".venv/bin/python"), {
        args: [
          projectPath("jupyter/browser_lesson.py"),
          `${base}/lab/tree/${LESSON}?token=${token}`,
          SCREENSHOT,
          "90",
        ],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const stdout = new TextDecoder().decode(out.stdout).trim();
      const stderr = new TextDecoder().decode(out.stderr).trim();
      assertEquals(out.code, 0, stderr.split("\n").at(-1));
      const report = JSON.parse(stdout);
      console.log(
        `${LESSON} in Chromium: ${JSON.stringify(report)} in ` +
          `${((Date.now() - started) / 1000).toFixed(1)} s; screenshot ${SCREENSHOT}`,
      );
      assertEquals(report.errors, [], "no cell shows an error");
      assertEquals(report.ran, report.cells, "every code cell ran");
      assertTrue(report.tables >= 2, `the produced orders and the members' tables render`);
      assertTrue(report.svgs >= 1, "the assignment diagram renders as SVG");
      assertEquals(
        serverLines.filter((l) => /yarn configuration|require is not defined/.test(l)),
        [],
        "JupyterLab's Node helpers run",
      );
    } finally {
      server.kill("SIGTERM");
      await server.exited;
      await Deno.remove(settings, { recursive: true });
    }
    assertEquals(Deno.readTextFileSync(projectPath(LESSON)), lessonBefore, "lesson left clean");
  },
});
