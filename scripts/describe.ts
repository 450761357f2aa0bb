/**
 * `deno task describe`: what `kafka-consumer-groups.sh --describe` shows, plus
 * a lag status per partition and the partitions → members diagram.
 *
 * @module
 */
import {
  BROKERS_FLAG,
  groupFlag,
  intFlag,
  parseFlags,
  runMain,
  UsageError,
} from "../lib/cli/flags.ts";
import { createKafka, requireBroker, resolveBrokers } from "../lib/kafka/config.ts";
import {
  coordinatorText,
  findCoordinator,
  offsetsPartitionLine,
  offsetsPartitionOf,
} from "../lib/inspect/coordinator.ts";
import {
  groupDiagrams,
  membersTable,
  offsetsTable,
  sampleGroups,
  shareOffsetsTable,
  stateTable,
} from "../lib/inspect/describe.ts";
import { groupApisFor, type GroupSnapshot } from "../lib/inspect/groups.ts";
import { Table } from "../lib/platform/render.ts";
import { args } from "../lib/platform/runtime.ts";

/** How Kafka's tools name a group: share groups are not consumer groups. */
function groupNoun(snapshot: GroupSnapshot): string {
  return snapshot.type === "share" ? "Share group" : "Consumer group";
}

await runMain(async () => {
  const { values } = parseFlags(args(), "deno task describe", {
    group: { type: "string", help: "the group to describe" },
    "all-groups": { type: "boolean", help: "describe every group" },
    list: { type: "boolean", help: "list the groups" },
    members: { type: "boolean", help: "members and their assignments" },
    state: { type: "boolean", help: "state, assignment strategy, member count" },
    samples: {
      type: "string",
      default: "3",
      help: "observations for the lag STATUS column (1 = none)",
    },
    "interval-ms": { type: "string", default: "500", help: "time between observations" },
    "no-diagram": { type: "boolean", help: "leave out the diagram" },
    brokers: BROKERS_FLAG,
  });
  const brokers = resolveBrokers(values.brokers as string | undefined);
  const samples = intFlag("--samples", values.samples, { min: 1, max: 100 });
  const intervalMs = intFlag("--interval-ms", values["interval-ms"], { min: 0, max: 60_000 });
  if (!values.list && !values["all-groups"] && values.group === undefined) {
    throw new UsageError("say which group: --group G, --all-groups, or --list");
  }
  await requireBroker(brokers);
  const admin = createKafka({ brokers, clientId: "lab-describe" }).admin();
  await admin.connect();
  try {
    const groups = await (await groupApisFor(admin)).listGroups();
    if (values.list) {
      console.log(
        String(
          new Table(
            ["GROUP", "TYPE", "PROTOCOL", "STATE"],
            groups.map((g) => [g.groupId, g.type, g.protocolType, g.state]),
          ),
        ),
      );
      return;
    }
    const groupIds = values["all-groups"]
      ? groups.filter((g) => g.protocolType === "consumer" || g.type === "share").map((g) =>
        g.groupId
      )
      : [groupFlag("--group", values.group)];
    const { snapshots, tracker } = await sampleGroups(
      admin,
      groupIds,
      values.members || values.state ? 1 : samples,
      intervalMs,
    );
    // Kafka's tools print each type of group with its own columns.
    const byType = Map.groupBy(snapshots, (s) => s.type ?? "classic");
    for (const [type, ofType] of byType) {
      if (values.state) {
        const coordinators: Record<string, string> = {};
        for (const { groupId } of ofType) {
          coordinators[groupId] = coordinatorText(await findCoordinator(brokers, groupId));
        }
        console.log(String(stateTable(ofType, coordinators)));
        for (const { groupId } of ofType) {
          console.log(offsetsPartitionLine(await offsetsPartitionOf(admin, groupId)));
        }
        continue;
      }
      for (const snapshot of ofType.filter((s) => s.members.length === 0)) {
        console.log(`${groupNoun(snapshot)} '${snapshot.groupId}' has no active members.`);
      }
      if (values.members) {
        console.log(String(membersTable(ofType)));
        continue;
      }
      if (type === "share") {
        console.log(String(shareOffsetsTable(ofType)));
        continue;
      }
      console.log(String(offsetsTable(ofType, samples > 1 ? tracker : undefined)));
      if (!values["no-diagram"]) {
        for (const snapshot of ofType) {
          for (const diagram of await groupDiagrams(admin, snapshot)) console.log(`\n${diagram}`);
        }
      }
    }
  } finally {
    await admin.disconnect();
  }
});
