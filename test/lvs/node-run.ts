/**
 * LVS checkers inside a Node, for tests: one virtual server whose one real server is checked by
 * `checkers`, on a VirtualClock, every probe answered `answer(checker)` 1 ms after it starts; run to
 * `untilUs`, then shut down. Gives the log lines (`"atUs line"`), the journal's lines and what
 * replaying that journal found. Not pure (a Node with a memory journal).
 */
import type { CheckerSpec, ProbeResult } from "../../machines/checker.machine.ts";
import { VirtualClock } from "../../src/runtime/clock.ts";
import { type JournalLine, MemoryJournal, readJournal } from "../../src/runtime/journal.ts";
import { type CheckPorts, Node } from "../../src/runtime/node.ts";
import { nullPorts } from "../../src/runtime/ports.ts";
import { replayJournal } from "../../src/runtime/replay.ts";
import { rs, vs } from "./support.ts";

export interface CheckersRun {
  readonly lines: string[];
  readonly journal: readonly string[];
  readonly replay: ReturnType<typeof replayJournal>;
}

export function runCheckersInNode(
  checkers: readonly CheckerSpec[],
  answer: (checker: number) => ProbeResult,
  untilUs: number,
): CheckersRun {
  const clock = new VirtualClock();
  const port: CheckPorts = {
    probe: (req, done) => {
      const result = answer(req.checker);
      const h = clock.setTimerUs(() => done(result), 1000);
      return () => h.cancel();
    },
    ipvs: () => {},
    notify: () => {},
    draws: () => [],
  };
  const journal = new MemoryJournal();
  const lines: string[] = [];
  const node = new Node(
    {
      instances: [],
      groups: [],
      trackers: [],
      virtualServers: [vs({ realServers: [rs(1, { checkers: [...checkers] })] })],
    },
    {
      clock,
      ports: nullPorts(),
      journal,
      checks: port,
      onApplied: (ev, outputs) => {
        for (const o of outputs) if (o.type === "log") lines.push(`${ev.atUs} ${o.line}`);
      },
    },
  );
  node.start();
  clock.advanceTo(untilUs);
  node.shutdown();
  const read = readJournal(journal.lines.join("\n"));
  if (!read.ok) throw new Error(read.error.message);
  return { lines, journal: journal.lines, replay: replayJournal(read.header, read.lines as JournalLine[]) };
}
