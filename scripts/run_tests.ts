/**
 * `deno task test`: the whole suite against a real broker, ending with the
 * line `N passed, N failed`.
 *
 * The lessons run under the lab's real names (`order-events`,
 * `billing-group`, ...), so the test files that run them would disturb each
 * other and any test sharing their broker. With no `KAFKA_BROKERS` and no
 * arguments, the suite therefore runs as three `deno test` processes at once:
 * every file but those below against an embedded broker; the lesson files
 * (and the share-group tests, which mostly wait on the broker's timers)
 * against a second embedded broker; the cluster files
 * (`tests/cluster*_test.ts`, which kill nodes) against a 3-node cluster of
 * their own (lib/kafka/cluster.ts). The runs other than the cluster's get a
 * `LAB_CLUSTER_DIR` with no cluster in it, so that a learner's running
 * cluster is never theirs. Each labelled run keeps its members' run logs and
 * process notes in a runs folder of its own (`LAB_RUNS_DIR`): the lessons'
 * billing-group and lesson 9's on the cluster are two groups, and one run's
 * lesson must never take the other's members for leftovers (it stopped
 * them). Brokers this command started are stopped at the end.
 * With `KAFKA_BROKERS` (one cluster) or extra arguments (e.g.
 * `deno task test --filter idle`, or a file), it is one `deno test` run.
 *
 * @module
 */
import { stripVTControlCharacters } from "node:util";
import { brokerAddress, brokerPaths, startBroker, stopBroker } from "../lib/kafka/broker.ts";
import { type ClusterOptions, startCluster, stopCluster } from "../lib/kafka/cluster.ts";
import { requireDeno, runMain } from "../lib/cli/flags.ts";
import {
  args,
  env,
  listFiles,
  projectPath,
  spawnProcess,
  writeOutput,
} from "../lib/platform/runtime.ts";

/** Test files that run lessons, the demo or lesson 1 in a browser under the lab's real names. */
const LESSON_FILES = [
  "tests/notebooks_test.ts",
  "tests/lesson_scripts_test.ts",
  "tests/browser_test.ts",
  "tests/bun_test.ts",
];

/**
 * Files that spend their time waiting on the broker's timers (share-group
 * record locks, heartbeats): they run beside the lessons, on the lessons'
 * broker, so that the two runs take about as long.
 */
const BESIDE_THE_LESSONS = ["tests/share_test.ts"];

/** Test files that need the 3-node cluster (they kill and restart its nodes). */
const CLUSTER_FILES = /^tests\/cluster.*_test\.ts$/;

/**
 * One `deno test` run: its files (empty = all), its broker or cluster, and
 * its output while held back.
 */
interface Run {
  label: string;
  files: string[];
  brokerOptions?: { port: number; dataDir: string };
  cluster?: ClusterOptions & { port: number; dataDir: string };
  held?: [string, "stdout" | "stderr"][];
}

await runMain(async () => {
  const deno = requireDeno("deno task test");
  const extra = args();
  const shared = env("KAFKA_BROKERS") !== undefined;
  const runs: Run[] = [];
  if (shared || extra.length > 0) {
    runs.push({ label: "", files: [] });
  } else {
    const all = (await listFiles(projectPath("tests")))
      .filter((f) => f.endsWith("_test.ts")).sort().map((f) => `tests/${f}`);
    const second = [...LESSON_FILES, ...BESIDE_THE_LESSONS];
    runs.push(
      {
        label: "",
        files: all.filter((f) => !second.includes(f) && !CLUSTER_FILES.test(f)),
      },
      {
        label: "lessons and share groups",
        files: all.filter((f) => second.includes(f)),
        brokerOptions: lessonsBroker(brokerPaths().port + 100),
        held: [],
      },
      {
        label: "cluster",
        files: all.filter((f) => CLUSTER_FILES.test(f)),
        // Nodes on the main broker's port + 202 to + 207 and a folder of their own: never a
        // learner's cluster (+ 2 to + 7), which may be running.
        cluster: {
          port: brokerPaths().port + 200,
          dataDir: `${brokerPaths().stateDir}-cluster-tests`,
        },
        held: [],
      },
    );
  }
  const runsRoot = env("LAB_RUNS_DIR") ?? projectPath(".lab/runs");
  const started: Parameters<typeof stopBroker>[0][] = [];
  const clusters: ClusterOptions[] = [];
  const results = await Promise.all(runs.map(async (run) => {
    let testEnv: Record<string, string> = {};
    if (run.cluster) {
      const cluster = await startCluster({
        ...run.cluster,
        onProgress: (line) => console.log(`[cluster for the cluster tests] ${line}`),
      });
      clusters.push(run.cluster);
      testEnv = {
        KAFKA_BROKERS: cluster.brokers.join(","),
        KAFKA_PORT: String(run.cluster.port),
        LAB_CLUSTER_DIR: run.cluster.dataDir,
      };
    } else if (!shared) {
      const options = run.brokerOptions ?? {};
      const result = await startBroker({
        ...options,
        onProgress: (line) =>
          console.log(`[broker${run.label ? ` for ${run.label}` : ""}] ${line}`),
      });
      if (result.started) started.push(options);
      testEnv = {
        KAFKA_BROKERS: brokerAddress(brokerPaths(options)),
        ...(runs.length > 1 ? { LAB_CLUSTER_DIR: `${brokerPaths().stateDir}-no-cluster` } : {}),
      };
    }
    if (run.label) testEnv.LAB_RUNS_DIR = `${runsRoot}-${run.label.replaceAll(" ", "-")}`;
    let transcript = "";
    const tests = spawnProcess(deno, ["test", "-A", ...run.files, ...extra], {
      env: testEnv,
      onOutput: (text, stream) => {
        // The second run's output is shown whole when it ends, not interleaved.
        if (run.held) run.held.push([text, stream]);
        else writeOutput(text, stream);
        if (stream === "stdout") transcript += text;
      },
    });
    const code = await tests.exited;
    if (run.held) {
      const own = run.cluster ? "a cluster" : "a broker";
      console.log(`\n--- ${run.label}, on ${own} of their own: ${run.files.join(" ")}`);
      for (const [text, stream] of run.held) await writeOutput(text, stream);
    }
    return { code, ...countResults(transcript, code) };
  }));
  for (const options of started) await stopBroker(options);
  for (const options of clusters) await stopCluster(options);
  const passed = results.reduce((sum, r) => sum + r.passed, 0);
  const failed = results.reduce((sum, r) => sum + r.failed, 0);
  console.log(`${passed} passed, ${failed} failed`);
  return results.find((r) => r.code !== 0)?.code ?? 0;
});

/** The lessons' own embedded broker: another port, another state folder. */
function lessonsBroker(port: number) {
  return { port, dataDir: `${brokerPaths().stateDir}-lessons` };
}

/** deno test's own summary: "ok | 12 passed (3 steps) | 0 failed (5s)". */
function countResults(transcript: string, code: number) {
  const plain = stripVTControlCharacters(transcript);
  const summary = /(\d+) passed(?: \(\d+ steps?\))? \| (\d+) failed/.exec(plain);
  return {
    passed: Number(summary?.[1] ?? 0),
    failed: Number(summary?.[2] ?? (code === 0 ? 0 : 1)),
  };
}
