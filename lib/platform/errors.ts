/**
 * The lab's expected failures: a message a learner can act on and the exit
 * code that goes with it. Every layer throws them; only the CLI layer
 * (`lib/cli/`'s `runMain`) turns them into one line on stderr and an exit.
 *
 * @module
 */

/**
 * An expected failure with a message a learner can act on. Scripts print only
 * the message (one line, no stack trace) and exit with `exitCode`.
 *
 * @example
 * ```ts
 * throw new LabError("Topic order-events does not exist. Run `deno task producer` first.");
 * ```
 */
export class LabError extends Error {
  /** Process exit code to use when this error ends a script. */
  readonly exitCode: number;
  constructor(message: string, exitCode = 1) {
    super(message);
    this.name = "LabError";
    this.exitCode = exitCode;
  }
}

/**
 * Bad input from the user (unknown flag, malformed value): exit code 2.
 *
 * @example
 * ```ts
 * throw new UsageError("--count must be a whole number ≥ 0, got 'ten'");
 * ```
 */
export class UsageError extends LabError {
  constructor(message: string) {
    super(message, 2);
    this.name = "UsageError";
  }
}
