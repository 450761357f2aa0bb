/**
 * Each lesson as a notebook-style script: `deno run -A notebooks/NN-name.ts`
 * runs it top to bottom in a terminal against the real broker, ends by itself
 * and prints as text what the notebook shows, checked with the notebook's own
 * expectations (tests/lesson_checks.ts). Bun runs lesson 1 in bun_test.ts;
 * lesson 9 needs the 3-node cluster and runs in tests/cluster_lesson9_test.ts.
 */
import { lessonNames } from "../lib/platform/jupyter.ts";
import { CLUSTER_LESSONS, lessonChecks, runLessonScript } from "./lesson_checks.ts";

for (const lesson of (await lessonNames()).filter((l) => !CLUSTER_LESSONS.includes(l))) {
  Deno.test(`lesson ${lesson}.ts runs in a terminal and prints what the notebook shows`, async () => {
    lessonChecks[lesson](await runLessonScript(lesson));
  });
}
