"""The seed's consumer1.py / consumer2.py (confluent-kafka), with flags.

The loop is the seed's, line for line: a Consumer with bootstrap.servers,
group.id and auto.offset.reset=earliest, subscribe(['order-events']), poll(1.0),
print each message. Added, so the lab can run it next to its TypeScript
members and in tests:

- --group, --name, --topic, --brokers (default KAFKA_BROKERS, else localhost:KAFKA_PORT or 9092);
- --assignor range|roundrobin (or a comma list, in order of preference):
  librdkafka's partition.assignment.strategy. Without it, librdkafka's default
  ("range,roundrobin", the lab members' default too), as in the seed;
- the lab's member timing (1 s heartbeat, 10 s session timeout);
- "<name> assigned: partitions 0, 2" after every rebalance, as the lab prints;
- a bounded run: --max-messages N, --run-seconds S; Ctrl+C or SIGTERM leaves
  the group cleanly (close()), as in the seed; so does the process that started
  it going away (a notebook kernel, a test: LAB_PARENT_PID, as the lab's
  TypeScript members watch it), checked at every poll;
- a broker refusal (INCONSISTENT_GROUP_PROTOCOL...) or no broker at all (no
  answer in 10 s) is one "error:" line on stderr and exit code 1, not an
  endless retry; so is a missing confluent-kafka; a bad flag is one line and
  exit code 2;
- a broker lost while running is one line ("<name> lost the broker (...);
  reconnecting and rejoining..."), as the lab's members print, instead of
  librdkafka's log line every few milliseconds.

    .venv/bin/python python/consumer.py --group billing-group --name "Consumer 1" --assignor range
"""

import argparse
import os
import signal
import sys
import time

try:
    from confluent_kafka import Consumer, KafkaError, KafkaException
except ImportError:
    sys.exit("error: python/consumer.py needs confluent-kafka: run `deno task kernel` "
             "(it installs it into .venv), then use .venv/bin/python")

FATAL = {
    KafkaError.INCONSISTENT_GROUP_PROTOCOL: (
        "the broker answered INCONSISTENT_GROUP_PROTOCOL: the group's members use "
        "another assignor; give every member one they all offer (by default Python, Java "
        "and the lab's members all offer range; a lab member with --assignor kafkajs "
        "offers only kafkajs's own)"
    ),
    KafkaError.GROUP_AUTHORIZATION_FAILED: "not authorized to join the group",
}
# What librdkafka reports when the broker goes away (it reconnects by itself), and how to
# say it: its own text for _ALL_BROKERS_DOWN counts brokers it knows under several names.
BROKER_LOST = {
    KafkaError._ALL_BROKERS_DOWN: lambda err: "no broker answers",
    KafkaError._TRANSPORT: lambda err: err.str(),
}


ASSIGNORS = ("range", "roundrobin")


def assignor_list(value):
    """--assignor: one of ASSIGNORS or a comma list of them, as librdkafka takes it."""
    names = [n.strip() for n in value.split(",")]
    if not all(n in ASSIGNORS for n in names) or len(set(names)) != len(names):
        raise argparse.ArgumentTypeError(
            f"takes range, roundrobin or both, comma-separated, got '{value}'")
    return ",".join(names)


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a bad flag is one line (as the lab's scripts say it), exit code 2."""

    def error(self, message):
        self.exit(2, f"error: {message} (see: python python/consumer.py --help)\n")


def parent_gone():
    """The process named by LAB_PARENT_PID is no longer this one's parent (it died: the
    process was handed to another parent); False when none was named (a terminal)."""
    parent = os.environ.get("LAB_PARENT_PID", "")
    return parent.isdigit() and int(parent) > 1 and os.getppid() != int(parent)


def main() -> int:
    parser = OneLineParser(description=__doc__.split("\n")[0])
    parser.add_argument("--group", default="billing-group")
    parser.add_argument("--name", default="Consumer 1")
    parser.add_argument("--topic", default="order-events")
    parser.add_argument(
        "--brokers",
        default=os.environ.get(
            "KAFKA_BROKERS", "localhost:" + os.environ.get("KAFKA_PORT", "9092")
        ),
    )
    parser.add_argument("--assignor", type=assignor_list,
                        help="partition.assignment.strategy (default: librdkafka's)")
    parser.add_argument("--max-messages", type=int, default=0, help="leave after N messages")
    parser.add_argument("--run-seconds", type=float, default=0, help="leave after S seconds")
    args = parser.parse_args()
    name = args.name
    client_id = "python-" + "-".join(name.lower().split())

    lost = ["not connected yet"]  # not empty while the broker is away: say so once

    def on_error(err):  # the client's own errors, between messages; it retries by itself
        if err.code() not in BROKER_LOST:
            print(f"{name} Error:", err, flush=True)
        elif not lost:
            lost.append(err)
            why = BROKER_LOST[err.code()](err)
            print(f"{name} lost the broker ({why}); reconnecting and rejoining...", flush=True)

    config = {
        'bootstrap.servers': args.brokers,
        'group.id': args.group,
        'auto.offset.reset': 'earliest',
        'client.id': client_id,
        'session.timeout.ms': 10000,
        'heartbeat.interval.ms': 1000,
        'error_cb': on_error,
        'log_level': 2,  # librdkafka's own log: critical only; errors arrive through on_error
    }
    if args.assignor:
        config['partition.assignment.strategy'] = args.assignor
    c1 = Consumer(config)

    def fail(why):
        print(f"error: {name} cannot consume from {args.group}: {why}", file=sys.stderr,
              flush=True)
        return 1

    # Metadata first: a broker that does not answer is one line, not endless retries.
    try:
        topic = c1.list_topics(args.topic, timeout=10).topics.get(args.topic)
        if topic is None or topic.error is not None:
            print(f"{name}: topic {args.topic} does not exist yet; waiting for it", flush=True)
    except KafkaException:
        c1.close()
        return fail(f"cannot reach Kafka at {args.brokers} (no answer in 10 s)")
    lost.clear()

    def on_assign(consumer, partitions):
        lost.clear()
        owned = sorted(p.partition for p in partitions if p.topic == args.topic)
        text = "none (idle)" if not owned else (
            ("partitions " if len(owned) > 1 else "partition ") + ", ".join(map(str, owned)))
        print(f"{name} assigned: {text}", flush=True)

    c1.subscribe([args.topic], on_assign=on_assign)

    assignor = args.assignor or "librdkafka's default"
    print(f"{name} started (group {args.group}, assignor {assignor})", flush=True)

    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(True))
    deadline = time.monotonic() + args.run_seconds if args.run_seconds > 0 else None
    got = 0
    code = 0
    try:
        while not stop:
            if deadline is not None and time.monotonic() > deadline:
                break
            if parent_gone():
                print(f"{name}: the process that started it is gone: leaving the group",
                      file=sys.stderr, flush=True)
                break
            msg = c1.poll(1.0)
            if msg is None:
                continue
            if msg.error():
                err = msg.error()
                if err.code() in FATAL or err.fatal():
                    code = fail(FATAL.get(err.code(), str(err)))
                    break
                print(f"{name} Error:", err, flush=True)
            else:
                print(f"{name} got message: {msg.value().decode()} from partition {msg.partition()}",
                      flush=True)
                got += 1
                if args.max_messages and got >= args.max_messages:
                    break
    except KeyboardInterrupt:
        pass
    finally:
        c1.close()
    return code


if __name__ == "__main__":
    sys.exit(main())
