/**
 * The compiled CLI's entry module (dist/vigil.js, built by bin/build.ts and run by bin/vigil.js):
 * runs `main` on the process's arguments and streams. Not pure (the process).
 */
import { main } from "./main.ts";
import { processIo } from "./process-io.ts";

process.exitCode = await main(process.argv.slice(2), processIo());
