// Generates src/api/rest.gen.ts from ../shared/openapi.json (the OpenAPI document the backend
// writes with `parley openapi --output shared/openapi.json`). With --check, fails when the
// checked-in file differs from what the document generates now (CI runs `npm run check:api`).
import { readFile, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import openapiTS, { astToString } from "openapi-typescript";
import ts from "typescript";

const schemaPath = fileURLToPath(new URL("../../shared/openapi.json", import.meta.url));
const outputPath = fileURLToPath(new URL("../src/api/rest.gen.ts", import.meta.url));
const checkOnly = process.argv.includes("--check");

const schema = JSON.parse(await readFile(schemaPath, "utf8"));
const schemas = schema.components.schemas;

// The names a part of the document refers to, and everything those refer to in turn.
function referenced(node, found = new Set()) {
  if (Array.isArray(node)) node.forEach((item) => referenced(item, found));
  else if (node && typeof node === "object") {
    for (const [key, value] of Object.entries(node)) {
      if (key !== "$ref") referenced(value, found);
      else if (!found.has(value.split("/").pop())) {
        found.add(value.split("/").pop());
        referenced(schemas[value.split("/").pop()], found);
      }
    }
  }
  return found;
}

// The server sends every field of a response model, but FastAPI leaves `default: null` out of
// the document, so a nullable field would read as optional. Schemas only ever sent (never
// received) get every property required; request bodies keep their optional fields.
const operations = Object.values(schema.paths).flatMap((path) => Object.values(path));
const received = referenced(operations.map((op) => [op.requestBody, op.parameters]));
const sent = referenced(operations.map((op) => op.responses));
for (const name of sent) {
  if (received.has(name) || !schemas[name].properties) continue;
  schemas[name].required = Object.keys(schemas[name].properties);
}
const banner =
  "/* Generated from shared/openapi.json by scripts/gen-api-types.mjs. Do not edit; run `npm run gen:api`. */\n";
// An uploaded file (`format: binary`) is a Blob in the browser, not the string a JSON schema says.
const BLOB = ts.factory.createTypeReferenceNode("Blob");
const ast = await openapiTS(schema, {
  alphabetize: false,
  transform: (node) => (node.format === "binary" ? BLOB : undefined),
});
const generated = banner + astToString(ast);

if (checkOnly) {
  const current = await readFile(outputPath, "utf8").catch(() => "");
  if (current !== generated) {
    console.error("src/api/rest.gen.ts is out of date with shared/openapi.json: run `npm run gen:api` and commit it.");
    process.exit(1);
  }
  console.log("rest.gen.ts matches the OpenAPI document.");
} else {
  await writeFile(outputPath, generated);
  console.log(`wrote ${outputPath}`);
}
