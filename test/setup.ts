import fc from "fast-check";

// FC_NUM_RUNS=1000 npm test runs every property that many times (a stress run).
// Properties that set their own numRuns keep it.
if (process.env.FC_NUM_RUNS) fc.configureGlobal({ numRuns: Number(process.env.FC_NUM_RUNS) });
