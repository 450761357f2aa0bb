/*
 * The seed's consumer1.py / consumer2.py in Java (Kafka's own kafka-clients): the twin of
 * python/consumer.py, for groups shared by Java, Python and TypeScript members.
 *
 * The loop is the seed's: a consumer with bootstrap.servers, group.id and
 * auto.offset.reset=earliest, subscribe to order-events, poll(1 s), print each message.
 * Added, as in python/consumer.py:
 *
 * - --group, --name, --topic, --brokers (default KAFKA_BROKERS, else localhost:KAFKA_PORT or 9092);
 * - --group-protocol classic|consumer (default classic, the protocol kafkajs and librdkafka
 *   speak, in which the group's leader runs the assignor). With consumer (Kafka 4's new
 *   consumer protocol, KIP-848) the broker assigns partitions itself, a few at a time, with
 *   no stop-the-world barrier;
 * - --assignor: with classic, range|roundrobin|cooperative-sticky (or a comma list, in order
 *   of preference): partition.assignment.strategy, Kafka's RangeAssignor, RoundRobinAssignor
 *   or CooperativeStickyAssignor (KIP-429: only the partitions that move are revoked, the
 *   others are processed on through the rebalance). Without it, the client's default, as in
 *   the seed: RangeAssignor, then CooperativeStickyAssignor. With consumer, uniform|range:
 *   group.remote.assignor, the broker-side assignor (default: the broker's first, uniform);
 * - --instance-id ID: group.instance.id, a static member (KIP-345). Restarted within the
 *   session timeout, it gets its partitions back with no rebalance; it never sends LeaveGroup
 *   when it closes (the coordinator keeps its place until the session timeout);
 * - --process-ms N: simulated work per message (a sleep before its line), so that a
 *   rebalance's pause shows in the lines' timing;
 * - the lab's member timing (classic: 1 s heartbeat, 10 s session timeout; consumer: the
 *   broker's group.consumer.* settings), client.id java-<name>;
 * - "<name> revoked: partitions 0, 2" when partitions are taken away (never empty), and
 *   "<name> assigned: partitions 0, 2" after every rebalance: the member's whole assignment
 *   (ConsumerRebalanceListener; with cooperative-sticky and the consumer protocol it is called
 *   with the partitions added only, so the line prints consumer.assignment());
 * - a bounded run: --max-messages N, --run-seconds S; Ctrl+C or SIGTERM leaves the group
 *   cleanly (wakeup(), then close(): commits and sends LeaveGroup, unless static) and exits 0;
 *   so does the process that started it going away (a notebook kernel or a test, named by
 *   LAB_PARENT_PID, as java/ShareConsumer.java and the TypeScript members watch it);
 * - a broker refusal (INCONSISTENT_GROUP_PROTOCOL...) or no broker at all is one
 *   "error:" line on stderr and exit code 1, no stack trace; a bad flag is one line and
 *   exit code 2.
 *
 * No build step: Java 17+ compiles this single file in memory when it starts (about 2 s).
 * From the project root, once Kafka's jars are fetched (deno task broker fetch):
 *
 *   java -cp 'kafka/libs/*' java/Consumer.java --group billing-group --name "Java 1" --assignor range
 *
 * The client's INFO log is kept quiet by java/log4j2.properties (errors only, on stderr), which
 * this file uses unless -Dlog4j2.configurationFile names another, e.g.
 * -Dlog4j2.configurationFile=kafka/tools-log4j2.properties to see the client's warnings too.
 */

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.consumer.CloseOptions;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.CooperativeStickyAssignor;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.RangeAssignor;
import org.apache.kafka.clients.consumer.RoundRobinAssignor;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.GroupAuthorizationException;
import org.apache.kafka.common.errors.InconsistentGroupProtocolException;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.errors.TopicAuthorizationException;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.StringDeserializer;

public class Consumer {
  static final String USAGE =
      "usage: java -cp 'kafka/libs/*' java/Consumer.java [--group G] [--name N] [--topic T]\n"
          + "         [--brokers host:port,...] [--group-protocol classic|consumer]\n"
          + "         [--assignor range|roundrobin|cooperative-sticky[,...] (classic)\n"
          + "                     | uniform|range (consumer)]\n"
          + "         [--instance-id ID] [--process-ms N] [--max-messages N] [--run-seconds S]";

  static final String INCONSISTENT =
      "the broker answered INCONSISTENT_GROUP_PROTOCOL: the group's members use another "
          + "assignor; give every member one they all offer (by default Python, Java and the "
          + "lab's members all offer range; a lab member with --assignor kafkajs offers only "
          + "kafkajs's own)";

  /** The classic protocol's assignors --assignor names, by their protocol names. */
  static final Map<String, String> ASSIGNORS = Map.of(
      "range", RangeAssignor.class.getName(),
      "roundrobin", RoundRobinAssignor.class.getName(),
      "cooperative-sticky", CooperativeStickyAssignor.class.getName());

  /** The broker-side assignors of the consumer protocol (group.consumer.assignors). */
  static final List<String> REMOTE_ASSIGNORS = List.of("uniform", "range");

  /** Set by the shutdown hook (SIGTERM, Ctrl+C): the loop ends and the member leaves. */
  static volatile boolean stopping = false;
  /** Set once the loop has ended on its own: the shutdown hook then has nothing to do. */
  static volatile boolean finished = false;

  public static void main(String[] argv) {
    quietLogging();
    Map<String, String> args = new HashMap<>(Map.of(
        "group", "billing-group",
        "name", "Consumer 1",
        "topic", "order-events",
        "brokers", System.getenv().getOrDefault("KAFKA_BROKERS",
            "localhost:" + System.getenv().getOrDefault("KAFKA_PORT", "9092")),
        "group-protocol", "classic",
        "assignor", "",
        "instance-id", "",
        "process-ms", "0",
        "max-messages", "0",
        "run-seconds", "0"));
    int maxMessages;
    long processMs;
    double runSeconds;
    try {
      parse(argv, args);
      checkAssignors(args.get("group-protocol"), args.get("assignor"));
      maxMessages = Integer.parseInt(args.get("max-messages"));
      processMs = Long.parseLong(args.get("process-ms"));
      runSeconds = Double.parseDouble(args.get("run-seconds"));
      if (maxMessages < 0 || processMs < 0 || runSeconds < 0) throw new NumberFormatException();
    } catch (NumberFormatException e) {
      System.exit(usageError("--max-messages, --process-ms and --run-seconds take numbers >= 0"));
      return;
    } catch (IllegalArgumentException e) {
      System.exit(usageError(e.getMessage()));
      return;
    }
    String name = args.get("name");
    String group = args.get("group");
    String topic = args.get("topic");
    String assignor = args.get("assignor");
    boolean classic = args.get("group-protocol").equals("classic");
    String clientId = "java-" + String.join("-", name.trim().toLowerCase().split("\\s+"));

    Properties config = new Properties();
    config.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, args.get("brokers"));
    config.put(ConsumerConfig.GROUP_ID_CONFIG, group);
    config.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    config.put(ConsumerConfig.GROUP_PROTOCOL_CONFIG, args.get("group-protocol"));
    if (!args.get("instance-id").isEmpty()) {
      config.put(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG, args.get("instance-id"));
    }
    if (classic) {
      if (!assignor.isEmpty()) {
        List<String> classes = new ArrayList<>();
        for (String protocol : assignor.split(",")) classes.add(ASSIGNORS.get(protocol));
        config.put(ConsumerConfig.PARTITION_ASSIGNMENT_STRATEGY_CONFIG, String.join(",", classes));
      }
      // The consumer protocol refuses these: the broker sets them (group.consumer.*).
      config.put(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, 10_000);
      config.put(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, 1_000);
    } else if (!assignor.isEmpty()) {
      config.put(ConsumerConfig.GROUP_REMOTE_ASSIGNOR_CONFIG, assignor);
    }
    config.put(ConsumerConfig.CLIENT_ID_CONFIG, clientId);
    // For the started line: "consumer protocol, static member gold-1, assignor uniform".
    String how = (classic ? "" : "consumer protocol, ")
        + (args.get("instance-id").isEmpty() ? "" : "static member " + args.get("instance-id") + ", ")
        + "assignor " + (!assignor.isEmpty() ? assignor
            : classic ? "kafka-clients' default" : "the broker's default");
    config.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
    config.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());

    KafkaConsumer<String, String> c1;
    try {
      c1 = new KafkaConsumer<>(config);
    } catch (KafkaException e) { // e.g. no resolvable address in --brokers
      Throwable cause = e;
      while (cause.getCause() != null) cause = cause.getCause();
      System.exit(fail(name, group, cause.getMessage()));
      return;
    }
    Thread main = Thread.currentThread();
    int[] exitCode = {0};
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      if (finished) return;
      stopping = true;
      c1.wakeup();
      try {
        main.join(15_000); // the loop ends, close() commits and leaves the group
      } catch (InterruptedException ignored) {
        // exit anyway
      }
      System.out.flush();
      Runtime.getRuntime().halt(exitCode[0]); // the JVM would say 143; the leave was clean
    }, "leave-group"));

    leaveWhenParentExits(name);

    exitCode[0] = 1; // until run() returns: an unexpected exception exits 1 too
    try {
      exitCode[0] = run(c1, name, group, topic, args.get("brokers"), how, processMs, maxMessages,
          runSeconds);
    } catch (RuntimeException e) {
      exitCode[0] = fail(name, group, "unexpected " + e);
    }
    finished = true;
    if (!stopping) System.exit(exitCode[0]);
  }

  /**
   * Kafka's client logs at INFO (dozens of lines per rebalance) unless told otherwise: use
   * java/log4j2.properties, next to this file, unless -Dlog4j2.configurationFile names another.
   * Runs before any Kafka class, so before log4j starts.
   */
  static void quietLogging() {
    String source = System.getProperty("jdk.launcher.sourcefile"); // set by `java Consumer.java`
    if (System.getProperty("log4j2.configurationFile") != null || source == null) return;
    Path config = Path.of(source).toAbsolutePath().resolveSibling("log4j2.properties");
    if (Files.exists(config)) System.setProperty("log4j2.configurationFile", config.toString());
  }

  /**
   * When LAB_PARENT_PID names the process that started this one (the lab's notebook kernel, a
   * test), a daemon thread checks every 500 ms that it is still this process's parent and
   * alive; once it is not, the member leaves as on SIGTERM (System.exit runs the shutdown hook).
   * The same as java/ShareConsumer.java's: each single-file program must carry its own copy.
   */
  static void leaveWhenParentExits(String name) {
    long parentPid;
    try {
      parentPid = Long.parseLong(System.getenv().getOrDefault("LAB_PARENT_PID", ""));
    } catch (NumberFormatException e) {
      return; // started from a terminal: nobody to watch
    }
    if (parentPid <= 1) return;
    Thread watch = new Thread(() -> {
      while (ProcessHandle.current().parent().map(ProcessHandle::pid).orElse(0L) == parentPid
          && ProcessHandle.of(parentPid).map(ProcessHandle::isAlive).orElse(false)) {
        try {
          Thread.sleep(500);
        } catch (InterruptedException e) {
          return;
        }
      }
      System.err.println(name + ": the process that started it (pid " + parentPid
          + ") is gone: leaving the group");
      System.exit(0);
    }, "parent-watch");
    watch.setDaemon(true);
    watch.start();
  }

  /** "partitions 0, 2", "partition 1" or "none (idle)": the partitions of topic in owned. */
  static String describe(Collection<TopicPartition> owned, String topic) {
    List<Integer> numbers = new ArrayList<>();
    for (TopicPartition p : owned) {
      if (p.topic().equals(topic)) numbers.add(p.partition());
    }
    numbers.sort(null);
    return numbers.isEmpty() ? "none (idle)"
        : (numbers.size() > 1 ? "partitions " : "partition ")
            + String.join(", ", numbers.stream().map(String::valueOf).toList());
  }

  /** The seed's loop; returns the exit code. Always closes the consumer. */
  static int run(KafkaConsumer<String, String> c1, String name, String group, String topic,
      String brokers, String how, long processMs, int maxMessages, double runSeconds) {
    try {
      try {
        // Metadata first: a broker that does not answer is one line, not endless retries.
        if (c1.partitionsFor(topic, Duration.ofSeconds(10)).isEmpty()) {
          System.out.println(name + ": topic " + topic + " does not exist yet; waiting for it");
        }
      } catch (TimeoutException e) {
        return fail(name, group, "cannot reach Kafka at " + brokers + " (no answer in 10 s)");
      }
      c1.subscribe(List.of(topic), new ConsumerRebalanceListener() {
        @Override
        public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
          // Eager: every partition, at every rebalance; cooperative: only those that move.
          if (!partitions.isEmpty()) {
            System.out.println(name + " revoked: " + describe(partitions, topic));
          }
        }

        @Override
        public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
          // Cooperative and consumer protocol: only the added partitions (maybe none).
          System.out.println(name + " assigned: " + describe(c1.assignment(), topic));
        }
      });
      System.out.println(name + " started (group " + group + ", " + how + ")");

      long deadline = runSeconds > 0 ? System.nanoTime() + (long) (runSeconds * 1e9) : 0;
      int got = 0;
      while (!stopping) {
        long left = deadline == 0 ? 1000 : (deadline - System.nanoTime()) / 1_000_000;
        if (left <= 0) break;
        ConsumerRecords<String, String> records = c1.poll(Duration.ofMillis(Math.min(left, 1000)));
        Map<TopicPartition, Long> unprocessed = new HashMap<>();
        for (ConsumerRecord<String, String> msg : records) {
          if (maxMessages > 0 && got >= maxMessages) {
            // Not processed: go back to it, so close() commits only what was printed.
            unprocessed.putIfAbsent(new TopicPartition(msg.topic(), msg.partition()), msg.offset());
            continue;
          }
          if (processMs > 0) Thread.sleep(processMs); // the work, before its line
          System.out.println(name + " got message: " + msg.value() + " from partition "
              + msg.partition());
          got++;
        }
        unprocessed.forEach(c1::seek);
        if (maxMessages > 0 && got >= maxMessages) break;
      }
      return 0;
    } catch (WakeupException | InterruptedException e) {
      return 0; // SIGTERM or Ctrl+C: leave cleanly
    } catch (InconsistentGroupProtocolException e) {
      return fail(name, group, INCONSISTENT);
    } catch (GroupAuthorizationException | TopicAuthorizationException e) {
      return fail(name, group, "not authorized (" + e.getMessage() + ")");
    } catch (KafkaException e) {
      return fail(name, group, e.getClass().getSimpleName() + ": " + e.getMessage());
    } finally {
      try {
        c1.close(CloseOptions.timeout(Duration.ofSeconds(10))); // commits, then LeaveGroup
      } catch (KafkaException ignored) {
        // it could not leave cleanly; the session timeout will evict it
      }
    }
  }

  /** A bad flag: one line, as the lab's scripts say it, and exit code 2. */
  static int usageError(String why) {
    System.err.println(
        "error: " + why + " (see: java -cp 'kafka/libs/*' java/Consumer.java --help)");
    return 2;
  }

  static int fail(String name, String group, String why) {
    System.err.println("error: " + name + " cannot consume from " + group + ": " + why);
    return 1;
  }

  /**
   * --group-protocol's value, and --assignor's for it: classic takes range, roundrobin,
   * cooperative-sticky, comma-separated, each once; consumer takes one of uniform and range.
   */
  static void checkAssignors(String protocol, String value) {
    if (!List.of("classic", "consumer").contains(protocol)) {
      throw new IllegalArgumentException(
          "--group-protocol takes classic or consumer, got '" + protocol + "'");
    }
    if (value.isEmpty()) return;
    if (protocol.equals("consumer")) {
      if (!REMOTE_ASSIGNORS.contains(value)) {
        throw new IllegalArgumentException("--assignor with --group-protocol consumer takes "
            + "uniform or range (the broker assigns), got '" + value + "'");
      }
      return;
    }
    List<String> names = List.of(value.split(",", -1));
    boolean known = ASSIGNORS.keySet().containsAll(names);
    if (!known || names.stream().distinct().count() != names.size()) {
      throw new IllegalArgumentException("--assignor takes range, roundrobin, "
          + "cooperative-sticky, comma-separated, each once, got '" + value + "'");
    }
  }

  /** --flag value and --flag=value, for the flags in args; --help prints the usage. */
  static void parse(String[] argv, Map<String, String> args) {
    for (int i = 0; i < argv.length; i++) {
      String arg = argv[i];
      if (arg.equals("-h") || arg.equals("--help")) {
        System.out.println(USAGE);
        System.exit(0);
      }
      if (!arg.startsWith("--")) throw new IllegalArgumentException("unexpected argument " + arg);
      String flag = arg.substring(2);
      String value = null;
      int eq = flag.indexOf('=');
      if (eq >= 0) {
        value = flag.substring(eq + 1);
        flag = flag.substring(0, eq);
      }
      if (!args.containsKey(flag)) throw new IllegalArgumentException("unknown flag --" + flag);
      if (value == null) {
        if (i + 1 >= argv.length) throw new IllegalArgumentException("--" + flag + " needs a value");
        value = argv[++i];
      }
      args.put(flag, value);
    }
  }
}
