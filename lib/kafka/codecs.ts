/**
 * Kafka's compression codecs for kafkajs, which ships only gzip: a batch
 * compressed with snappy, lz4 or zstd (Java's `compression.type`, kcat's
 * `-z`) otherwise stops a member with `Snappy compression not implemented`.
 *
 * All three are pure JavaScript, so they run unchanged on Deno and Bun:
 * `kafkajs-snappy` (kafkajs's own snappy plug-in, on `snappyjs`, which reads
 * the xerial framing Java writes), `lz4js` (LZ4 frames, as Kafka writes
 * them) and `fzstd` (zstd; it only decompresses, so the lab's producers
 * never write zstd).
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { CompressionCodecs, CompressionTypes } from "kafkajs";
import snappyCodec from "kafkajs-snappy";
import * as lz4 from "lz4js";
import { decompress as zstdDecompress } from "fzstd";

/** The shape of a kafkajs codec: `encoder.buffer` in, compressed bytes out, and back. */
interface Codec {
  compress(encoder: { buffer: Buffer }): Promise<Buffer>;
  decompress(buffer: Buffer): Promise<Buffer>;
}

const asBuffer = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);

const lz4Codec = (): Codec => ({
  compress: (encoder) => Promise.resolve(asBuffer(lz4.compress(encoder.buffer))),
  decompress: (buffer) => Promise.resolve(asBuffer(lz4.decompress(buffer))),
});

const zstdCodec = (): Codec => ({
  compress: () => Promise.reject(new Error("the lab's clients read zstd but do not write it")),
  decompress: (buffer) => Promise.resolve(asBuffer(zstdDecompress(buffer))),
});

/**
 * Registers snappy, lz4 and zstd with kafkajs, for every client of this
 * process. Idempotent; `GroupMember.start` calls it.
 *
 * @example
 * ```ts
 * registerCompressionCodecs();
 * ```
 */
export function registerCompressionCodecs(): void {
  CompressionCodecs[CompressionTypes.Snappy] = snappyCodec;
  CompressionCodecs[CompressionTypes.LZ4] = lz4Codec;
  CompressionCodecs[CompressionTypes.ZSTD] = zstdCodec;
}
