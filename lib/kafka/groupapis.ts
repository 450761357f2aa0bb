/**
 * The group APIs kafkajs lacks, for the two kinds of group Kafka 4 added:
 * consumer-protocol groups (KIP-848: ConsumerGroupDescribe, with epochs and
 * target assignments) and share groups (KIP-932: ShareGroupDescribe and
 * DescribeShareGroupOffsets), plus ListGroups with each group's type.
 *
 * They go through `@platformatic/kafka`'s protocol layer (its connections,
 * encoders and decoders; it runs on Deno and Bun). Its admin client has
 * ListGroups and FindCoordinator; the three describe requests are written
 * here from Kafka's message specs, because its admin client has none of them
 * (its ConsumerGroupDescribe is version 0, without the member type).
 *
 * @module
 */
import {
  Admin as PlatformaticAdmin,
  Connection,
  createAPI,
  type Reader,
  type ResponseParser,
  Writer,
} from "@platformatic/kafka";
import { LabError } from "../platform/errors.ts";
import { type ProtocolClientOptions, protocolClientOptions } from "./config.ts";

/** The three kinds of group a Kafka 4 broker keeps. */
export type GroupType = "classic" | "consumer" | "share";

/** One group, as ListGroups reports it. */
export interface ListedGroup {
  groupId: string;
  /** classic (JoinGroup/SyncGroup), consumer (KIP-848) or share (KIP-932). */
  type: GroupType;
  /** The embedded protocol: `consumer` for consumers' groups, `share`, `connect`... */
  protocolType: string;
  state: string;
}

/** Partitions by topic name, each list sorted. */
export type Assignment = Record<string, number[]>;

/** A member of a consumer-protocol or share group. */
export interface EpochMember {
  memberId: string;
  clientId: string;
  host: string;
  instanceId: string | null;
  memberEpoch: number;
  assignment: Assignment;
  /** Where the broker is moving the member (consumer groups only). */
  targetAssignment?: Assignment;
  /** True: speaks the consumer protocol; false: a classic member of a converted group. */
  upgraded?: boolean;
}

/** A consumer-protocol or share group, as its describe request reports it. */
export interface EpochGroup {
  groupId: string;
  type: "consumer" | "share";
  /** Empty, Assigning, Reconciling, Stable (consumer) or Empty, Stable (share); Dead if absent. */
  state: string;
  groupEpoch: number;
  /** The target assignment's epoch (TARGET-ASSIGNMENT-EPOCH, share: ASSIGNMENT-EPOCH). */
  assignmentEpoch: number;
  /** The broker-side assignor, e.g. `uniform`, `range`, `simple`. */
  assignor: string;
  members: EpochMember[];
}

/** A share group's position on one partition. */
export interface SharePartitionOffset {
  topic: string;
  partition: number;
  /** The share-partition start offset, or null before the group read anything there. */
  startOffset: number | null;
  /** Records not yet acknowledged from the start offset on, or null. */
  lag: number | null;
}

/** A group's coordinator: the broker's node id and client address. */
export interface Coordinator {
  nodeId: number;
  host: string;
  port: number;
}

const GROUP_ID_NOT_FOUND = 69;
const UNSUPPORTED_VERSION = 35;

function readAssignment(r: Reader): Assignment {
  const assignment: Assignment = {};
  r.readArray(
    (r) => {
      r.readUUID();
      const topic = r.readString();
      assignment[topic] = r.readArray(() => r.readInt32(), true, false).sort((a, b) => a - b);
      r.readTaggedFields();
    },
    true,
    false,
  );
  r.readTaggedFields();
  return assignment;
}

/** A group-level error code and message, kept for the caller to judge. */
interface GroupResult<T> {
  errorCode: number;
  errorMessage: string | null;
  group: T;
}

function describeRequest(groupIds: string[]): Writer {
  return Writer.create()
    .appendArray(groupIds, (w, id) => w.appendString(id), true, false)
    .appendBoolean(false)
    .appendTaggedFields();
}

/**
 * The response of ConsumerGroupDescribe and ShareGroupDescribe, whose group
 * fields are the same: only the members differ, read by `readMember`.
 */
function describeResponse(
  type: EpochGroup["type"],
  readMember: (r: Reader) => EpochMember,
): ResponseParser<GroupResult<EpochGroup>[]> {
  return (_correlationId, _apiKey, _apiVersion, reader) => {
    reader.readInt32(); // throttle time
    const groups = reader.readArray(
      (r) => {
        const errorCode = r.readInt16();
        const errorMessage = r.readNullableString();
        const group: EpochGroup = {
          type,
          groupId: r.readString(),
          state: r.readString(),
          groupEpoch: r.readInt32(),
          assignmentEpoch: r.readInt32(),
          assignor: r.readString(),
          members: r.readArray(readMember, true, false),
        };
        r.readInt32(); // authorized operations
        r.readTaggedFields();
        return { errorCode, errorMessage, group };
      },
      true,
      false,
    );
    reader.readTaggedFields();
    return groups;
  };
}

/** ConsumerGroupDescribe v1 (key 69): v0 plus each member's type. */
const consumerGroupDescribeV1 = createAPI<[string[]], GroupResult<EpochGroup>[]>(
  69,
  1,
  describeRequest,
  describeResponse("consumer", (r) => {
    const memberId = r.readString();
    const instanceId = r.readNullableString();
    r.readNullableString(); // rack
    const memberEpoch = r.readInt32();
    const clientId = r.readString();
    const host = r.readString();
    r.readArray((r) => r.readString(), true, false); // subscribed topics
    r.readNullableString(); // subscribed regex
    const assignment = readAssignment(r);
    const targetAssignment = readAssignment(r);
    const memberType = r.readInt8(); // -1 unknown, 0 classic, 1 consumer
    r.readTaggedFields();
    return {
      memberId,
      clientId,
      host,
      instanceId,
      memberEpoch,
      assignment,
      targetAssignment,
      upgraded: memberType === -1 ? undefined : memberType === 1,
    };
  }),
);

/** ShareGroupDescribe v1 (key 77), the only stable version. */
const shareGroupDescribeV1 = createAPI<[string[]], GroupResult<EpochGroup>[]>(
  77,
  1,
  describeRequest,
  describeResponse("share", (r) => {
    const memberId = r.readString();
    r.readNullableString(); // rack
    const memberEpoch = r.readInt32();
    const clientId = r.readString();
    const host = r.readString();
    r.readArray((r) => r.readString(), true, false); // subscribed topics
    const assignment = readAssignment(r);
    r.readTaggedFields();
    return { memberId, clientId, host, instanceId: null, memberEpoch, assignment };
  }),
);

/** DescribeShareGroupOffsets v1 (key 90): start offset and lag, every topic (null topics). */
const describeShareGroupOffsetsV1 = createAPI<[string], GroupResult<SharePartitionOffset[]>>(
  90,
  1,
  (groupId: string) =>
    Writer.create()
      .appendArray(
        [groupId],
        (w, id) => w.appendString(id).appendArray(null, () => {}, true, false),
      )
      .appendTaggedFields(),
  (_correlationId, _apiKey, _apiVersion, reader) => {
    reader.readInt32();
    const [result] = reader.readArray(
      (r) => {
        r.readString(); // group id
        const offsets: SharePartitionOffset[] = [];
        r.readArray(
          (r) => {
            const topic = r.readString();
            r.readUUID();
            r.readArray(
              (r) => {
                const partition = r.readInt32();
                const start = Number(r.readInt64());
                r.readInt32(); // leader epoch
                const lag = Number(r.readInt64());
                r.readInt16();
                r.readNullableString();
                r.readTaggedFields();
                offsets.push({
                  topic,
                  partition,
                  startOffset: start < 0 ? null : start,
                  lag: start < 0 || lag < 0 ? null : lag,
                });
              },
              true,
              false,
            );
            r.readTaggedFields();
          },
          true,
          false,
        );
        const errorCode = r.readInt16();
        const errorMessage = r.readNullableString();
        r.readTaggedFields();
        return { errorCode, errorMessage, group: offsets };
      },
      true,
      false,
    );
    reader.readTaggedFields();
    return result;
  },
);

/** Why a request failed, from what @platformatic/kafka threw. */
function unsupported(error: unknown): boolean {
  const text = JSON.stringify(error, Object.getOwnPropertyNames(error ?? {}));
  return /UNSUPPORTED_VERSION|"apiCode":35|not supported/i.test(text);
}

/**
 * A connection to a cluster for the new group APIs. Open it with the
 * brokers' addresses, and {@linkcode close} it when done.
 *
 * @example
 * ```ts
 * const apis = new GroupApis(["127.0.0.1:9092"]);
 * try {
 *   console.log(await apis.listGroups());
 *   console.log(await apis.describeConsumerGroup("billing-group"));
 * } finally {
 *   await apis.close();
 * }
 * ```
 */
export class GroupApis {
  #admin: PlatformaticAdmin;
  #connections = new Map<string, Promise<Connection>>();

  /** Connection settings of every request: the brokers and the environment's TLS/SASL. */
  #options: ProtocolClientOptions;

  /** Connects to `brokers` with the security `KAFKA_SSL`/`KAFKA_SASL_*` set, as every lab client. */
  constructor(readonly brokers: string[]) {
    this.#options = protocolClientOptions({ brokers, clientId: "lab-groupapis" });
    this.#admin = new PlatformaticAdmin({ ...this.#options, retries: 1, timeout: 10_000 });
  }

  /** Every group the cluster keeps, with its type, sorted by group id. */
  async listGroups(): Promise<ListedGroup[]> {
    // Its default lists classic groups only; an empty filter means every type.
    const groups = await this.#admin.listGroups({ types: [] });
    return [...groups.values()]
      .map((g) => ({
        groupId: g.id,
        type: (g.groupType ?? "classic").toLowerCase() as GroupType,
        protocolType: g.protocolType,
        state: g.state,
      }))
      .sort((a, b) => a.groupId.localeCompare(b.groupId));
  }

  /**
   * The consumer-protocol group `groupId`, or undefined if it is not one
   * (a classic group, a share group, none) or the broker has no KIP-848.
   */
  async describeConsumerGroup(groupId: string): Promise<EpochGroup | undefined> {
    return await this.#describe(groupId, consumerGroupDescribeV1);
  }

  /**
   * The share group `groupId`, or undefined if it is not one or the broker
   * has no share groups (KIP-932 off: `share.version=0`).
   */
  async describeShareGroup(groupId: string): Promise<EpochGroup | undefined> {
    return await this.#describe(groupId, shareGroupDescribeV1);
  }

  /**
   * The `group.instance.id` of each static member of the classic group
   * `groupId`, by member id (DescribeGroups v4+; kafkajs asks v2, which has
   * none). A static member that restarts gets a new member id, and keeps its
   * instance id.
   */
  async classicInstanceIds(groupId: string): Promise<Map<string, string>> {
    const groups = await this.#admin.describeGroups({ groups: [groupId] });
    const ids = new Map<string, string>();
    for (const member of groups.get(groupId)?.members.values() ?? []) {
      if (member.groupInstanceId) ids.set(member.id, member.groupInstanceId);
    }
    return ids;
  }

  /** A share group's start offset and lag on every partition it has read. */
  async shareGroupOffsets(groupId: string): Promise<SharePartitionOffset[]> {
    const connection = await this.#coordinator(groupId);
    const result = await describeShareGroupOffsetsV1.async(connection, groupId);
    if (result.errorCode !== 0) {
      throw new LabError(
        `Kafka refused the share group offsets of '${groupId}': ${
          result.errorMessage ?? `error ${result.errorCode}`
        }`,
      );
    }
    return result.group.sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
  }

  async #describe(
    groupId: string,
    api: typeof consumerGroupDescribeV1,
  ): Promise<EpochGroup | undefined> {
    const connection = await this.#coordinator(groupId);
    let results: GroupResult<EpochGroup>[];
    try {
      results = await api.async(connection, [groupId]);
    } catch (error) {
      if (unsupported(error)) return undefined;
      throw error;
    }
    const [{ errorCode, errorMessage, group }] = results;
    if (errorCode === GROUP_ID_NOT_FOUND || errorCode === UNSUPPORTED_VERSION) return undefined;
    if (errorCode !== 0) {
      throw new LabError(
        `Kafka refused to describe '${groupId}': ${errorMessage ?? `error ${errorCode}`}`,
      );
    }
    return group;
  }

  /**
   * The broker coordinating `groupId` (FindCoordinator, which kafkajs's admin
   * lacks): the leader of the `__consumer_offsets` partition the group id
   * hashes to. The first lookup in a cluster creates `__consumer_offsets`.
   */
  async findCoordinator(groupId: string): Promise<Coordinator> {
    const [{ nodeId, host, port }] = await this.#admin.findCoordinator({
      keyType: 0,
      keys: [groupId],
    });
    return { nodeId, host, port };
  }

  async #coordinator(groupId: string): Promise<Connection> {
    const found = await this.findCoordinator(groupId);
    const address = `${found.host}:${found.port}`;
    if (!this.#connections.has(address)) {
      const { clientId, connectTimeout, tls, sasl } = this.#options;
      const connection = new Connection(clientId, { connectTimeout, tls, sasl });
      this.#connections.set(
        address,
        (async () => {
          await connection.connect(found.host, found.port);
          return connection;
        })(),
      );
    }
    return await this.#connections.get(address)!;
  }

  /** Closes every connection. */
  async close(): Promise<void> {
    for (const connection of this.#connections.values()) {
      await (await connection.catch(() => undefined))?.close();
    }
    this.#connections.clear();
    await this.#admin.close();
  }
}
