/**
 * One member of a consumer group on the new consumer protocol (KIP-848,
 * `group.protocol=consumer`): the seed's consumer1.py again, but the broker
 * assigns the partitions, and hands them over a few at a time with no
 * stop-the-world rebalance. kafkajs has no KIP-848, so this member uses
 * `@platformatic/kafka`. `deno task consumer-protocol --group G --name N
 * --assignor uniform|range`; `--help` lists the flags. The consumer region
 * is the same code as lesson 7's consumer cell.
 *
 * @module
 */
import { Consumer, MessagesStreamFallbackModes, MessagesStreamModes } from "@platformatic/kafka";
import { GroupMember } from "../lib/kafka/member.ts";
import { protocolMemberSettings } from "../lib/cli/settings.ts";

const settings = await protocolMemberSettings(); // the flags, validated; the topic exists
const { groupId, topic, autoCommit, remoteAssignor } = settings;
const member = new GroupMember(settings.member); // lines, run record, dead letters

// #region consumer-protocol
const consumer = new Consumer({
  ...member.protocolClient, // client id, brokers
  groupId,
  groupProtocol: "consumer", // KIP-848: the broker assigns
  groupRemoteAssignor: remoteAssignor, // "uniform" or "range"
});
member.watchProtocol(consumer); // its assignments and rebalances, as lines
const stream = await consumer.consume({
  topics: [topic],
  mode: MessagesStreamModes.COMMITTED, // the group's committed offsets...
  fallbackMode: MessagesStreamFallbackModes.EARLIEST, // ...else the beginning
  autocommit: false, // its autocommit commits what it fetched, processed or not
});
const processing = member.each(stream, async (message) => {
  const order = await member.read(message.partition, message); // a bad message: dead-lettered
  if (order) {
    await member.work(); // --process-ms: a slow handler
    member.got(message.partition, message, order); // "Consumer 1 got message: ... from partition 0"
  }
  if (autoCommit) member.commitInBackground(message); // at least once: only what was processed
  else await message.commit();
});
// #endregion

settings.onStop(() => member.requestStop()); // Ctrl+C: leave cleanly, not like a crash
await Promise.race([member.stopped, processing]); // Ctrl+C, SIGTERM, --max-messages
await member.leave(); // the broker reassigns this member's partitions at once
