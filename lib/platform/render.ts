/**
 * Rendering: tables and the "partitions → members" diagram, as plain text in
 * terminals and as HTML/SVG in Jupyter notebooks, from the same objects.
 *
 * Every renderable implements the Deno Jupyter kernel's display protocol
 * (`Symbol.for("Jupyter.display")`), so a notebook cell that ends with one
 * shows HTML/SVG, and `console.log` / `String()` print the text form (on Deno
 * and Bun alike).
 *
 * @module
 */

import { notebook } from "./runtime.ts";

const JUPYTER_DISPLAY = Symbol.for("Jupyter.display");
/** Node's custom-inspect hook, which Deno's and Bun's `console.log` honour too. */
const INSPECT = Symbol.for("nodejs.util.inspect.custom");

/** A cell value; null renders as "-", as in Kafka's tools. */
export type Cell = string | number | null | undefined;

function cellText(value: Cell): string {
  return value === null || value === undefined || value === "" ? "-" : String(value);
}

/**
 * Escapes text for HTML and SVG.
 *
 * @example
 * ```ts
 * escapeHtml("<b>"); // "&lt;b&gt;"
 * ```
 */
export function escapeHtml(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;");
}

/**
 * A table with named columns: aligned text (like `kafka-consumer-groups.sh`)
 * in terminals, an HTML table in notebooks.
 *
 * @example
 * ```ts
 * const table = new Table(["MEMBER", "PARTITIONS"], [["Consumer 1", "0, 2"]]);
 * console.log(String(table));
 * ```
 */
export class Table {
  constructor(
    readonly columns: string[],
    readonly rows: Cell[][],
    readonly title?: string,
  ) {}

  /** Aligned plain text, one row a line, columns separated by two spaces. */
  toString(): string {
    const cells = [this.columns, ...this.rows.map((r) => r.map(cellText))];
    const widths = this.columns.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? "").length)));
    const lines = cells.map((r) =>
      r.map((c, i) => (c ?? "").padEnd(widths[i])).join("  ").trimEnd()
    );
    return (this.title ? `${this.title}\n` : "") + lines.join("\n");
  }

  /** An HTML table. */
  toHTML(): string {
    const head = this.columns.map((c) =>
      `<th style="text-align:left;padding:2px 12px 2px 0">${escapeHtml(c)}</th>`
    )
      .join("");
    const body = this.rows.map((r) =>
      `<tr>${
        r.map((c) =>
          `<td style="text-align:left;padding:2px 12px 2px 0">${escapeHtml(cellText(c))}</td>`
        ).join("")
      }</tr>`
    ).join("");
    const caption = this.title
      ? `<caption style="text-align:left"><b>${escapeHtml(this.title)}</b></caption>`
      : "";
    return `<table>${caption}<thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
  }

  [JUPYTER_DISPLAY](): Record<string, string> {
    return { "text/plain": this.toString(), "text/html": this.toHTML() };
  }

  [INSPECT](): string {
    return this.toString();
  }
}

/**
 * A table that grows in place, for a notebook: ONE output, created in the cell
 * that makes the table and updated through its display id, so rows added by a
 * callback after that cell ended still land in it (a `console.log` from a
 * callback goes to whichever cell runs next, or is lost). Outside a notebook
 * it keeps its rows and shows nothing.
 *
 * @example
 * ```ts
 * const table = new LiveTable(["PARTITION", "OFFSET"], "Consumer 1");
 * table.add([0, 5]);
 * ```
 */
export class LiveTable {
  readonly rows: Cell[][] = [];
  #id = `live-${crypto.randomUUID()}`;
  #pending: ReturnType<typeof setTimeout> | undefined;

  constructor(readonly columns: string[], public title: string) {
    this.#render(false);
  }

  /** Adds a row; the output is redrawn at most 20 times a second. */
  add(row: Cell[]): void {
    this.rows.push(row);
    this.refresh();
  }

  /** Redraws the output soon, e.g. after a new title. */
  refresh(): void {
    if (notebook()) this.#pending ??= setTimeout(() => this.#render(true), 50);
  }

  /**
   * Redraws the output now. Call it from a later cell that reports on the
   * table: an update sent between two cells may be dropped by a headless run
   * (nbconvert), one sent while a cell runs never is.
   */
  redraw(): void {
    clearTimeout(this.#pending);
    this.#render(true);
  }

  #render(update: boolean) {
    this.#pending = undefined;
    const table = new Table(this.columns, this.rows, this.title);
    notebook()?.display(
      { "text/plain": table.toString(), "text/html": table.toHTML() },
      { raw: true, display_id: this.#id, update },
    );
  }
}

/** Who owns what: one model for the ASCII picture and the SVG diagram. */
export interface AssignmentModel {
  topic: string;
  partitionCount: number;
  groupId: string;
  /** Members in display order; an empty `partitions` list means idle. */
  members: { name: string; partitions: number[] }[];
}

function readsFrom(partitions: number[]): string {
  return partitions.length === 0 ? "idle" : `reads from ${partitions.join(", ")}`;
}

/**
 * The seed's "Visual Representation", drawn from a live assignment: the
 * topic's partitions as boxes, the group's members as boxes saying which
 * partitions they read. ASCII in terminals, SVG (with arrows) in notebooks.
 *
 * @example
 * ```ts
 * const diagram = new AssignmentDiagram({
 *   topic: "order-events", partitionCount: 3, groupId: "billing-group",
 *   members: [{ name: "Consumer 1", partitions: [0, 2] }, { name: "Consumer 2", partitions: [1] }],
 * });
 * console.log(String(diagram));
 * ```
 */
export class AssignmentDiagram {
  constructor(readonly model: AssignmentModel) {}

  /** The seed's ASCII picture. */
  toString(): string {
    const { topic, partitionCount, groupId, members } = this.model;
    const partitions = Array.from({ length: partitionCount }, (_, p) => p);
    const widths = partitions.map(() => "Partition".length + 2);
    const border = "+" + widths.map((w) => "-".repeat(w)).join("+") + "+";
    const centered = (cells: string[]) =>
      "|" + cells.map((c, i) => {
        const left = Math.floor((widths[i] - c.length) / 2);
        return " ".repeat(left) + c + " ".repeat(widths[i] - c.length - left);
      }).join("|") + "|";
    const topicBox = [
      border,
      centered(partitions.map(() => "Partition")),
      centered(partitions.map(String)),
      border,
    ];
    const out = [`Topic: ${topic} (${partitionCount} partitions)`, ...topicBox, ""];
    out.push(`Consumer Group: ${groupId}`);
    if (members.length === 0) {
      out.push("(no members)");
    } else {
      const names = members.map((m) => m.name);
      const reads = members.map((m) => readsFrom(m.partitions));
      const widths = names.map((n, i) => Math.max(n.length, reads[i].length) + 2);
      const border = "+" + widths.map((w) => "-".repeat(w)).join("+") + "+";
      const row = (cells: string[]) =>
        "|" + cells.map((c, i) => " " + c.padEnd(widths[i] - 1)).join("|") + "|";
      out.push(border, row(names), row(reads), border);
    }
    return out.join("\n");
  }

  /** An SVG drawing: partition boxes on top, member boxes below, arrows between. */
  toSVG(): string {
    const { topic, partitionCount, groupId, members } = this.model;
    const boxW = 130, boxH = 46, gap = 24, top = 34, memberTop = 150;
    const columns = Math.max(partitionCount, members.length, 1);
    const width = columns * (boxW + gap) + gap;
    const height = memberTop + boxH + 34;
    const x = (i: number, count: number) =>
      (width - (count * boxW + (count - 1) * gap)) / 2 + i * (boxW + gap);
    const palette = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1"];
    const parts: string[] = [
      `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" ` +
      `viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="13">`,
      `<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" ` +
      `markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker></defs>`,
      `<text x="${gap}" y="20" font-weight="bold">Topic: ${
        escapeHtml(topic)
      } (${partitionCount} partitions)</text>`,
      `<text x="${gap}" y="${memberTop - 12}" font-weight="bold">Consumer Group: ${
        escapeHtml(groupId)
      }</text>`,
    ];
    const ownerOf = new Map<number, number>();
    members.forEach((m, i) => m.partitions.forEach((p) => ownerOf.set(p, i)));
    for (let p = 0; p < partitionCount; p++) {
      const owner = ownerOf.get(p);
      const fill = owner === undefined ? "#eee" : palette[owner % palette.length];
      parts.push(
        `<rect x="${x(p, partitionCount)}" y="${top}" width="${boxW}" height="${boxH}" rx="6" ` +
          `fill="${fill}" fill-opacity="0.25" stroke="${fill}" stroke-width="2"/>`,
        `<text x="${x(p, partitionCount) + boxW / 2}" y="${
          top + 28
        }" text-anchor="middle">Partition ${p}</text>`,
      );
    }
    members.forEach((m, i) => {
      const idle = m.partitions.length === 0;
      const color = idle ? "#999" : palette[i % palette.length];
      const mx = x(i, members.length);
      parts.push(
        `<rect x="${mx}" y="${memberTop}" width="${boxW}" height="${boxH}" rx="6" fill="${color}" ` +
          `fill-opacity="${idle ? 0.08 : 0.25}" stroke="${color}" stroke-width="2"` +
          `${idle ? ' stroke-dasharray="5,4"' : ""}/>`,
        `<text x="${mx + boxW / 2}" y="${memberTop + 19}" text-anchor="middle" font-weight="bold">${
          escapeHtml(m.name)
        }</text>`,
        `<text x="${mx + boxW / 2}" y="${memberTop + 37}" text-anchor="middle">${
          escapeHtml(readsFrom(m.partitions))
        }</text>`,
      );
      for (const p of m.partitions) {
        const px = x(p, partitionCount) + boxW / 2;
        parts.push(
          `<line x1="${px}" y1="${top + boxH}" x2="${mx + boxW / 2}" y2="${memberTop - 3}" ` +
            `stroke="#555" stroke-width="1.5" marker-end="url(#arrow)" class="owns" ` +
            `data-partition="${p}" data-member="${escapeHtml(m.name)}"/>`,
        );
      }
    });
    parts.push("</svg>");
    return parts.join("\n");
  }

  [JUPYTER_DISPLAY](): Record<string, string> {
    return { "text/plain": this.toString(), "image/svg+xml": this.toSVG() };
  }

  [INSPECT](): string {
    return this.toString();
  }
}

/** Anything a {@linkcode Report} can hold: a line of text, a table or a diagram. */
export type ReportPart = string | Table | AssignmentDiagram;

/**
 * Several parts shown together: text lines, tables and diagrams, as plain
 * text in a terminal and as HTML with inline SVG in a notebook.
 *
 * @example
 * ```ts
 * const report = new Report([
 *   "Group billing-group after the rebalance",
 *   new Table(["MEMBER", "PARTITIONS"], [["Consumer 1", "0, 1, 2"]]),
 * ]);
 * console.log(String(report));
 * ```
 */
export class Report {
  constructor(readonly parts: ReportPart[]) {}

  toString(): string {
    return this.parts.map(String).join("\n\n");
  }

  /** HTML: text as paragraphs, tables as HTML tables, diagrams as inline SVG. */
  toHTML(): string {
    return this.parts.map((part) => {
      if (part instanceof Table) return part.toHTML();
      if (part instanceof AssignmentDiagram) return `<div>${part.toSVG()}</div>`;
      return `<p>${escapeHtml(part)}</p>`;
    }).join("\n");
  }

  [JUPYTER_DISPLAY](): Record<string, string> {
    return { "text/plain": this.toString(), "text/html": this.toHTML() };
  }

  [INSPECT](): string {
    return this.toString();
  }
}

/**
 * Shows values: in a notebook as rich output (HTML, SVG) through
 * `Deno.jupyter.display`, in a terminal as text.
 *
 * Why not just end the cell with the value? Deno's kernel sometimes drops a
 * cell's final result when the cell ends right after producing it. A display
 * sent during the cell, followed by a short pause, always arrives.
 *
 * @example
 * ```ts
 * await show(new Table(["A"], [[1]]));
 * ```
 */
export async function show(...values: unknown[]): Promise<void> {
  const jupyter = notebook();
  for (const value of values) {
    if (!jupyter) console.log(String(value));
    else if (typeof value === "string") {
      await jupyter.display({ "text/plain": value }, { raw: true });
    } else await jupyter.display(value);
  }
  await flushOutput();
}

/**
 * In a notebook, pauses briefly so that output sent so far (displays, and
 * `console.log` lines) reaches Jupyter before the cell ends; elsewhere does
 * nothing. Call it last in anything a cell awaits that prints.
 *
 * @example
 * ```ts
 * console.log("done");
 * await flushOutput();
 * ```
 */
export async function flushOutput(): Promise<void> {
  if (notebook()) await new Promise((r) => setTimeout(r, 100));
}
