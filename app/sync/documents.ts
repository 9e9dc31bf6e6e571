/**
 * The registry of every Admin GraphQL document the app can send. `AdminApi.request` takes only an
 * `AdminDocument`, and the only ways to make one are `adminDocument` (a fixed document) and
 * `adminDocumentFamily` (documents built at run time, e.g. a batch of aliased mutations, with
 * examples of every shape they take). Each registers itself here when its module loads, so one
 * test (documents.test.ts) can load every module that declares documents and validate each one
 * against Shopify's 2026-07 Admin schema with no deprecated field.
 */

declare const adminDocumentBrand: unique symbol;

/** A GraphQL document that is in the registry (so it is checked against Shopify's schema). */
export type AdminDocument = string & { readonly [adminDocumentBrand]: true };

export interface RegisteredDocument {
  /** Unique: the constant's or family's name, with the example's arguments for a family. */
  name: string;
  source: string;
  /** "request": sent as the query; "bulk": sent as `bulkOperationRunQuery(query:)`. */
  kind: "request" | "bulk";
}

const registry = new Map<string, RegisteredDocument>();

function register(entry: RegisteredDocument): void {
  const held = registry.get(entry.name);
  if (held && held.source !== entry.source)
    throw new Error(`Admin document "${entry.name}" is declared twice with different text`);
  registry.set(entry.name, entry);
}

/** Declares a fixed document. */
export function adminDocument(
  name: string,
  source: string,
  kind: "request" | "bulk" = "request",
): AdminDocument {
  register({ name, source, kind });
  return source as AdminDocument;
}

/**
 * Declares a document built at run time. `examples` must cover every shape `build` can take
 * (e.g. the smallest and the largest batch); each is registered and validated. A call with
 * arguments of a shape not covered still works but is not one the test checked, so keep the
 * builder's variation to counts and names.
 */
export function adminDocumentFamily<A extends unknown[]>(
  name: string,
  build: (...args: A) => string,
  examples: A[],
): (...args: A) => AdminDocument {
  if (!examples.length) throw new Error(`Admin document family "${name}" needs at least one example`);
  for (const args of examples)
    register({ name: `${name}(${JSON.stringify(args)})`, source: build(...args), kind: "request" });
  return (...args: A) => build(...args) as AdminDocument;
}

/** Every document declared by the modules loaded so far. */
export function registeredDocuments(): RegisteredDocument[] {
  return [...registry.values()];
}
