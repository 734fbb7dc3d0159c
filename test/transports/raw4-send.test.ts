/**
 * The IPv4 raw socket's direct send (transports/raw4.send.ts) against a fake kernel and a fake
 * raw-socket queue: a datagram goes out through `sendto` inside the call; EAGAIN / ENOBUFS and an
 * unknown descriptor fall back to the queue, and while anything is queued every later datagram
 * queues behind it (order kept); other errors are reported once, as raw-socket reports them. And the
 * batch (`SendBatch`): the datagrams of one event-loop callback leave together when it ends, in send
 * order across sockets, with their bytes as they were when sent.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { AF_INET } from "../../transports/libc.ffi.ts";
import {
  DirectSender,
  type DirectSendIo,
  ENOBUFS,
  MAX_HOLD_US,
  SendBatch,
  sockaddrIn,
} from "../../transports/raw4.send.ts";

const EAGAIN = 11;
const EPERM = 1;
const ENETUNREACH = 101;

/** A fake kernel (`results` consumed per sendto; OK when empty) and a FIFO fake of raw-socket's queue. */
function harness(results: number[] = [], direct = true) {
  const wire: { id: number; dst: string; how: "direct" | "queued" }[] = [];
  const addresses: Uint8Array[] = [];
  const errors: { id: number; message: string }[] = [];
  const queue: { packet: Uint8Array; dst: string; done: (e: Error | null) => void }[] = [];
  let errno = 0;
  const io: DirectSendIo = {
    sendto: (packet, address) => {
      addresses.push(address);
      const r = results.shift() ?? 0;
      if (r === 0) {
        wire.push({ id: packet[0] as number, dst: "", how: "direct" });
        return packet.length;
      }
      errno = r;
      return -1;
    },
    errno: () => errno,
    strerror: (e) => `strerror ${e}`,
  };
  const sender = new DirectSender(direct ? io : undefined, (packet, dst, done) =>
    queue.push({ packet, dst, done }),
  );
  const send = (id: number, dst = "224.0.0.18") =>
    sender.send(Uint8Array.of(id, 1, 2, 3), dst, (e) => errors.push({ id, message: e.message }));
  /** raw-socket's next writable turn: the head of the queue is sent (or fails with `error`). */
  const drainOne = (error?: Error) => {
    const q = queue.shift();
    if (q === undefined) return false;
    if (error === undefined) wire.push({ id: q.packet[0] as number, dst: q.dst, how: "queued" });
    q.done(error ?? null);
    return true;
  };
  return { sender, send, drainOne, wire, addresses, errors, queue };
}

describe("DirectSender", () => {
  it("sends at once with sendto, to the destination's sockaddr_in", () => {
    const h = harness();
    expect(h.send(1, "198.18.0.7")).toBe("direct");
    expect(h.queue).toHaveLength(0);
    expect(h.wire).toEqual([{ id: 1, dst: "", how: "direct" }]);
    const a = h.addresses[0] as Uint8Array;
    expect(a).toEqual(sockaddrIn("198.18.0.7"));
    expect(a.length).toBe(16);
    expect(new DataView(a.buffer).getUint16(0, true)).toBe(AF_INET);
    expect([...a.subarray(2, 4)]).toEqual([0, 0]); // port 0
    expect([...a.subarray(4, 8)]).toEqual([198, 18, 0, 7]);
    expect([...a.subarray(8)]).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
  });

  it("queues every datagram in raw-socket when the descriptor is unknown", () => {
    const h = harness([], false);
    expect(h.send(1)).toBe("queued");
    expect(h.send(2)).toBe("queued");
    expect(h.addresses).toHaveLength(0);
    h.drainOne();
    h.drainOne(new Error("Network is unreachable"));
    expect(h.wire.map((w) => w.id)).toEqual([1]);
    expect(h.errors).toEqual([{ id: 2, message: "Network is unreachable" }]);
  });

  for (const [name, errno] of [
    ["EAGAIN", EAGAIN],
    ["ENOBUFS", ENOBUFS],
  ] as const)
    it(`falls back to the queue on ${name}, and queues the next ones behind it until it is empty`, () => {
      const h = harness([errno]);
      expect(h.send(1)).toBe("queued");
      // sendto would succeed now, but 1 is still queued: 2 and 3 go behind it, in order.
      expect(h.send(2)).toBe("queued");
      expect(h.send(3)).toBe("queued");
      expect(h.addresses).toHaveLength(1);
      expect(h.sender.queued).toBe(3);
      while (h.drainOne());
      expect(h.sender.queued).toBe(0);
      expect(h.send(4)).toBe("direct");
      expect(h.wire.map((w) => `${w.id}${w.how[0]}`)).toEqual(["1q", "2q", "3q", "4d"]);
      expect(h.errors).toEqual([]);
    });

  it("hands the queue its own copy: the caller reuses its buffer once send returns", () => {
    const h = harness([EAGAIN]);
    const buffer = Uint8Array.of(1, 1, 2, 3);
    h.sender.send(buffer, "224.0.0.18", () => {});
    buffer.set([9, 9, 9, 9]);
    expect([...(h.queue[0]?.packet ?? [])]).toEqual([1, 1, 2, 3]);
  });

  it("reports other errors once, with strerror's text, and queues nothing", () => {
    const h = harness([EPERM, ENETUNREACH]);
    expect(h.send(1)).toBe("failed");
    expect(h.send(2)).toBe("failed");
    expect(h.send(3)).toBe("direct");
    expect(h.queue).toHaveLength(0);
    expect(h.errors).toEqual([
      { id: 1, message: `strerror ${EPERM}` },
      { id: 2, message: `strerror ${ENETUNREACH}` },
    ]);
  });

  it("reports a malformed destination as raw-socket does, without calling the kernel", () => {
    const h = harness();
    expect(h.send(1, "224.0.0.256")).toBe("failed");
    expect(h.send(2, "ff02::12")).toBe("failed");
    expect(h.addresses).toHaveLength(0);
    expect(h.errors.map((e) => e.message)).toEqual([
      "Invalid IP address '224.0.0.256'",
      "Invalid IP address 'ff02::12'",
    ]);
  });

  it("a queued send that completes inside the queue call (raw-socket's early errors) is not left counted", () => {
    const sender = new DirectSender(
      { sendto: () => -1, errno: () => EAGAIN, strerror: () => "x" },
      (_p, _d, done) => done(new Error("Buffer length")),
    );
    const errors: string[] = [];
    expect(sender.send(Uint8Array.of(1), "224.0.0.18", (e) => errors.push(e.message))).toBe("queued");
    expect(sender.queued).toBe(0);
    expect(errors).toEqual(["Buffer length"]);
  });

  it("any mix of kernel answers and queue turns: each datagram leaves once or fails once, in send order", () => {
    const answer = fc.constantFrom(0, 0, 0, EAGAIN, ENOBUFS, EPERM);
    const step = fc.oneof(
      fc.record({ send: answer }),
      fc.record({ drain: fc.boolean() }), // true: the queued send fails
    );
    fc.assert(
      fc.property(fc.array(step, { maxLength: 60 }), (steps) => {
        const h = harness();
        const fails = new Set<number>();
        let kernel = 0;
        const sender = new DirectSender(
          {
            sendto: (packet) => {
              if (kernel === 0) h.wire.push({ id: packet[0] as number, dst: "", how: "direct" });
              return kernel === 0 ? packet.length : -1;
            },
            errno: () => kernel,
            strerror: (e) => `strerror ${e}`,
          },
          (packet, dst, done) => h.queue.push({ packet, dst, done }),
        );
        let id = 0;
        for (const s of steps) {
          if ("send" in s) {
            const me = ++id;
            kernel = s.send;
            sender.send(Uint8Array.of(me), "224.0.0.18", () => {
              expect(fails.has(me)).toBe(false);
              fails.add(me);
            });
          } else h.drainOne(s.drain ? new Error("queued send failed") : undefined);
        }
        while (h.drainOne());
        const sent = h.wire.map((w) => w.id);
        // In send order, none twice, and every datagram either sent or failed (not both).
        expect(sent).toEqual([...sent].sort((a, b) => a - b));
        expect(new Set(sent).size).toBe(sent.length);
        for (let k = 1; k <= id; k++) expect(sent.includes(k) !== fails.has(k)).toBe(true);
        expect(sender.queued).toBe(0);
      }),
      { numRuns: 300 },
    );
  });
});

describe("SendBatch", () => {
  /** Two sockets' senders writing to one wire, and a scheduler whose callbacks run when told. */
  function setup(arenaBytes?: number, maxHoldUs?: number) {
    const wire: string[] = [];
    const clock = { us: 0 };
    const sender = (name: string) =>
      new DirectSender(
        {
          sendto: (packet) => {
            wire.push(`${name}:${[...packet].join(".")}`);
            return packet.length;
          },
          errno: () => 0,
          strerror: () => "",
        },
        () => {},
      );
    const scheduled: Array<() => void> = [];
    const batch = new SendBatch({ nowUs: () => clock.us }, (fn) => scheduled.push(fn), arenaBytes, maxHoldUs);
    const direct: string[] = [];
    const send = (s: DirectSender, name: string, bytes: number[]) => {
      const at = batch.reserve(bytes.length);
      at.set(bytes);
      batch.commit(
        s,
        bytes.length,
        "224.0.0.18",
        () => {},
        () => direct.push(name),
      );
    };
    const endOfCallback = () => {
      for (let f = scheduled.shift(); f !== undefined; f = scheduled.shift()) f();
    };
    return { wire, a: sender("a"), b: sender("b"), batch, scheduled, send, direct, endOfCallback, clock };
  }

  it("sends a callback's datagrams when it ends, in send order across sockets, with one scheduled flush", () => {
    const t = setup();
    t.send(t.a, "a", [1, 2]);
    t.send(t.b, "b", [3]);
    t.send(t.a, "a", [4, 5, 6]);
    expect(t.wire).toEqual([]);
    expect(t.scheduled).toHaveLength(1);
    expect(t.batch.waiting).toBe(3);
    t.endOfCallback();
    expect(t.wire).toEqual(["a:1.2", "b:3", "a:4.5.6"]);
    expect(t.direct).toEqual(["a", "b", "a"]);
    expect(t.batch.waiting).toBe(0);
    // the next callback's sends schedule a new flush
    t.send(t.b, "b", [7]);
    expect(t.scheduled).toHaveLength(1);
    t.endOfCallback();
    expect(t.wire.at(-1)).toBe("b:7");
  });

  it("flush() sends what waits now (a socket's close), and the scheduled flush then sends nothing twice", () => {
    const t = setup();
    t.send(t.a, "a", [1]);
    t.batch.flush();
    expect(t.wire).toEqual(["a:1"]);
    t.endOfCallback();
    expect(t.wire).toEqual(["a:1"]);
  });

  it("a full arena sends what waits first: order and bytes kept", () => {
    const t = setup(8);
    for (let i = 0; i < 6; i++) t.send(i % 2 === 0 ? t.a : t.b, i % 2 === 0 ? "a" : "b", [i, i, i]);
    t.endOfCallback();
    expect(t.wire).toEqual(["a:0.0.0", "b:1.1.1", "a:2.2.2", "b:3.3.3", "a:4.4.4", "b:5.5.5"]);
  });

  it(`by default (${MAX_HOLD_US} µs) a datagram waits only for the next one reserved later: a step's own datagrams leave together`, () => {
    const t = setup();
    t.send(t.a, "a", [1]); // one step: an advert to each of two unicast peers
    t.send(t.b, "b", [2]);
    expect(t.wire).toEqual([]);
    t.clock.us += 1; // the next step's advert: the two before it leave first
    t.send(t.a, "a", [3]);
    expect(t.wire).toEqual(["a:1", "b:2"]);
    t.endOfCallback();
    expect(t.wire).toEqual(["a:1", "b:2", "a:3"]);
  });

  it("any mix of sizes, clock steps, arena overflows and callback ends: every datagram leaves once, in order, with its bytes", () => {
    // few lengths and mostly sends: slots reused with the same length at another place, and not
    const op = fc.oneof(
      {
        arbitrary: fc.record({
          kind: fc.constant("send" as const),
          len: fc.integer({ min: 1, max: 4 }),
          to: fc.boolean(),
        }),
        weight: 4,
      },
      {
        arbitrary: fc.record({ kind: fc.constant("tick" as const), us: fc.constantFrom(0, 1, 150) }),
        weight: 1,
      },
      { arbitrary: fc.record({ kind: fc.constant("end" as const) }), weight: 1 },
    );
    fc.assert(
      fc.property(fc.array(op, { minLength: 10, maxLength: 80 }), fc.constantFrom(0, 100), (ops, hold) => {
        const t = setup(24, hold);
        const sent: string[] = [];
        let id = 0;
        for (const o of ops) {
          if (o.kind === "send") {
            const bytes = Array.from({ length: o.len }, (_, k) => (id + k) % 256);
            id++;
            const name = o.to ? "a" : "b";
            t.send(o.to ? t.a : t.b, name, bytes);
            sent.push(`${name}:${bytes.join(".")}`);
          } else if (o.kind === "tick") t.clock.us += o.us;
          else t.endOfCallback();
        }
        t.endOfCallback();
        expect(t.wire).toEqual(sent);
      }),
    );
  });

  it("a callback that runs long sends what has waited over the bound before the next datagram, in order", () => {
    const HOLD = 250;
    const t = setup(undefined, HOLD);
    t.send(t.a, "a", [1]);
    t.clock.us += HOLD;
    t.send(t.b, "b", [2]); // the first has waited exactly the bound: still waiting
    expect(t.wire).toEqual([]);
    t.clock.us += 1;
    t.send(t.a, "a", [3]); // over the bound: the two before it leave first
    expect(t.wire).toEqual(["a:1", "b:2"]);
    expect(t.batch.waiting).toBe(1);
    // the bound counts from the first datagram still waiting, not from the callback's start
    t.clock.us += HOLD - 1;
    t.send(t.b, "b", [4]);
    expect(t.wire).toEqual(["a:1", "b:2"]);
    t.clock.us += 2;
    t.send(t.a, "a", [5]);
    expect(t.wire).toEqual(["a:1", "b:2", "a:3", "b:4"]);
    t.endOfCallback();
    expect(t.wire).toEqual(["a:1", "b:2", "a:3", "b:4", "a:5"]);
    expect(t.direct).toEqual(["a", "b", "a", "b", "a"]);
    expect(t.scheduled).toHaveLength(0);
    // a new callback starts its own wait, however long the last one was
    t.clock.us += 10_000;
    t.send(t.b, "b", [6]);
    t.send(t.a, "a", [7]);
    expect(t.wire).toHaveLength(5);
    t.endOfCallback();
    expect(t.wire.slice(5)).toEqual(["b:6", "a:7"]);
  });

  it("an error callback that sends again, past the time bound, sends each datagram once", () => {
    const t = setup();
    const failing = new DirectSender(
      {
        sendto: (packet) => {
          if (packet[0] === 9) return -1;
          t.wire.push(`f:${[...packet].join(".")}`);
          return packet.length;
        },
        errno: () => EPERM,
        strerror: () => "Operation not permitted",
      },
      () => {},
    );
    const errors: string[] = [];
    const at = t.batch.reserve(1);
    at.set([9]);
    t.batch.commit(
      failing,
      1,
      "224.0.0.18",
      (e) => {
        errors.push(e.message);
        t.clock.us += 1_000; // the retry's reservation is past the bound: no second pass
        t.send(t.a, "a", [7]);
      },
      () => {},
    );
    t.send(t.a, "a", [1]);
    t.send(t.b, "b", [2]);
    t.clock.us += MAX_HOLD_US + 1;
    t.send(t.a, "a", [3]); // flushes the three before it; the failure's retry joins that pass
    expect(errors).toEqual(["Operation not permitted"]);
    expect(t.wire).toEqual(["a:1", "b:2", "a:7"]);
    t.endOfCallback();
    expect(t.wire).toEqual(["a:1", "b:2", "a:7", "a:3"]);
  });

  it("a datagram larger than the arena is refused with an error, not written past it", () => {
    const t = setup(4);
    expect(() => t.batch.reserve(5)).toThrow(/send batch full/);
    t.send(t.a, "a", [1, 2, 3, 4]);
    t.endOfCallback();
    expect(t.wire).toEqual(["a:1.2.3.4"]);
  });

  it("a datagram whose header could not be written (reserved, never committed) is not sent", () => {
    const t = setup();
    t.send(t.a, "a", [1]);
    t.batch.reserve(3).set([9, 9, 9]); // e.g. writeIpv4Header threw on a bad address
    t.send(t.b, "b", [2]);
    t.endOfCallback();
    expect(t.wire).toEqual(["a:1", "b:2"]);
  });
});
