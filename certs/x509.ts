// The one place @peculiar/x509 is loaded. It resolves its algorithms through tsyringe, which
// needs a Reflect metadata polyfill loaded first (see @peculiar/x509's README, "Reflect Polyfill
// Required"); it signs through WebCrypto, for which Node's OpenSSL-backed global one is used.
// Import x509 from here, never from '@peculiar/x509' directly, so the order cannot go wrong.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(globalThis.crypto);

export { x509 };
