/**
 * One consumer group member, as its own process: the seed's consumer1.py and
 * consumer2.py. `deno task consumer1` is this script with
 * `--group billing-group --name "Consumer 1"`.
 *
 * Ctrl+C / SIGTERM leaves the group cleanly, so the others rebalance at once.
 *
 * @module
 */
import {
  BROKERS_FLAG,
  groupFlag,
  intFlag,
  LabError,
  parseFlags,
  runMain,
  stringFlag,
  topicFlag,
  UsageError,
} from "../lib/cli.ts";
import { createKafka, ORDER_TOPIC, requireBroker, resolveBrokers } from "../lib/kafka/config.ts";
import {
  clientIdFor,
  formatMemberEvent,
  GroupMember,
  LAB_TIMING,
  type MemberEvent,
} from "../lib/kafka/member.ts";
import {
  assignorFlag,
  DEFAULT_ASSIGNORS,
  explainInconsistentProtocol,
} from "../lib/kafka/assignors.ts";
import { ensureTopic } from "../lib/kafka/topic.ts";
import { appendToRunLog, newRunLog } from "../lib/processes/runlog.ts";
import { MAX_ORDER_BYTES } from "../lib/kafka/orders.ts";
import {
  appendTextFileSync,
  args,
  exit,
  onParentExit,
  onSignal,
  RUNTIME_VERSION,
} from "../lib/platform/runtime.ts";

await runMain(async () => {
  const { values } = parseFlags(args(), "deno task consumer", {
    group: { type: "string", default: "billing-group", help: "consumer group id" },
    name: { type: "string", default: "Consumer", help: "name shown in output and as client id" },
    topic: { type: "string", default: ORDER_TOPIC, help: "topic to consume" },
    brokers: BROKERS_FLAG,
    "session-timeout-ms": {
      type: "string",
      default: String(LAB_TIMING.sessionTimeoutMs),
      help: "how long the group waits for a silent member",
    },
    "heartbeat-ms": {
      type: "string",
      default: String(LAB_TIMING.heartbeatIntervalMs),
      help: "heartbeat interval",
    },
    record: {
      type: "string",
      help: "record every event as JSON lines here (default: a new file in .lab/runs/<group>/)",
    },
    "process-ms": { type: "string", default: "0", help: "simulated work per message (ms)" },
    commit: {
      type: "string",
      default: "auto",
      help: "auto: commit after each batch; manual: after each message",
    },
    "max-bytes": {
      type: "string",
      default: String(MAX_ORDER_BYTES),
      help: "larger values are bad messages (dead-lettered to <topic>.dlq)",
    },
    "max-messages": {
      type: "string",
      help: "leave the group cleanly after processing N messages",
    },
    "crash-after": {
      type: "string",
      help: "exit abruptly, without committing, after processing N messages",
    },
    assignor: {
      type: "string",
      default: DEFAULT_ASSIGNORS.join(","),
      help: "assignors offered, in order of preference: Kafka's range and roundrobin " +
        "(shared with Java/Python members), kafkajs (kafkajs's own RoundRobinAssigner)",
    },
  });
  const brokers = resolveBrokers(values.brokers as string | undefined);
  const groupId = groupFlag("--group", values.group);
  const name = stringFlag("--name", values.name);
  const topic = topicFlag("--topic", values.topic);
  const sessionTimeoutMs = intFlag("--session-timeout-ms", values["session-timeout-ms"], {
    min: 1000,
  });
  const heartbeatIntervalMs = intFlag("--heartbeat-ms", values["heartbeat-ms"], { min: 100 });
  if (heartbeatIntervalMs >= sessionTimeoutMs) {
    throw new UsageError(
      `--heartbeat-ms (${heartbeatIntervalMs}) must be less than --session-timeout-ms ` +
        `(${sessionTimeoutMs}): the group would evict a member between two heartbeats ` +
        "(a third of the session timeout or less is usual)",
    );
  }
  const runLog = (values.record as string | undefined) ??
    await newRunLog(groupId, clientIdFor(name));
  try {
    appendTextFileSync(runLog, ""); // refused now, not after joining the group
  } catch (error) {
    throw new UsageError(`--record '${runLog}' cannot be written: ${(error as Error).message}`);
  }
  const processMs = intFlag("--process-ms", values["process-ms"], { max: 600_000 });
  const commit = values.commit;
  if (commit !== "auto" && commit !== "manual") {
    throw new UsageError(`--commit must be auto or manual, got '${commit}'`);
  }
  const maxBytes = intFlag("--max-bytes", values["max-bytes"], { min: 1 });
  const maxMessages = values["max-messages"] === undefined
    ? undefined
    : intFlag("--max-messages", values["max-messages"], { min: 1 });
  const crashAfter = values["crash-after"] === undefined
    ? undefined
    : intFlag("--crash-after", values["crash-after"], { min: 1 });
  const assignors = assignorFlag("--assignor", values.assignor);

  await requireBroker(brokers);
  const admin = createKafka({ brokers, clientId: "lab-admin" }).admin();
  await admin.connect();
  try {
    await ensureTopic(admin, topic);
  } finally {
    await admin.disconnect();
  }

  let processed = 0;
  let failure: Extract<MemberEvent, { type: "crashed" }> | undefined;
  const leave = Promise.withResolvers<void>();
  console.log(`${name} starting (group ${groupId}, topic ${topic}, on ${RUNTIME_VERSION})`);
  const member = await GroupMember.start({
    brokers,
    groupId,
    name,
    topic,
    sessionTimeoutMs,
    heartbeatIntervalMs,
    processMs,
    commit,
    maxBytes,
    assignors,
    onEvent: (event) => {
      if (event.type === "crashed" && !event.restarting) {
        // kafkajs gave up (a non-retriable error): say why in one line and exit non-zero.
        appendToRunLog(runLog, event);
        failure = event;
        leave.resolve();
        return;
      }
      if (failure && event.type === "stopped") return; // it never joined: the error says why
      console.log(formatMemberEvent(event));
      appendToRunLog(runLog, event);
      if (event.type === "message") processed++;
      if (event.type === "message" && crashAfter !== undefined && processed >= crashAfter) {
        // A crash: no LeaveGroup, no commit of the batch in progress.
        console.log(`${name} crashes after ${processed} messages, before committing`);
        exit(137);
      }
      if (event.type === "message" && maxMessages !== undefined && processed >= maxMessages) {
        leave.resolve();
      }
    },
  });

  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    onSignal(signal, () => leave.resolve());
  }
  onParentExit(() => leave.resolve()); // started by a notebook kernel that is gone: leave too
  await leave.promise;
  await member.stop();
  if (failure?.kafkaError === "INCONSISTENT_GROUP_PROTOCOL") {
    const admin = createKafka({ brokers, clientId: "lab-admin" }).admin();
    await admin.connect();
    const protocol = await admin.describeGroups([groupId])
      .then((d) => d.groups[0]?.protocol || undefined, () => undefined)
      .finally(() => admin.disconnect());
    throw new LabError(`${name} ${explainInconsistentProtocol(groupId, assignors, protocol)}`);
  }
  if (failure) throw new LabError(`${name} stopped on an error: ${failure.error}`);
});
