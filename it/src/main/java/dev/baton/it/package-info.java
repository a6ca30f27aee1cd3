/**
 * Support for integration tests that start real node processes; the tests live under src/test.
 */
package dev.baton.it;
