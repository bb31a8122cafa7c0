// SPDX-License-Identifier: GPL-3.0-or-later
// Validates an OpenAPI document (a file path in argv[2]) against the
// official OpenAPI 3.1 JSON schema with @seriousme/openapi-schema-validator,
// and resolves every $ref. Exits non-zero with the errors on failure.
import { Validator } from "@seriousme/openapi-schema-validator";
import { readFileSync } from "node:fs";

const doc = JSON.parse(readFileSync(process.argv[2], "utf8"));
const validator = new Validator();
const res = await validator.validate(doc);
if (!res.valid) {
  console.error(JSON.stringify(res.errors, null, 2));
  process.exit(1);
}
if (validator.version !== "3.1") {
  console.error("validated as OpenAPI " + validator.version + ", expected 3.1");
  process.exit(1);
}
// Every $ref must resolve (validate() checks the schema, not the refs).
await validator.resolveRefs();
console.log("valid OpenAPI " + validator.version);
