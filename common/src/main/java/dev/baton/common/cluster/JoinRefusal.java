package dev.baton.common.cluster;

import dev.baton.common.protocol.CborSerializable;

/**
 * From the member that refused a node at join ({@link JoinCompatChecker}) to that node's {@link JoinRefusals}:
 * why it was refused.
 *
 * @param reason every field that differs, with the node's value and the cluster's
 * @param by     the address of the member that refused it
 */
public record JoinRefusal(String reason, String by) implements CborSerializable {}
