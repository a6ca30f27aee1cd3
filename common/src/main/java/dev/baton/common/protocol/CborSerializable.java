package dev.baton.common.protocol;

/**
 * Marker of messages that cross nodes: bound to Jackson CBOR in {@code reference.conf}
 * ({@code pekko.actor.serialization-bindings}). Messages local to a node do not implement it.
 */
public interface CborSerializable {}
