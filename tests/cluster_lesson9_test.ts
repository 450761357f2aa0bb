/**
 * Lesson 9 on the lab's 3-node cluster: it runs in the cluster run of
 * `deno task test` (KAFKA_BROKERS names the cluster's nodes, KAFKA_PORT and
 * LAB_CLUSTER_DIR find their processes), kills the group's coordinator and
 * then a partition leader, restarts each, and is checked with the
 * expectations of tests/lesson_checks.ts. Every node is up again at the end.
 */
import { lessonChecks, runLessonScript } from "./lesson_checks.ts";

const LESSON = "09-when-the-coordinator-dies";

Deno.test("lesson 9 runs in a terminal on the cluster: coordinator and leader killed, nothing lost", async () => {
  lessonChecks[LESSON](await runLessonScript(LESSON));
});
