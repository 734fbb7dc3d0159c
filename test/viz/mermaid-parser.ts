/**
 * mermaid's own parser and renderer in Node. mermaid sanitises with DOMPurify, which needs a
 * `window` when it is first imported, so a jsdom window is installed on the global object before
 * mermaid is loaded. Parsing needs nothing more. Rendering also needs text geometry, which jsdom
 * lacks: `getBBox` and `getComputedTextLength` are given a fixed 7 px per character, so a render
 * here proves mermaid's layout and drawing code accept the diagram (a cross-border edge, for one,
 * makes it throw) and draw every label, not what the picture looks like. Not pure (globals of the
 * test worker).
 */
import { JSDOM } from "jsdom";

export interface Mermaid {
  readonly parse: (text: string) => Promise<unknown>;
  readonly initialize: (config: Record<string, unknown>) => void;
  readonly render: (id: string, text: string) => Promise<{ svg: string }>;
}

export async function loadMermaid(): Promise<Mermaid> {
  if (!("window" in globalThis)) {
    const { window } = new JSDOM("<!doctype html><body></body>", { pretendToBeVisual: true });
    const svgProto = window.SVGElement.prototype as unknown as Record<string, unknown>;
    svgProto.getBBox = function (this: Element) {
      return { x: 0, y: 0, width: (this.textContent ?? "").length * 7, height: 14 };
    };
    svgProto.getComputedTextLength = function (this: Element) {
      return (this.textContent ?? "").length * 7;
    };
    Object.assign(globalThis, {
      window,
      document: window.document,
      CSSStyleSheet: window.CSSStyleSheet,
      Element: window.Element,
    });
  }
  const mermaid = (await import("mermaid")).default as unknown as Mermaid;
  mermaid.initialize({ startOnLoad: false });
  return mermaid;
}
