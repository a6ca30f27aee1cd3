package dev.baton.kvtransfer;

import java.util.Objects;

/**
 * Where a receiver listens: a transport channel (for Aeron, an {@code aeron:ipc} or
 * {@code aeron:udp?endpoint=host:port} URI) and a stream id. Immutable; a sender keeps one stream per
 * destination, so build each destination once and reuse it.
 *
 * @param channel  the receiver's channel, as configured in its {@code baton.kv-transfer.aeron.channel}
 * @param streamId the receiver's stream id
 */
public record KvDestination(String channel, int streamId) {

    public KvDestination {
        Objects.requireNonNull(channel, "channel");
        if (channel.isBlank()) {
            throw new IllegalArgumentException("destination channel must not be blank");
        }
    }

    @Override
    public String toString() {
        return channel + "#" + streamId;
    }
}
