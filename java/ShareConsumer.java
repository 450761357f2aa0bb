/*
 * The seed's consumer as a member of a share group (KIP-932, "queues for Kafka"): Kafka's own
 * KafkaShareConsumer, the Java twin of java/Consumer.java for share groups.
 *
 * In a share group no member owns a partition: every member fetches from every partition, and
 * the broker locks each record it hands out to that one member (group config
 * share.record.lock.duration.ms, 30 s by default) until the member acknowledges it:
 *
 * - ACCEPT: processed, done;
 * - RELEASE: give it back now; it is delivered again (to any member), its delivery count + 1;
 * - REJECT: unprocessable; archived, never delivered again.
 *
 * A record whose lock runs out (its member died) is delivered again; after
 * share.delivery.count.limit deliveries (5) it is archived. So a 4th member on 3 partitions
 * is not idle, but records of one partition are no longer processed in order.
 *
 * Flags, as java/Consumer.java's: --group, --name, --topic, --brokers (default KAFKA_BROKERS,
 * else localhost:KAFKA_PORT or 9092), --run-seconds S; and what to do with records:
 *
 * - --ack accept|release|reject: the acknowledgement of every record (default accept);
 * - --release-key K[,K...] / --reject-key K[,K...]: release or reject the records with these
 *   keys (the lab's orders are keyed by their index), accept the others;
 * - --process-ms N: simulated work per record, after its line and before its acknowledgement;
 * - --crash-after N: after the Nth record, exit at once (code 137), acknowledging nothing of
 *   its last poll: those records stay locked until their lock times out.
 *
 * Acknowledgement is explicit (share.acknowledgement.mode=explicit): each record gets one
 * acknowledge() call, and commitSync() sends the poll's acknowledgements. Each record is one
 * line, with its partition, offset, delivery count and acknowledgement:
 *
 *   Share 1 got message: {"order_id":"1002","amount":20} from partition 1 (offset 0, delivery 1): accept
 *
 * Ctrl+C or SIGTERM leaves the group cleanly (wakeup(), then close(): it acknowledges what it
 * processed and leaves) and exits 0; so does the process that started it going away (a
 * notebook kernel or a test, named by the environment variable LAB_PARENT_PID, as the lab's
 * TypeScript members watch it), checked every 500 ms. No broker, or a broker without share groups (feature
 * share.version 0, or a Kafka older than 4.0): one "error:" line on stderr and exit code 1,
 * checked before joining; a bad flag: one line and exit code 2.
 *
 * Run it like java/Consumer.java (Java 17+ compiles it in memory; log kept to errors by
 * java/log4j2.properties):
 *
 *   java -cp 'kafka/libs/*' java/ShareConsumer.java --group billing-share-group --name "Share 1"
 */

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.FeatureMetadata;
import org.apache.kafka.clients.admin.FinalizedVersionRange;
import org.apache.kafka.clients.consumer.AcknowledgeType;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaShareConsumer;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.errors.GroupAuthorizationException;
import org.apache.kafka.common.errors.TopicAuthorizationException;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.StringDeserializer;

public class ShareConsumer {
  static final String USAGE =
      "usage: java -cp 'kafka/libs/*' java/ShareConsumer.java [--group G] [--name N] [--topic T]\n"
          + "         [--brokers host:port,...] [--ack accept|release|reject]\n"
          + "         [--release-key K[,K...]] [--reject-key K[,K...]] [--process-ms N]\n"
          + "         [--crash-after N] [--run-seconds S]";

  /** Set by the shutdown hook (SIGTERM, Ctrl+C): the loop ends and the member leaves. */
  static volatile boolean stopping = false;
  /** Set once the loop has ended on its own: the shutdown hook then has nothing to do. */
  static volatile boolean finished = false;

  /** What the member does with records: one acknowledgement by default, others by key. */
  record Policy(AcknowledgeType ack, Set<String> releaseKeys, Set<String> rejectKeys,
      long processMs, int crashAfter) {
    AcknowledgeType acknowledgementOf(ConsumerRecord<String, String> msg) {
      if (releaseKeys.contains(msg.key())) return AcknowledgeType.RELEASE;
      if (rejectKeys.contains(msg.key())) return AcknowledgeType.REJECT;
      return ack;
    }
  }

  public static void main(String[] argv) {
    quietLogging();
    Map<String, String> args = new HashMap<>(Map.of(
        "group", "billing-share-group",
        "name", "Share 1",
        "topic", "order-events",
        "brokers", System.getenv().getOrDefault("KAFKA_BROKERS",
            "localhost:" + System.getenv().getOrDefault("KAFKA_PORT", "9092")),
        "ack", "accept",
        "release-key", "",
        "reject-key", "",
        "process-ms", "0",
        "crash-after", "0",
        "run-seconds", "0"));
    Policy policy;
    double runSeconds;
    try {
      parse(argv, args);
      if (!List.of("accept", "release", "reject").contains(args.get("ack"))) {
        throw new IllegalArgumentException(
            "--ack takes accept, release or reject, got '" + args.get("ack") + "'");
      }
      policy = new Policy(AcknowledgeType.valueOf(args.get("ack").toUpperCase()),
          keys(args.get("release-key")), keys(args.get("reject-key")),
          Long.parseLong(args.get("process-ms")), Integer.parseInt(args.get("crash-after")));
      runSeconds = Double.parseDouble(args.get("run-seconds"));
      if (policy.processMs() < 0 || policy.crashAfter() < 0 || runSeconds < 0) {
        throw new NumberFormatException();
      }
    } catch (NumberFormatException e) {
      System.exit(usageError("--process-ms, --crash-after and --run-seconds take numbers >= 0"));
      return;
    } catch (IllegalArgumentException e) {
      System.exit(usageError(e.getMessage()));
      return;
    }
    String name = args.get("name");
    String group = args.get("group");
    String brokers = args.get("brokers");
    String clientId = "java-" + String.join("-", name.trim().toLowerCase().split("\\s+"));

    String unusable = shareGroupsUnavailable(brokers);
    if (unusable != null) {
      System.exit(fail(name, group, unusable));
      return;
    }
    // #region share-config
    Properties config = new Properties();
    config.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, brokers);
    config.put(ConsumerConfig.GROUP_ID_CONFIG, group);
    config.put(ConsumerConfig.CLIENT_ID_CONFIG, clientId);
    config.put(ConsumerConfig.SHARE_ACKNOWLEDGEMENT_MODE_CONFIG, "explicit");
    config.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
    config.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
    // #endregion

    KafkaShareConsumer<String, String> consumer;
    try {
      consumer = new KafkaShareConsumer<>(config);
    } catch (KafkaException e) {
      System.exit(fail(name, group, rootCause(e).getMessage()));
      return;
    }
    Thread main = Thread.currentThread();
    int[] exitCode = {0};
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      if (finished) return;
      stopping = true;
      consumer.wakeup();
      try {
        main.join(15_000); // the loop ends, close() acknowledges and leaves the group
      } catch (InterruptedException ignored) {
        // exit anyway
      }
      System.out.flush();
      Runtime.getRuntime().halt(exitCode[0]); // the JVM would say 143; the leave was clean
    }, "leave-group"));

    leaveWhenParentExits(name);

    exitCode[0] = 1; // until run() returns: an unexpected exception exits 1 too
    try {
      exitCode[0] = run(consumer, name, group, args.get("topic"), policy, runSeconds);
    } catch (RuntimeException e) {
      exitCode[0] = fail(name, group, "unexpected " + e);
    }
    finished = true;
    if (!stopping) System.exit(exitCode[0]);
  }

  /**
   * When LAB_PARENT_PID names the process that started this one (the lab's notebook kernel, a
   * test), a daemon thread checks every 500 ms that it is still this process's parent and
   * alive; once it is not, the member leaves as on SIGTERM (System.exit runs the shutdown hook).
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

  /**
   * Why this broker cannot serve a share group, or null if it can: it does not answer in 10 s,
   * or its finalized feature share.version is missing (Kafka before 4.0) or 0 (turned off).
   */
  static String shareGroupsUnavailable(String brokers) {
    Properties config = new Properties();
    config.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, brokers);
    config.put(AdminClientConfig.CLIENT_ID_CONFIG, "java-share-check");
    Admin admin;
    try {
      admin = Admin.create(config);
    } catch (KafkaException e) { // e.g. no resolvable address in --brokers
      return rootCause(e).getMessage();
    }
    try {
      FeatureMetadata features = admin.describeFeatures().featureMetadata()
          .get(10, TimeUnit.SECONDS);
      FinalizedVersionRange share = features.finalizedFeatures().get("share.version");
      if (share != null && share.maxVersionLevel() >= 1) return null;
      if (!features.supportedFeatures().containsKey("share.version")) {
        return "this broker does not serve share groups (no feature share.version): "
            + "they need Kafka 4.0+, and are on by default from 4.2";
      }
      return "share groups are turned off on this broker (its feature share.version is 0); "
          + "turn them on with kafka-features.sh --bootstrap-server " + brokers
          + " upgrade --feature share.version=1";
    } catch (java.util.concurrent.TimeoutException e) {
      return "cannot reach Kafka at " + brokers + " (no answer in 10 s)";
    } catch (ExecutionException e) {
      return "cannot read the broker's features: " + e.getCause().getMessage();
    } catch (InterruptedException e) {
      return "interrupted";
    } finally {
      admin.close(Duration.ZERO); // a call still waiting for a broker is dropped, not awaited
    }
  }

  /** The innermost cause: Kafka wraps the one worth telling. */
  static Throwable rootCause(Throwable e) {
    while (e.getCause() != null) e = e.getCause();
    return e;
  }

  /** The seed's loop, with an acknowledgement per record; returns the exit code. */
  static int run(KafkaShareConsumer<String, String> consumer, String name, String group,
      String topic, Policy policy, double runSeconds) {
    try {
      // #region share-loop
      consumer.subscribe(List.of(topic));
      System.out.println(name + " started (share group " + group + ", explicit acknowledgement)");
      long deadline = runSeconds > 0 ? System.nanoTime() + (long) (runSeconds * 1e9) : 0;
      int got = 0;
      while (!stopping) {
        long left = deadline == 0 ? 1000 : (deadline - System.nanoTime()) / 1_000_000;
        if (left <= 0) break;
        for (ConsumerRecord<String, String> msg : consumer.poll(Duration.ofMillis(Math.min(left,
            1000)))) {
          AcknowledgeType ack = policy.acknowledgementOf(msg);
          System.out.println(name + " got message: " + msg.value() + " from partition "
              + msg.partition() + " (offset " + msg.offset() + ", delivery "
              + msg.deliveryCount().orElse((short) 1) + "): " + ack.toString().toLowerCase());
          if (++got == policy.crashAfter()) {
            System.out.println(name + " crashes after " + got + " messages, before acknowledging");
            System.out.flush();
            Runtime.getRuntime().halt(137);
          }
          if (policy.processMs() > 0) Thread.sleep(policy.processMs()); // holds the record's lock
          consumer.acknowledge(msg, ack);
        }
        consumer.commitSync(); // sends this poll's acknowledgements now
      }
      // #endregion
      return 0;
    } catch (WakeupException e) {
      return 0; // SIGTERM or Ctrl+C: leave cleanly
    } catch (InterruptedException e) {
      return 0;
    } catch (GroupAuthorizationException | TopicAuthorizationException e) {
      return fail(name, group, "not authorized (" + e.getMessage() + ")");
    } catch (KafkaException e) {
      return fail(name, group, e.getClass().getSimpleName() + ": " + e.getMessage());
    } finally {
      try {
        consumer.close(Duration.ofSeconds(10)); // acknowledges, then leaves the group
      } catch (KafkaException ignored) {
        // it could not leave cleanly; its records come back when their locks time out
      }
    }
  }

  /** A comma-separated list of record keys, or none. */
  static Set<String> keys(String value) {
    return value.isEmpty() ? Set.of() : Set.of(value.split(","));
  }

  /** As java/Consumer.java: the client logs only errors (java/log4j2.properties). */
  static void quietLogging() {
    String source = System.getProperty("jdk.launcher.sourcefile"); // set by `java File.java`
    if (System.getProperty("log4j2.configurationFile") != null || source == null) return;
    Path config = Path.of(source).toAbsolutePath().resolveSibling("log4j2.properties");
    if (Files.exists(config)) System.setProperty("log4j2.configurationFile", config.toString());
  }

  /** A bad flag: one line, as the lab's scripts say it, and exit code 2. */
  static int usageError(String why) {
    System.err.println(
        "error: " + why + " (see: java -cp 'kafka/libs/*' java/ShareConsumer.java --help)");
    return 2;
  }

  static int fail(String name, String group, String why) {
    System.err.println("error: " + name + " cannot consume from share group " + group + ": " + why);
    return 1;
  }

  /** As java/Consumer.java: --flag value and --flag=value, for the flags in args; --help. */
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
