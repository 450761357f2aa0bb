/**
 * One member of a consumer group, as its own process: the seed's
 * consumer1.py. `deno task consumer1` is this script with
 * `--group billing-group --name "Consumer 1"`; `--help` lists the flags.
 * The consumer region is the same code as lesson 1's consumer cell.
 *
 * @module
 */
import { Kafka } from "kafkajs";
import { GroupMember, nextOffset as next } from "../lib/kafka/member.ts";
import { memberSettings } from "../lib/cli/settings.ts";

const settings = await memberSettings(); // the flags, validated; the topic exists
const { groupId, topic, autoCommit } = settings;
const kafka = new Kafka(settings.client);
const member = new GroupMember({ kafka, ...settings.member }); // lines, run record, dead letters

// #region consumer
const consumer = member.watch(kafka.consumer({ groupId, ...member.consumerConfig }));
await consumer.connect();
await consumer.subscribe({ topic, fromBeginning: true });
await consumer.run({
  autoCommit,
  eachMessage: async ({ partition, message }) => {
    const order = await member.read(partition, message); // a bad message: dead-lettered
    if (order) {
      await member.work(); // --process-ms: a slow handler
      member.got(partition, message, order); // "Consumer 1 got message: ... from partition 0"
    }
    if (!autoCommit) {
      await consumer.commitOffsets([{ topic, partition, offset: next(message.offset) }]);
    }
  },
});
// #endregion

settings.onStop(() => member.requestStop()); // Ctrl+C: leave cleanly, not like a crash
await member.stopped; // Ctrl+C, SIGTERM, --max-messages
await member.leave(); // LeaveGroup: the others rebalance at once
