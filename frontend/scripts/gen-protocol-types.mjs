// Generates src/api/protocol.gen.ts from ../shared/protocol.schema.json (the schema the
// backend derives from its pydantic frames). With --check, fails when the checked-in file
// differs from what the schema generates now (CI runs `npm run check:types`).
import { readFile, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { compile } from "json-schema-to-typescript";

const schemaPath = fileURLToPath(new URL("../../shared/protocol.schema.json", import.meta.url));
const outputPath = fileURLToPath(new URL("../src/api/protocol.gen.ts", import.meta.url));
const checkOnly = process.argv.includes("--check");

const schema = JSON.parse(await readFile(schemaPath, "utf8"));
const defs = schema.$defs;

for (const def of Object.values(defs)) {
  if (!def.properties) continue;
  // Property titles would each become a named alias (`type Id = string`): noise, drop them.
  for (const property of Object.values(def.properties)) {
    delete property.title;
    // A `$ref` with a sibling `default` would be declared as a second, numbered copy.
    if (property.$ref) delete property.default;
  }
  // The frame discriminator has a default in pydantic, so the validation schema leaves it
  // optional; every frame on the wire carries it, and TypeScript needs it to narrow unions.
  if (def.properties.type?.const !== undefined) {
    def.required = [...new Set(["type", ...(def.required ?? [])])];
  }
}

// A root referencing the two frame unions and the message shape: everything they use is
// declared by name.
const exported = ["ClientFrame", "ServerFrame", "MessagePublic"];
const root = {
  title: "ParleyProtocol",
  type: "object",
  additionalProperties: false,
  properties: Object.fromEntries(exported.map((name) => [name, { $ref: `#/$defs/${name}` }])),
  $defs: defs,
};

const generated = await compile(root, "ParleyProtocol", {
  bannerComment:
    "/* Generated from shared/protocol.schema.json by scripts/gen-protocol-types.mjs. Do not edit; run `npm run gen:types`. */",
  additionalProperties: false,
  unreachableDefinitions: false,
  // A list's length limit (attachments: at most 10) is the server's check; as a union of
  // tuples it would only make every list built at run time fail to type-check.
  ignoreMinAndMaxItems: true,
  style: { singleQuote: false, printWidth: 100 },
});

if (checkOnly) {
  const current = await readFile(outputPath, "utf8").catch(() => "");
  if (current !== generated) {
    console.error(
      "src/api/protocol.gen.ts is out of date with shared/protocol.schema.json: run `npm run gen:types` and commit it.",
    );
    process.exit(1);
  }
  console.log("protocol.gen.ts matches the schema.");
} else {
  await writeFile(outputPath, generated);
  console.log(`wrote ${outputPath}`);
}
