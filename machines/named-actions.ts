/**
 * Named effect actions for the machines. Every message a machine emits (effect `Command` or host
 * `Routing`) leaves as a named XState action whose type is the message type (`sendAdvert`, `log`,
 * `memberReport`…) and whose params are the messages of that type it emits at that point (an array,
 * possibly empty when a message is conditional). A transition that emits several messages declares
 * them as an `Effects` value: the slot types in emission order and one function computing the
 * messages; `effectActions` turns it into one named action per slot, so a chart generated from the
 * machine shows every effect by name. The messages are split into consecutive runs of the slot
 * types (each slot may take none or several); messages that do not fit the declared slots are a
 * programming error and throw. Pure.
 */
import { MESSAGE_TYPES, type Message, type MessageType } from "./events.ts";

export interface Effects<C, E> {
  /** The message types emitted, in order; a slot may be repeated and may emit nothing. */
  readonly slots: readonly MessageType[];
  readonly messages: (c: C, e: E) => readonly Message[];
}

export const effects = <C, E>(
  slots: readonly MessageType[],
  messages: (c: C, e: E) => readonly Message[],
): Effects<C, E> => ({ slots, messages });

/** Splits `messages` into one consecutive run per slot (greedy, exact for runs of single types). */
export const splitRuns = (messages: readonly Message[], slots: readonly MessageType[]): Message[][] => {
  const runs: Message[][] = slots.map(() => []);
  let i = 0;
  for (let s = 0; s < slots.length && i < messages.length; s++)
    while (i < messages.length && messages[i]?.type === slots[s]) runs[s]?.push(messages[i++] as Message);
  if (i < messages.length)
    throw new Error(
      `message ${messages[i]?.type} #${i} does not fit the declared named actions [${slots.join(", ")}]`,
    );
  return runs;
};

/** One named action object per slot: `{ type: <message type>, params: ({context, event}) => run }`. */
export const effectActions = <C, E>(fx: Effects<C, E>) =>
  fx.slots.map((type, i) => ({
    type,
    params: ({ context, event }: { context: C; event: E }) =>
      splitRuns(fx.messages(context, event), fx.slots)[i] ?? [],
  }));

/** The no-op implementations of every message type, for `setup({ actions })` (the host interprets). */
export const messageActionImpls = (types: readonly MessageType[] = MESSAGE_TYPES) =>
  Object.fromEntries(types.map((t) => [t, (_: unknown, _params: readonly Message[]) => {}])) as Record<
    MessageType,
    (_: unknown, params: readonly Message[]) => void
  >;
