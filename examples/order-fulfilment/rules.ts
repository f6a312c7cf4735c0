/**
 * The rules of the shop's two outside partners, shared by the shop, the order generator and the
 * outcome prediction so that the three cannot drift apart.
 *
 * - The payment provider declines every card whose token starts with {@link DECLINED_TOKEN_PREFIX}.
 * - The carrier refuses to ship to the countries in {@link REFUSED_COUNTRIES}.
 */

/** Card tokens that start with this are declined by the payment provider. */
export const DECLINED_TOKEN_PREFIX = 'tok_declined_';

/**
 * ISO 3166 codes of the places the carrier does not serve: Antarctica, Bouvet Island, Heard
 * Island and McDonald Islands.
 */
export const REFUSED_COUNTRIES: ReadonlySet<string> = new Set(['AQ', 'BV', 'HM']);

/** Tells whether the payment provider declines the card of `cardToken`. */
export function isDeclinedCard(cardToken: string): boolean {
  return cardToken.startsWith(DECLINED_TOKEN_PREFIX);
}

/** Tells whether the carrier refuses to ship to `country`. */
export function isRefusedCountry(country: string): boolean {
  return REFUSED_COUNTRIES.has(country);
}
