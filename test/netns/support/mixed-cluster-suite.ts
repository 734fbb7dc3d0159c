/**
 * The vitest side of the mixed-cluster netns tests (test/netns/mixed-cluster-*.test.ts), next to
 * mixed-cluster.ts: a suite's labs created in `beforeAll` and destroyed in `afterAll`, and the
 * assertions every file makes (a delay within keepalived's timing tolerance, journals that replay).
 * Not pure: it registers hooks and creates namespaces.
 */
import { afterAll, beforeAll, expect } from "vitest";
import { Lab, type LabHost } from "../../support/lab.ts";
import {
  type Advert,
  addressesOn,
  EARLY_US,
  LATE_US,
  type takeover,
  type Verified,
} from "./mixed-cluster.ts";

/**
 * Registers a suite's two-host labs, one a tag (`vg<pid><tag>`): `beforeAll` creates them and runs
 * `scenarios` on them; `afterAll` destroys every lab that was created, also when another failed.
 */
export function withLabs<const T extends readonly string[]>(
  tags: T,
  scenarios: (labs: { -readonly [K in keyof T]: Lab }) => Promise<void>,
  timeoutMs = 150_000,
): void {
  const created: Lab[] = [];
  beforeAll(async () => {
    const base = `vg${process.pid % 1000}`;
    const settled = await Promise.allSettled(
      tags.map((t) => Lab.create({ prefix: `${base}${t}`, hosts: 2 })),
    );
    for (const s of settled) if (s.status === "fulfilled") created.push(s.value);
    const failed = settled.find((s) => s.status === "rejected");
    if (failed !== undefined) throw failed.reason;
    await scenarios(created as { -readonly [K in keyof T]: Lab });
  }, timeoutMs);
  afterAll(async () => {
    await Promise.all(created.map((l) => l.destroy()));
  });
}

/** Asserts that at least `minSegments` segments were verified and that each replayed ("verify ok", exit 0). */
export function expectJournalsVerified(journals: readonly Verified[], minSegments = 1): void {
  expect(journals.length).toBeGreaterThanOrEqual(minSegments);
  for (const j of journals) {
    expect(j.stderr, j.segment).toContain("verify ok");
    expect(j.code, j.stderr).toBe(0);
  }
}

/**
 * Asserts a measured delay (µs) is the expected one, at most EARLY_US early and LATE_US late;
 * `detail` goes into a failure's message.
 */
export function expectWithin(deltaUs: number | undefined, expectedUs: number, detail?: string): void {
  expect(deltaUs, detail).toBeDefined();
  expect(deltaUs ?? 0, detail).toBeGreaterThanOrEqual(expectedUs - EARLY_US);
  expect(deltaUs ?? 0, detail).toBeLessThanOrEqual(expectedUs + LATE_US);
}

/**
 * `expectWithin` for a takeover measured on the wire (`takeover`): a failure says what the capture
 * held around it — the new master's first advert and the old master's last ones before it, in
 * seconds from that first advert — so that an advert missing from the capture can be told from a
 * late takeover.
 */
export function expectTakeoverWithin(t: ReturnType<typeof takeover>, expectedUs: number): void {
  const at = (a: Advert): string =>
    `${a.src} prio ${a.prio} at ${((a.atUs - (t?.toAdvert.atUs ?? 0)) / 1e6).toFixed(3)} s`;
  const detail =
    t === undefined
      ? "no takeover on the wire"
      : `new master's first advert: ${at(t.toAdvert)}; old master's last before it: ${t.history.map(at).join(", ")}`;
  expectWithin(t?.deltaUs, expectedUs, detail);
}

/** The log line of `vi` entering `state` (MASTER, BACKUP, FAULT), as keepalived and Vigil write it. */
export const entering = (vi: string, state: string): RegExp =>
  new RegExp(`\\(${vi}\\) Entering ${state} STATE`);

/** The addresses of the lab's first and second host (`read`: eth0's by default). */
export const addressesOnBoth = async (
  lab: Lab,
  read: (lab: Lab, h: LabHost) => Promise<string[]> = (l, h) => addressesOn(l, h),
): Promise<string[][]> => [await read(lab, lab.host(1)), await read(lab, lab.host(2))];
