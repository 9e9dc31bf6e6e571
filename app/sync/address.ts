/**
 * A shipping address as a fingerprint: orders keep no address (personal data the app does not
 * need), only a hash of the parts that say where a parcel goes (street lines, postcode,
 * country), so that two orders shipping to the same door can be recognised, e.g. a "friend" of a
 * referral whose order ships to the referrer's address. Names, phone, company and city are left
 * out: the same door is often written with another name or the city spelt differently.
 *
 * The same address typed differently gives the same hash: case, accents, punctuation, spacing,
 * common abbreviations (Street/St, Avenue/Ave, ...), flat designators ("Apt 4", "#4", "Unit 4",
 * "Flat 4" are all "4"), the flat on the first or the second line, and postcodes written with or
 * without a space (a US ZIP+4 is its first five digits). A different flat gives a different hash.
 *
 * The hash is pseudonymous, not anonymous: whoever holds it and a list of candidate addresses can
 * tell which one it is, so it is personal data like the order it is on (and erased with it).
 */
import { createHash } from "node:crypto";

export interface AddressParts {
  address1?: string | null;
  address2?: string | null;
  zip?: string | null;
  countryCode?: string | null;
}

const WORDS: Record<string, string> = {
  street: "st",
  str: "st",
  avenue: "ave",
  av: "ave",
  road: "rd",
  boulevard: "blvd",
  drive: "dr",
  lane: "ln",
  court: "ct",
  place: "pl",
  square: "sq",
  terrace: "ter",
  highway: "hwy",
  parkway: "pkwy",
  north: "n",
  south: "s",
  east: "e",
  west: "w",
};

/** Words that only say "the flat/suite number follows": dropped, the number is kept. */
const DESIGNATORS = new Set(["apt", "apartment", "unit", "flat", "suite", "ste", "no", "number", "nr"]);

function words(text: string): string[] {
  return (
    text
      .normalize("NFKD")
      .replace(/[\u0300-\u036f]/g, "")
      .toLowerCase()
      .replace(/ß/g, "ss")
      .split(/[^a-z0-9]+/)
      .filter(Boolean)
      // "Hauptstraße" and "Hauptstr." are one street.
      .map((w) => w.replace(/(.)strasse$/, "$1str"))
      .map((w) => WORDS[w] ?? w)
      .filter((w) => !DESIGNATORS.has(w))
  );
}

/** The normalised text that is hashed; null when there is no street line to go on. */
export function normaliseAddress(address: AddressParts | null | undefined): string | null {
  if (!address) return null;
  const street = words(`${address.address1 ?? ""} ${address.address2 ?? ""}`).join(" ");
  if (!street) return null;
  const country = (address.countryCode ?? "").trim().toUpperCase();
  let zip = (address.zip ?? "").toLowerCase().replace(/[^a-z0-9]/g, "");
  if (country === "US") zip = zip.slice(0, 5);
  return `${country}|${zip}|${street}`;
}

/** SHA-256 (hex) of the normalised address; null when the address has no street line. */
export function addressHash(address: AddressParts | null | undefined): string | null {
  const text = normaliseAddress(address);
  return text === null ? null : createHash("sha256").update(text).digest("hex");
}
