/**
 * Local types for the `raw-socket` 1.8 addon (it ships none): only what Vigil uses.
 */
declare module "raw-socket" {
  import type { EventEmitter } from "node:events";

  export const AddressFamily: { readonly IPv4: number; readonly IPv6: number };
  export const SocketLevel: {
    readonly SOL_SOCKET: number;
    readonly IPPROTO_IP: number;
    readonly IPPROTO_IPV6: number;
  };
  export const SocketOption: {
    readonly SO_RCVBUF: number;
    readonly SO_SNDBUF: number;
    readonly SO_BINDTODEVICE: number;
    readonly IP_HDRINCL: number;
    readonly IP_TOS: number;
    readonly IP_TTL: number;
  };

  export interface SocketOptions {
    readonly protocol?: number;
    readonly addressFamily?: number;
    readonly bufferSize?: number;
  }

  export interface Socket extends EventEmitter {
    on(event: "message", listener: (buffer: Buffer, source: string) => void): this;
    on(event: "error", listener: (error: Error) => void): this;
    on(event: "close", listener: () => void): this;
    send(
      buffer: Uint8Array,
      offset: number,
      length: number,
      address: string,
      afterCallback: (error: Error | null, bytes: number) => void,
    ): this;
    setOption(level: number, option: number, value: number): void;
    setOption(level: number, option: number, value: Buffer, length: number): void;
    pauseRecv(): this;
    resumeRecv(): this;
    close(): this;
  }

  export function createSocket(options?: SocketOptions): Socket;

  const raw: {
    readonly AddressFamily: typeof AddressFamily;
    readonly SocketLevel: typeof SocketLevel;
    readonly SocketOption: typeof SocketOption;
    readonly createSocket: typeof createSocket;
  };
  export default raw;
}
