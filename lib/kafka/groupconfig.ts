/**
 * Per-group settings (KIP-848, KIP-932): a share group's
 * `share.auto.offset.reset`, `share.record.lock.duration.ms`,
 * `share.delivery.count.limit`... are configs of the GROUP resource, set with
 * the admin API's IncrementalAlterConfigs, not by the members. kafkajs knows
 * no GROUP resource, so this runs Kafka's own `kafka-configs.sh` (its Java
 * class, `kafka.admin.ConfigCommand`, from `kafka/libs`) with `--entity-type groups`.
 *
 * @module
 */
import { brokerPaths, findJava, javaArgs } from "./broker.ts";
import { LabError } from "../platform/errors.ts";
import { runCommand } from "../platform/runtime.ts";

/**
 * The `kafka-configs.sh` arguments that set `settings` on group `groupId`
 * (the group need not exist yet: its settings wait for it).
 *
 * @example
 * ```ts
 * groupConfigArgs(["localhost:9092"], "billing-share-group", { "share.auto.offset.reset": "earliest" });
 * // ["--bootstrap-server", "localhost:9092", "--entity-type", "groups", "--entity-name",
 * //  "billing-share-group", "--alter", "--add-config", "share.auto.offset.reset=earliest"]
 * ```
 */
export function groupConfigArgs(
  brokers: string[],
  groupId: string,
  settings: Record<string, string | number>,
): string[] {
  return [
    "--bootstrap-server",
    brokers.join(","),
    "--entity-type",
    "groups",
    "--entity-name",
    groupId,
    "--alter",
    "--add-config",
    Object.entries(settings).map(([name, value]) => `${name}=${value}`).join(","),
  ];
}

/**
 * Sets `settings` on group `groupId` with Kafka's `kafka-configs.sh` (a JVM,
 * about 1.5 s). Rejects with the tool's one-line reason when the broker
 * refuses, e.g. a lock duration below `group.share.min.record.lock.duration.ms`.
 *
 * @example
 * ```ts
 * await alterGroupConfig(["localhost:9092"], "billing-share-group", {
 *   "share.auto.offset.reset": "earliest",
 *   "share.record.lock.duration.ms": 15_000,
 * });
 * ```
 */
export async function alterGroupConfig(
  brokers: string[],
  groupId: string,
  settings: Record<string, string | number>,
): Promise<void> {
  const out = await runCommand(
    await findJava(),
    javaArgs(
      brokerPaths(),
      "kafka.admin.ConfigCommand",
      groupConfigArgs(brokers, groupId, settings),
    ),
  );
  if (out.code !== 0) {
    // The tool prints its arguments, then the exception chain; the innermost cause says why.
    const causes = [...out.stderr.matchAll(/^Caused by: [\w.]+: (.*)$/gm)];
    const reason = causes.at(-1)?.[1] ?? out.stderr.split("\n")[0];
    throw new LabError(`cannot configure group ${groupId}: ${reason.trim()}`);
  }
}
