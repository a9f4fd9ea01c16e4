// Converts an XML add-in manifest with Microsoft's converter (office-addin-manifest-converter) and
// validates the result against the unified-manifest JSON schema bundled in @microsoft/app-manifest.
// Offline: both come from node_modules (npm ci). Usage: node unified_manifest.mjs MANIFEST.xml
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createRequire } from "node:module";

const require = createRequire(path.resolve("package.json"));
const { convert } = require("office-addin-manifest-converter");
const Ajv = require("ajv-draft-04");
const addFormats = require("ajv-formats");

const out = fs.mkdtempSync(path.join(os.tmpdir(), "rollcall-manifest-"));
await convert(process.argv[2], out, false);
const manifest = JSON.parse(fs.readFileSync(path.join(out, "manifest.json"), "utf8"));
const schemaFile = require.resolve(
  `@microsoft/app-manifest/build/json-schemas/teams/v${manifest.manifestVersion}/MicrosoftTeams.schema.json`,
);
const ajv = new Ajv({ allErrors: true, strict: false });
addFormats(ajv);
const valid = ajv.validate(JSON.parse(fs.readFileSync(schemaFile, "utf8")), manifest);
console.log(JSON.stringify({ valid, manifestVersion: manifest.manifestVersion, errors: ajv.errors }));
fs.rmSync(out, { recursive: true, force: true });
process.exit(valid ? 0 : 1);
