// Summarises a V8 .cpuprofile (node --cpu-prof): self time by package / file and the top functions.
// Usage: node bench/profile-summary.mjs <file.cpuprofile> [topN] [lastSeconds | from-to]
// lastSeconds keeps only the samples of the profile's final seconds (the measured window: the
// gateway is stopped right after the measurement, so start-up and seeding fall outside it);
// from-to (seconds after the profile's start, e.g. 3.9-4.3) keeps that window.
// Used with `BENCH_CPU_PROF_DIR=dir BENCH_READ_GATEWAY_ONLY=1 node bench/read.mjs` (see bench/RESULTS.md).
import { readFileSync } from "node:fs";

const [file, topArg, lastArg] = process.argv.slice(2);
if (!file) {
  console.error("usage: node bench/profile-summary.mjs <file.cpuprofile> [topN]");
  process.exit(2);
}
const top = Number(topArg ?? 40);
const profile = JSON.parse(readFileSync(file, "utf8"));

// Self time per node: samples × the interval that follows each sample.
const selfUs = new Map();
const { samples, timeDeltas } = profile;
const windowArg = /^([\d.]+)-([\d.]+)$/.exec(lastArg ?? "");
const from = windowArg ? profile.startTime + Number(windowArg[1]) * 1e6 : lastArg ? profile.endTime - Number(lastArg) * 1e6 : -Infinity;
const to = windowArg ? profile.startTime + Number(windowArg[2]) * 1e6 : Infinity;
let t = profile.startTime;
for (let i = 0; i < samples.length; i++) {
  t += timeDeltas[i];
  if (t < from || t > to) continue;
  const dt = timeDeltas[i + 1] ?? 0;
  selfUs.set(samples[i], (selfUs.get(samples[i]) ?? 0) + dt);
}
const total = [...selfUs.values()].reduce((a, b) => a + b, 0);

/** Groups a script URL into a readable bucket: a package name, our own file, or node internals. */
function bucketOf(url, functionName) {
  if (!url) return functionName.startsWith("(") ? functionName : "(native/V8)";
  const nm = url.lastIndexOf("node_modules/");
  if (nm >= 0) {
    const rest = url.slice(nm + "node_modules/".length).split("/");
    return rest[0].startsWith("@") ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  if (url.startsWith("node:")) return `node:${url.slice(5).split("/")[0]}`;
  const dist = url.indexOf("/dist/");
  if (dist >= 0) return url.slice(dist + 1);
  return url;
}

const byBucket = new Map();
const byFunction = new Map();
for (const node of profile.nodes) {
  const us = selfUs.get(node.id) ?? 0;
  if (!us) continue;
  const { url, functionName, lineNumber } = node.callFrame;
  const bucket = bucketOf(url, functionName);
  byBucket.set(bucket, (byBucket.get(bucket) ?? 0) + us);
  const fn = `${functionName || "(anonymous)"} ${bucket}:${lineNumber + 1}`;
  byFunction.set(fn, (byFunction.get(fn) ?? 0) + us);
}

const pct = (us) => `${((100 * us) / total).toFixed(1).padStart(5)} %`;
const show = (title, map, n) => {
  console.log(`\n${title}`);
  for (const [k, us] of [...map.entries()].sort((a, b) => b[1] - a[1]).slice(0, n)) console.log(`${pct(us)}  ${k}`);
};
console.log(`profile: ${file}, ${(total / 1e6).toFixed(1)} s sampled`);
show("self time by package / file", byBucket, top);
show("self time by function", byFunction, top);
