/**
 * The seed's producer.py: 10 order events, key = i, 500 ms apart; `--help`
 * lists the flags. The producer region is the same code as lesson 1's
 * producer cell.
 *
 * @module
 */
import { Kafka, Partitioners } from "kafkajs";
import { orderEvent } from "../lib/kafka/orders.ts";
import { producePoison } from "../lib/kafka/producer.ts";
import { producerSettings } from "../lib/cli/settings.ts";

const { client, brokers, topic, start, count, intervalMs, poison, run } = await producerSettings();
const kafka = new Kafka(client);
if (poison) {
  for (const p of await producePoison(brokers, topic)) {
    console.log(
      `Produced bad message (${p.problem}) -> partition ${p.partition} @ offset ${p.offset}`,
    );
  }
}

// #region producer
const producer = kafka.producer({
  createPartitioner: Partitioners.DefaultPartitioner, // murmur2 of the key, as Java's and Python's
  retry: { retries: 0 }, // run.retrying retries, and says so
});
await producer.connect();
for (let i = start; i < start + count && !run.stopped; i++) {
  const value = JSON.stringify(orderEvent(i)); // {"order_id":"1000","amount":0}, ...
  const sent = await run.retrying(() =>
    producer.send({ topic, acks: -1, messages: [{ key: String(i), value }] })
  ); // rides out a broker restart
  if (sent) {
    console.log(`Produced: ${value} -> partition ${sent.partition} @ offset ${sent.baseOffset}`);
  }
  await run.pause(intervalMs);
}
await producer.disconnect();
// #endregion

console.log(`Produced ${run.acknowledged} order${run.acknowledged === 1 ? "" : "s"} to ${topic}.`);
