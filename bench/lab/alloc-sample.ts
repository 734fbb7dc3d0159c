/**
 * Bytes allocated per unit of work, by allocating function: V8's sampling heap profiler over the
 * inspector of this process (collected objects included), for the lab benches' `ALLOC` switch. With
 * `promotedOnly`, only the bytes that outlived the young generation (promoted, then collected by a full
 * GC or still live) — what drives the full GCs. Not pure (the inspector session).
 */
import { Session } from "node:inspector/promises";

interface SampleNode {
  readonly callFrame: { functionName: string; url: string; lineNumber: number };
  readonly selfSize: number;
  readonly children: readonly SampleNode[];
}

/** Starts sampling; the returned function stops it and prints the bytes per unit (`units` done meanwhile). */
export const sampleAllocations = async (
  promotedOnly: boolean,
): Promise<(units: number, unit: string) => Promise<void>> => {
  const session = new Session();
  session.connect();
  await session.post("HeapProfiler.startSampling", {
    samplingInterval: 256,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: !promotedOnly,
  } as never);
  return async (units, unit) => {
    try {
      const { profile } = (await session.post("HeapProfiler.stopSampling")) as {
        profile: { head: SampleNode };
      };
      const by = new Map<string, number>();
      let total = 0;
      const name = (s: SampleNode): string => {
        const f = s.callFrame;
        return `${f.functionName || "(anonymous)"} ${f.url.split("/").slice(-2).join("/")}:${f.lineNumber + 1}`;
      };
      // keyed by the function and its caller: a builtin's bytes (an iterator's \`next\`) name who called it
      const walk = (s: SampleNode, caller: string): void => {
        const own = name(s);
        const key = `${own}  ← ${caller}`;
        total += s.selfSize;
        if (s.selfSize > 0) by.set(key, (by.get(key) ?? 0) + s.selfSize);
        for (const c of s.children) walk(c, own);
      };
      walk(profile.head, "");
      console.log(`allocated ≈ ${(total / units).toFixed(0)} bytes per ${unit}; by function:`);
      for (const [k, v] of [...by].sort((a, b) => b[1] - a[1]).slice(0, 15))
        console.log(`  ${(v / units).toFixed(0).padStart(6)} B  ${k}`);
    } finally {
      session.disconnect();
    }
  };
};
