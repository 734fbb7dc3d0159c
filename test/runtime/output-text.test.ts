/**
 * The text of outputs: `vigil replay`'s timeline (`formatOutput`) and the status server's event
 * summaries (`describeOutput`) spell every kind of output out, from one formatter; replay keeps its
 * own wording for state changes and GARPs.
 */
import { describe, expect, it } from "vitest";
import type { Output } from "../../src/runtime/node.ts";
import { describeOutput } from "../../src/runtime/output-text.ts";
import { formatOutput } from "../../src/runtime/replay.ts";

describe("output text", () => {
  it("replay names tracker changes and timer shifts as the status server does, not as JSON", () => {
    const tracker = { type: "trackerChanged", tracker: "chk", ok: false } as Output;
    const shift = { type: "shiftTimer", instance: "VI_1", timer: "masterDown", deltaUs: -250 } as Output;
    expect(formatOutput(tracker)).toBe("trackerChanged chk failed");
    expect(formatOutput(shift)).toBe("shiftTimer VI_1 masterDown -250us");
    expect(formatOutput(tracker)).toBe(describeOutput(tracker));
  });

  it("replay keeps its own wording for state changes; the status server its ASCII arrow", () => {
    const state = { type: "state", actor: "instance:VI_1", from: "BACKUP", to: "MASTER" } as Output;
    expect(formatOutput(state)).toBe("instance:VI_1: BACKUP → MASTER");
    expect(describeOutput(state)).toBe("instance:VI_1 BACKUP -> MASTER");
  });
});
