/**
 * The daemon's log port writes a step's lines once the step is over (after its advert and VIP
 * request reached the kernel), in order, and `flush` writes what is pending at once.
 */
import { describe, expect, it } from "vitest";
import { logAfterTheStep } from "../../src/effects/host-ports.ts";

describe("log lines after the step", () => {
  it("writes nothing during the synchronous step, then every line in order", async () => {
    const written: string[] = [];
    const log = logAfterTheStep((line, detail, severity) =>
      written.push(`${line}${detail ? " (detail)" : ""}${severity === undefined ? "" : ` (${severity})`}`),
    );
    log.log("(VI_1) Entering MASTER STATE", false);
    written.push("VIP request sent");
    log.log("(VI_1) setting VIPs.", true);
    log.log("Error exec-ing command '/x', error ENOENT: gone", false, "error");
    expect(written).toEqual(["VIP request sent"]);
    await Promise.resolve();
    expect(written).toEqual([
      "VIP request sent",
      "(VI_1) Entering MASTER STATE",
      "(VI_1) setting VIPs. (detail)",
      "Error exec-ing command '/x', error ENOENT: gone (error)",
    ]);
    // a later step's lines come after, again once its synchronous part is over
    log.log("(VI_1) Entering BACKUP STATE", false);
    await Promise.resolve();
    expect(written.at(-1)).toBe("(VI_1) Entering BACKUP STATE");
  });

  it("flush writes pending lines at once and they are not written twice", async () => {
    const written: string[] = [];
    const log = logAfterTheStep((line) => written.push(line));
    log.log("a", false);
    log.log("b", false);
    log.flush();
    expect(written).toEqual(["a", "b"]);
    await Promise.resolve();
    expect(written).toEqual(["a", "b"]);
  });

  it("a sink that throws loses only its own line, and later lines are still written", async () => {
    const written: string[] = [];
    const log = logAfterTheStep((line) => {
      if (line === "bad") throw new Error("EPIPE");
      written.push(line);
    });
    log.log("bad", false);
    log.log("good", false);
    await Promise.resolve();
    log.log("later", false);
    await Promise.resolve();
    expect(written).toEqual(["good", "later"]);
  });
});
