// Types of bin/daemon-exec.js (plain JavaScript: bin/vigil.js runs it before the compiled CLI loads).
export declare const DAEMON_NODE_FLAGS: readonly string[];
export declare const DAEMON_ENV: Readonly<Record<string, string>>;
export declare const EXEC_ENV_MARKER: string;
export declare function daemonExec(
  argv: readonly string[],
  execArgv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): { readonly args: string[]; readonly env: Record<string, string> } | undefined;
export declare function execEnvNames(env: Readonly<Record<string, string | undefined>>): string[];
export declare function forgetExecEnv(): void;
export declare function execDaemon(): Promise<void>;
