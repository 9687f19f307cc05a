/** The combining marks Latin, Greek and Cyrillic letters carry as accents (U+0300–U+036F). */
const ACCENTS = /[\u0300-\u036f]/g;

/**
 * The form a title is stored in for search, and a query compared in: `CONTAINS(c.titleKey, @q)` is then a plain,
 * case-sensitive substring test that Cosmos and the embedded store answer alike (Cosmos' `CONTAINS(…, true)` and
 * `LOWER` fold case by invariant rules but keep accents and never use the index for LOWER; the embedded store has
 * no third CONTAINS argument and lowers with JavaScript's rules).
 *
 * Compatibility forms first (NFKD: full-width letters and ligatures as their plain letters), then accents dropped
 * ("é" matches "e": a search box that misses "Café" for "cafe" fails its user; a few extra matches do not), then
 * recomposed (NFC, so Hangul and kana stay whole: a query never matches half a syllable, and the kana voicing marks,
 * outside that block, are kept), then case folded as lower(upper(…)) so "ß" meets "SS" and "ς" meets "Σ",
 * independent of any locale (the root locale's mappings: Turkish "İ" lowers to "i" + a dot that the accent step removes).
 */
export function searchKey(text: string): string {
  return text.normalize('NFKD').replace(ACCENTS, '').normalize('NFC').toUpperCase().toLowerCase();
}
