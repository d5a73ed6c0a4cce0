// Entry point of the `kdgrad` command (bin/kdgrad.js): run main() on the
// process arguments with the real file system and streams, set the exit code.
import { main } from "./main.js";
import { nodeIO } from "./node-io.js";

process.exitCode = await main(process.argv.slice(2), nodeIO());
