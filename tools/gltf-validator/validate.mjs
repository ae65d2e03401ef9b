// Validates one glTF/GLB asset with the Khronos glTF-Validator and prints the JSON report.
// Usage: node validate.mjs FILE   (FILE "-" reads the asset from stdin)
// Exit status: 0 when the report was printed (whatever it says), 2 on a usage or read error.
import { readFileSync } from "node:fs";
import { validateBytes } from "gltf-validator";

const [source] = process.argv.slice(2);
if (!source) {
  console.error("usage: node validate.mjs FILE|-");
  process.exit(2);
}

let data;
try {
  data = readFileSync(source === "-" ? 0 : source);
} catch (error) {
  console.error(`cannot read ${source}: ${error.message}`);
  process.exit(2);
}

try {
  const report = await validateBytes(new Uint8Array(data), {
    uri: source === "-" ? "stdin" : source,
    maxIssues: 0,
    writeTimestamp: false,
  });
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
} catch (error) {
  console.error(`validator refused the input: ${error}`);
  process.exit(2);
}
