/**
 * The member and producer scripts' flags, each set in one call: parsed,
 * validated (one-line usage errors), the broker checked and the topic
 * created, Ctrl+C and SIGTERM wired to a clean stop. What is left in
 * `scripts/consumer.ts` and `scripts/producer.ts` is the Kafka code.
 *
 * @module
 */
import type { KafkaConfig } from "kafkajs";
import {
  assignorFlag,
  DEFAULT_ASSIGNORS,
  REMOTE_ASSIGNORS,
  type RemoteAssignor,
  remoteAssignorFlag,
} from "../kafka/assignors.ts";
import {
  BROKERS_FLAG,
  exitOnUncaughtError,
  type FlagSpec,
  groupFlag,
  intFlag,
  parseFlags,
  stringFlag,
  topicFlag,
  UsageError,
} from "./flags.ts";
import {
  createKafka,
  kafkaConfig,
  ORDER_TOPIC,
  requireBroker,
  resolveBrokers,
} from "../kafka/config.ts";
import { clientIdFor, LAB_TIMING, type MemberOptions } from "../kafka/member.ts";
import { MAX_ORDER_BYTES, MAX_ORDER_INDEX } from "../kafka/orders.ts";
import { ProducerRun } from "../kafka/producer.ts";
import { newRunLog } from "../processes/runlog.ts";
import {
  appendTextFileSync,
  args,
  onParentExit,
  onSignal,
  RUNTIME_VERSION,
} from "../platform/runtime.ts";
import { ensureTopic } from "../kafka/topic.ts";

/** What `scripts/consumer.ts` needs from its flags; see {@linkcode memberSettings}. */
export interface MemberSettings {
  /** For `new Kafka(...)`: brokers, client id, TLS/SASL from the environment, quiet logging. */
  client: KafkaConfig;
  groupId: string;
  topic: string;
  /** False with `--commit manual`: the handler commits each message itself. */
  autoCommit: boolean;
  /** For `new GroupMember(...)`: the extras the other flags ask for. */
  member: MemberOptions;
  /** Called on Ctrl+C, SIGTERM, or when the process that started this one is gone. */
  onStop(listener: () => void): void;
}

/**
 * `deno task consumer`'s flags, validated; the broker answers and the topic
 * exists when it resolves. A bad flag ends the script with one line (exit 2),
 * and from then on so does any error nobody catches (exit 1).
 *
 * @example
 * ```ts
 * const { client, groupId, topic, autoCommit, member } = await memberSettings();
 * ```
 */
export function memberSettings(argv: string[] = args()): Promise<MemberSettings> {
  exitOnUncaughtError();
  return readMemberSettings(argv, "classic");
}

/** What `scripts/consumer_protocol.ts` needs: {@linkcode MemberSettings} and the broker's assignor. */
export interface ProtocolMemberSettings extends MemberSettings {
  /** `--assignor`: the assignor the broker runs for the group (`group.remote.assignor`). */
  remoteAssignor: RemoteAssignor;
}

/**
 * `deno task consumer-protocol`'s flags: those of {@linkcode memberSettings}
 * but for the consumer protocol (KIP-848), where the broker assigns and
 * times the group: `--assignor uniform|range` names the broker's assignor,
 * and there is no `--session-timeout-ms` or `--heartbeat-ms` (the broker's
 * `group.consumer.*` settings rule).
 *
 * @example
 * ```ts
 * const { groupId, topic, remoteAssignor, member } = await protocolMemberSettings();
 * ```
 */
export function protocolMemberSettings(argv: string[] = args()): Promise<ProtocolMemberSettings> {
  exitOnUncaughtError();
  return readMemberSettings(argv, "consumer") as Promise<ProtocolMemberSettings>;
}

const CLASSIC_FLAGS: Record<string, FlagSpec> = {
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
  assignor: {
    type: "string",
    default: DEFAULT_ASSIGNORS.join(","),
    help: "assignors offered, in order of preference: Kafka's range and roundrobin " +
      "(shared with Java/Python members), kafkajs (kafkajs's own RoundRobinAssigner)",
  },
};

const CONSUMER_PROTOCOL_FLAGS: Record<string, FlagSpec> = {
  assignor: {
    type: "string",
    default: REMOTE_ASSIGNORS[0],
    help: `the broker's assignor for the group: ${REMOTE_ASSIGNORS.join(" or ")}`,
  },
};

async function readMemberSettings(
  argv: string[],
  protocol: "classic" | "consumer",
): Promise<MemberSettings | ProtocolMemberSettings> {
  const command = protocol === "classic" ? "deno task consumer" : "deno task consumer-protocol";
  const { values } = parseFlags(argv, command, {
    ...(protocol === "classic" ? CLASSIC_FLAGS : CONSUMER_PROTOCOL_FLAGS),
    group: { type: "string", default: "billing-group", help: "consumer group id" },
    name: { type: "string", default: "Consumer", help: "name shown in output and as client id" },
    topic: { type: "string", default: ORDER_TOPIC, help: "topic to consume" },
    brokers: BROKERS_FLAG,
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
  });
  const brokers = resolveBrokers(values.brokers as string | undefined);
  const groupId = groupFlag("--group", values.group);
  const name = stringFlag("--name", values.name);
  const topic = topicFlag("--topic", values.topic);
  const classic = protocol === "classic";
  const sessionTimeoutMs = classic
    ? intFlag("--session-timeout-ms", values["session-timeout-ms"], { min: 1000 })
    : undefined;
  const heartbeatIntervalMs = classic
    ? intFlag("--heartbeat-ms", values["heartbeat-ms"], { min: 100 })
    : undefined;
  if (sessionTimeoutMs !== undefined && heartbeatIntervalMs! >= sessionTimeoutMs) {
    throw new UsageError(
      `--heartbeat-ms (${heartbeatIntervalMs}) must be less than --session-timeout-ms ` +
        `(${sessionTimeoutMs}): the group would evict a member between two heartbeats ` +
        "(a third of the session timeout or less is usual)",
    );
  }
  const recordFile = (values.record as string | undefined) ??
    await newRunLog(groupId, clientIdFor(name));
  try {
    appendTextFileSync(recordFile, ""); // refused now, not after joining the group
  } catch (error) {
    throw new UsageError(`--record '${recordFile}' cannot be written: ${(error as Error).message}`);
  }
  const processMs = intFlag("--process-ms", values["process-ms"], { max: 600_000 });
  const commit = values.commit;
  if (commit !== "auto" && commit !== "manual") {
    throw new UsageError(`--commit must be auto or manual, got '${commit}'`);
  }
  const maxBytes = intFlag("--max-bytes", values["max-bytes"], { min: 1 });
  const optionalCount = (flag: "max-messages" | "crash-after") =>
    values[flag] === undefined ? undefined : intFlag(`--${flag}`, values[flag], { min: 1 });
  const maxMessages = optionalCount("max-messages");
  const crashAfter = optionalCount("crash-after");
  const assignors = classic ? assignorFlag("--assignor", values.assignor) : undefined;
  const remoteAssignor = classic ? undefined : remoteAssignorFlag("--assignor", values.assignor);

  await createTopic(brokers, topic);
  console.log(`${name} starting (group ${groupId}, topic ${topic}, on ${RUNTIME_VERSION})`);
  return {
    client: kafkaConfig({ brokers, clientId: clientIdFor(name) }),
    groupId,
    topic,
    autoCommit: commit === "auto",
    ...(remoteAssignor ? { remoteAssignor } : {}),
    member: {
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
      crashAfter,
      maxMessages,
      recordFile,
      output: "lines",
    },
    onStop,
  };
}

/** What `scripts/producer.ts` needs from its flags; see {@linkcode producerSettings}. */
export interface ProducerSettings {
  /** For `new Kafka(...)`. */
  client: KafkaConfig;
  brokers: string[];
  topic: string;
  /** Index of the first order (order id 1000 + start). */
  start: number;
  count: number;
  intervalMs: number;
  /** `--poison`: first write one bad message of each kind. */
  poison: boolean;
  /** The run's retrying, pauses and Ctrl+C (`--give-up-ms`). */
  run: ProducerRun;
}

/**
 * `deno task producer`'s flags, validated; the broker answers and the topic
 * exists when it resolves. Errors end the script in one line, as in
 * {@linkcode memberSettings}.
 *
 * @example
 * ```ts
 * const { client, topic, start, count, intervalMs, run } = await producerSettings();
 * ```
 */
export function producerSettings(argv: string[] = args()): Promise<ProducerSettings> {
  exitOnUncaughtError();
  return readProducerSettings(argv);
}

async function readProducerSettings(argv: string[]): Promise<ProducerSettings> {
  const { values } = parseFlags(argv, "deno task producer", {
    count: { type: "string", default: "10", help: "how many orders to produce" },
    "interval-ms": { type: "string", default: "500", help: "pause between orders" },
    start: {
      type: "string",
      default: "0",
      help: "index of the first order (order id 1000 + start)",
    },
    topic: { type: "string", default: ORDER_TOPIC, help: "topic to produce to" },
    poison: {
      type: "boolean",
      help: "first write one bad message of each kind (members dead-letter them)",
    },
    "give-up-ms": {
      type: "string",
      default: "60000",
      help: "how long to keep retrying while the broker is away",
    },
    brokers: BROKERS_FLAG,
  });
  const brokers = resolveBrokers(values.brokers as string | undefined);
  const count = intFlag("--count", values.count, { min: 0, max: 10_000_000 });
  const intervalMs = intFlag("--interval-ms", values["interval-ms"], { min: 0, max: 3_600_000 });
  const start = intFlag("--start", values.start, { min: 0, max: MAX_ORDER_INDEX });
  if (count > 0 && start + count - 1 > MAX_ORDER_INDEX) {
    throw new UsageError(
      `--start ${start} with --count ${count} goes past order index ${MAX_ORDER_INDEX}, ` +
        "beyond which an order's amount (index × 10) is no longer an exact number",
    );
  }
  const topic = topicFlag("--topic", values.topic);
  const giveUpAfterMs = intFlag("--give-up-ms", values["give-up-ms"], { min: 0, max: 3_600_000 });
  await createTopic(brokers, topic);
  const stop = new AbortController();
  onStop(() => stop.abort());
  return {
    client: kafkaConfig({ brokers, clientId: "producer" }),
    brokers,
    topic,
    start,
    count,
    intervalMs,
    poison: values.poison === true,
    run: new ProducerRun({
      count,
      signal: stop.signal,
      giveUpAfterMs,
      onBrokerLost: (reason) =>
        console.log(
          `Producer lost the broker (${reason}); retrying for up to ${giveUpAfterMs / 1000} s...`,
        ),
    }),
  };
}

/** Checks that the broker answers and creates `topic` (3 partitions) if it is missing. */
async function createTopic(brokers: string[], topic: string): Promise<void> {
  await requireBroker(brokers);
  const admin = createKafka({ brokers, clientId: "lab-admin" }).admin();
  await admin.connect();
  try {
    await ensureTopic(admin, topic);
  } finally {
    await admin.disconnect();
  }
}

/** Ctrl+C, SIGTERM, or the parent process (a notebook kernel) gone: the same clean stop. */
function onStop(listener: () => void): void {
  for (const signal of ["SIGINT", "SIGTERM"] as const) onSignal(signal, listener);
  onParentExit(listener);
}
