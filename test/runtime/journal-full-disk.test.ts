/**
 * A full disk under the journal (issue 11): a small tmpfs mounted on a temp dir (root; unmounted in
 * `finally`; skipUnlessLab), filled with a filler file.
 *
 * FileJournal directly: appends never throw; the failure is reported once (not per line); the
 * `degraded` getter says since when, why (ENOSPC) and how many lines were dropped; the segment on
 * disk is cut back to its last complete batch (readable, ends on a write boundary); a resume attempt
 * while the disk is still full stays degraded without another log line and leaves no file behind;
 * once space returns, the next rotation closes the old segment with its trailer and opens a new one
 * whose checkpoint line records the gap, and `degraded` is false again.
 *
 * The daemon: `vigil run` in a lab namespace with its journal on a full tmpfs keeps advertising
 * (tcpdump in h2) after logging the failure once, resumes journaling once space returns (a second
 * line), and `vigil replay` on the new segment reports the gap. Not pure (mounts, processes).
 */
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { VirtualClock } from "../../src/runtime/clock.ts";
import type { Input } from "../../src/runtime/input.ts";
import { inLine } from "../../src/runtime/input-text.ts";
import { endsAtWriteBoundary, FileJournal, readJournal, segmentPath } from "../../src/runtime/journal.ts";
import { listSegments } from "../../src/runtime/segment-file.ts";
import { parseTcpdumpVrrp } from "../netns/support/differential.ts";
import { vigilBin, vigilRunArgs } from "../netns/support/vigil.ts";
import { skipUnlessLab } from "../support/env.ts";
import { dumpForInspection, Lab, mustRun, run, waitFor } from "../support/lab.ts";
import { tempDirForTest } from "../support/temp.ts";

const header = JSON.stringify({
  t: "header",
  vigil: "test",
  configHash: "c0ffee",
  spec: { instances: [], groups: [], trackers: [] },
});
const advert = (k: number): Input => ({
  kind: "rx",
  family: 4,
  src: `198.18.${k >> 8}.${k & 255}`,
  dst: "224.0.0.18",
  ttl: 255,
  ifname: "eth0",
  hex: `21016401010${(k % 16).toString(16)}0000c6120064`,
});
const checkpointAt = (seq: number, atUs: number) => ({
  format: "vigil-checkpoint",
  version: 1,
  seq,
  atUs,
  state: {},
});

/** Mounts a tmpfs of `sizeKb` on a fresh temp dir for the test's duration. */
async function withTmpfs<T>(sizeKb: number, body: (dir: string) => Promise<T>): Promise<T> {
  const dir = tempDirForTest("vigil-fulldisk-");
  await mustRun("mount", ["-t", "tmpfs", "-o", `size=${sizeKb}k,mode=0755`, "tmpfs", dir]);
  try {
    return await body(dir);
  } finally {
    await run("umount", ["-l", dir]);
  }
}

/** Fills the file system of `dir` with `filler` until ENOSPC; returns its path. */
function fill(dir: string): string {
  const filler = join(dir, "filler");
  const chunk = Buffer.alloc(4096, 0x61);
  const fd = openSync(filler, "w");
  try {
    for (;;) writeSync(fd, chunk);
  } catch (e) {
    if ((e as { code?: string }).code !== "ENOSPC") throw e;
  } finally {
    closeSync(fd);
  }
  return filler;
}
const lab = { root: true } as const;

describe.skipIf(skipUnlessLab("journal on a full disk (FileJournal)", lab))(
  "FileJournal on a full disk",
  () => {
    it("degrades once, never throws, and resumes with a new segment that records the gap", async () => {
      await withTmpfs(256, async (dir) => {
        const clock = new VirtualClock();
        const problems: string[] = [];
        const severities: (string | undefined)[] = [];
        const path = join(dir, "journal.jsonl");
        const j = new FileJournal(path, {
          clock,
          sync: true,
          flushLines: 8,
          maxSegmentBytes: 1 << 20,
          retryDelayUs: 2_000_000,
          onProblem: (l, severity) => {
            problems.push(l);
            severities.push(severity);
          },
        });
        j.append(header);
        let seq = 0;
        const step = (n: number): void => {
          for (let i = 0; i < n; i++) {
            seq++;
            clock.advanceBy(1000);
            j.append(inLine({ seq, atUs: clock.nowUs(), input: advert(seq) }));
          }
        };
        step(100);
        j.flush();
        expect(j.degraded).toBe(false);
        const filler = fill(dir);
        expect(() => step(2000)).not.toThrow();
        expect(() => j.flush()).not.toThrow();
        // once, however many lines failed
        expect(problems.length, problems.join("\n")).toBe(1);
        expect(problems[0]).toMatch(
          /^journal: cannot write .*journal\.000001\.jsonl: ENOSPC.* - VRRP goes on/,
        );
        const d = j.degraded;
        expect(d).not.toBe(false);
        if (d === false) return;
        expect(d.reason).toMatch(/^ENOSPC/);
        expect(d.lostLines).toBeGreaterThan(1500);
        expect(Math.abs(d.sinceMs - Date.now())).toBeLessThan(60_000);
        // the segment is cut back to its last complete batch: readable, a crash-like end
        const first = readFileSync(segmentPath(path, 1), "utf8");
        const r1 = readJournal(first);
        expect(r1.ok, JSON.stringify(r1)).toBe(true);
        expect(endsAtWriteBoundary(first)).toBe(true);
        // no retry before the delay; a retry while still full stays degraded, quietly, no new file
        expect(j.shouldRotate()).toBe(false);
        clock.advanceBy(2_000_000);
        expect(j.shouldRotate()).toBe(true);
        expect(() => j.startSegment(checkpointAt(seq, clock.nowUs()))).not.toThrow();
        expect(j.degraded).not.toBe(false);
        expect(problems.length).toBe(1);
        expect(listSegments(path)).toEqual([1]);
        expect(j.shouldRotate()).toBe(false);
        step(10);
        // space returns
        unlinkSync(filler);
        clock.advanceBy(2_000_000);
        expect(j.shouldRotate()).toBe(true);
        j.startSegment(checkpointAt(seq, clock.nowUs()));
        expect(j.degraded).toBe(false);
        expect(problems.length).toBe(2);
        expect(problems[1]).toMatch(
          /^journal: writing again \(segment .*journal\.000002\.jsonl\) after \d+ line\(s\) lost/,
        );
        // the daemon logs the failure as an error, the resumption as an ordinary line
        expect(severities).toEqual(["error", undefined]);
        step(50);
        j.close();
        const old = readJournal(readFileSync(segmentPath(path, 1), "utf8"));
        expect(old.ok && old.closed).toBe(true);
        const next = readJournal(readFileSync(segmentPath(path, 2), "utf8"));
        expect(next.ok, JSON.stringify(next)).toBe(true);
        if (!next.ok) return;
        expect(next.closed).toBe(true);
        expect(next.checkpoint?.seq).toBe(seq - 50);
        expect(next.gap?.reason).toMatch(/^ENOSPC/);
        expect(next.gap?.lostLines).toBe(d.lostLines + 10);
        expect(next.lines.filter((l) => l.t === "in").length).toBe(50);
      });
    });

    it("no room even to create the segment: degraded from the start, resumes later", async () => {
      const dir = tempDirForTest("vigil-noinode-");
      // a tmpfs whose inodes run out (the root directory takes one): creating a file fails
      await mustRun("mount", ["-t", "tmpfs", "-o", "size=256k,nr_inodes=3,mode=0755", "tmpfs", dir]);
      try {
        const blockers = [join(dir, "a"), join(dir, "b")].filter((f) => {
          try {
            writeFileSync(f, "");
            return true;
          } catch {
            return false;
          }
        });
        const clock = new VirtualClock();
        const problems: string[] = [];
        const path = join(dir, "journal.jsonl");
        let j: FileJournal | undefined;
        expect(() => {
          j = new FileJournal(path, {
            clock,
            maxSegmentBytes: 1 << 20,
            retryDelayUs: 1_000_000,
            onProblem: (l) => problems.push(l),
          });
        }).not.toThrow();
        if (j === undefined) return;
        j.append(header);
        for (let seq = 1; seq <= 20; seq++) j.appendIn?.(seq, seq, JSON.stringify(advert(seq)));
        expect(problems.length, problems.join("\n")).toBe(1);
        expect(j.degraded === false ? "" : j.degraded.reason).toMatch(/^ENOSPC/);
        for (const f of blockers) unlinkSync(f);
        clock.advanceBy(1_000_000);
        expect(j.shouldRotate()).toBe(true);
        j.startSegment(checkpointAt(20, clock.nowUs()));
        expect(j.degraded).toBe(false);
        j.close();
        const seg = readJournal(readFileSync(segmentPath(path, 2), "utf8"));
        expect(seg.ok && seg.closed && seg.gap?.lostLines).toBe(21);
      } finally {
        await run("umount", ["-l", dir]);
      }
    });

    it("an unsegmented journal on a full disk degrades for good, still without throwing", async () => {
      await withTmpfs(64, async (dir) => {
        const problems: string[] = [];
        const j = new FileJournal(join(dir, "one.jsonl"), { onProblem: (l) => problems.push(l) });
        j.append(header);
        fill(dir);
        for (let seq = 1; seq <= 500; seq++) j.append(inLine({ seq, atUs: seq, input: advert(seq) }));
        expect(problems.length).toBe(1);
        expect(problems[0]).toContain("the journal stays off until restart");
        expect(j.shouldRotate()).toBe(false);
        expect(() => j.close()).not.toThrow();
      });
    });
  },
);

const daemonSuite = "netns: vigil run with its journal on a full disk";
describe.skipIf(skipUnlessLab(daemonSuite, { netns: true, tcpdump: true }))(daemonSuite, () => {
  it("keeps advertising, logs once, resumes when space returns; replay reports the gap", async () => {
    const net = await Lab.create({ prefix: `vg${process.pid % 1000}fd`, hosts: 2 });
    try {
      await withTmpfs(512, async (dir) => {
        const [h1, h2] = [net.host(1), net.host(2)];
        const conf = join(net.tempDir(), "keepalived.conf");
        const sub = `198.18.${net.subnet}`;
        writeFileSync(
          conf,
          `vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 91\n priority 150\n advert_int 1\n virtual_ipaddress { ${sub}.91/24 }\n}\n`,
        );
        const journalDir = join(dir, "journal");
        mkdirSync(journalDir);
        const wire = await net.tcpdump(h2, ["-tt"]);
        const vigil = net.spawn(h1.ns, process.execPath, [
          ...vigilRunArgs({
            config: conf,
            journalDir,
            pidFile: join(net.tempDir(), "vigil.pid"),
          }),
        ]);
        try {
          await vigil.waitForOutput(/\(VI_1\) Entering MASTER STATE/, 20_000);
          const filler = fill(dir);
          await vigil.waitForOutput(/journal: cannot write .*ENOSPC/, 15_000);
          const failedAtUs = Date.now() * 1000;
          // adverts go on after the failure, at their interval
          await waitFor(
            "4 adverts after the disk filled",
            async () =>
              parseTcpdumpVrrp(wire.stdout).filter((p) => p.vrid === 91 && p.atUs > failedAtUs).length >= 4
                ? true
                : undefined,
            15_000,
          );
          expect(vigil.running).toBe(true);
          expect(vigil.output.match(/journal: cannot write/g)?.length).toBe(1);
          expect(vigil.output).not.toMatch(/Leaving MASTER|Entering BACKUP STATE(?! \(init\))/);
          unlinkSync(filler);
          await vigil.waitForOutput(/journal: writing again/, 20_000);
          await new Promise((r) => setTimeout(r, 1500));
        } finally {
          dumpForInspection("journal-full-disk", vigil.output);
          await vigil.stop("SIGTERM", 15_000);
          await wire.stop();
        }
        expect(vigil.code).toBe(0);
        const segs = readdirSync(journalDir)
          .filter((f) => f.endsWith(".jsonl"))
          .sort();
        expect(segs.length).toBeGreaterThanOrEqual(2);
        const last = join(journalDir, segs.at(-1) as string);
        const replay = await run(process.execPath, [vigilBin, "replay", "--verify", last]);
        expect(replay.stderr).toMatch(/starts after a gap in the journal: not written from .* \(ENOSPC/);
        expect(replay.code, replay.stderr).toBe(0);
        const before = join(journalDir, segs.at(-2) as string);
        const replayBefore = await run(process.execPath, [vigilBin, "replay", "--verify", before]);
        expect(replayBefore.code, replayBefore.stderr).toBe(0);
        rmSync(journalDir, { recursive: true, force: true });
        expect(existsSync(journalDir)).toBe(false);
      });
    } finally {
      await net.destroy();
    }
  }, 120_000);
});
