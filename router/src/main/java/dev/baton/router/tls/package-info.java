/**
 * TLS key material for the router's HTTPS API and for Artery between nodes (docs/design.md, "TLS").
 *
 * <ul>
 *   <li>{@link dev.baton.router.tls.TlsSettings} — a {@code tls} block of the configuration (PEM pair or PKCS#12), validated once.</li>
 *   <li>{@link dev.baton.router.tls.KeyMaterial} — a key and its certificate chain read from PEM or PKCS#12, checked, as JDK TLS objects.</li>
 *   <li>{@link dev.baton.router.tls.SelfSignedCertificate} — a new EC key and self-signed certificate, written as PEM.</li>
 *   <li>{@link dev.baton.router.tls.TlsConfigException} — a file that cannot be used, named with what is wrong.</li>
 * </ul>
 */
package dev.baton.router.tls;
