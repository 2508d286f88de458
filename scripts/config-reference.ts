// Prints the README's configuration reference table, generated from the zod schema (src/config/schema.ts).
// Paste its output between <!-- config-reference:start --> and <!-- config-reference:end --> in README.md;
// test/config/reference.test.ts fails when the two differ.
import { configReferenceMarkdown } from '../src/config/reference.js';

process.stdout.write(configReferenceMarkdown());
