/**
 * Synthetic machines for the chart tests: awkward state and event names (characters that are
 * syntax in mermaid, DOT or XML), inline guards with and without descriptions, XState `after`
 * delays, a delayed raise, dynamic actions, multiple targets. Pure.
 */
import { and, assign, cancel, createMachine, enqueueActions, not, or, raise, stateIn } from "xstate";

/** Names full of the characters each output format treats specially. */
export const AWKWARD_EVENT = 'go;now #1 %%x: {a} "q" <b> & \\ end';
export const AWKWARD_STATE = 'st ate"<&>;#:{x}';

export const awkwardMachine = createMachine({
  id: "odd-machine",
  initial: "a",
  on: { "ev.root": { target: ".z" } },
  states: {
    a: {
      entry: raise({ type: "TICK" }, { id: "tick", delay: "slow" as never }),
      exit: cancel("tick"),
      on: {
        [AWKWARD_EVENT]: { target: AWKWARD_STATE, actions: [{ type: "sendThing" }, "namedString"] },
        TICK: { target: "p", guard: "ready" },
        COMBINED: { target: "p", guard: and(["ready", not(or(["x", "y"])), stateIn("#odd-machine.p")]) },
      },
      after: { fast: { target: "p" }, 250: "z" },
    },
    [AWKWARD_STATE]: {
      on: {
        BACK: { target: "a", guard: () => true, description: "described inline" },
        ODD: { target: "a", guard: () => false },
        EQ: { actions: enqueueActions(() => {}) },
      },
    },
    p: {
      type: "parallel",
      states: {
        r1: {
          initial: "x",
          states: { x: { on: { GO: { target: "#odd-machine.z" } } }, y: { id: "custom y" } },
        },
        r2: { initial: "u", states: { u: { always: { target: "v", actions: assign({}) } }, v: {} } },
      },
      on: { BOTH: { target: [".r1.y", ".r2.v"] } },
    },
    z: { type: "final" },
  },
});

export const AWKWARD_DELAYS = { slow: "a slow one", fast: "a fast one" } as const;
