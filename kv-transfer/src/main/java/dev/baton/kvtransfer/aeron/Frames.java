package dev.baton.kvtransfer.aeron;

import dev.baton.common.sbe.BlockEncoder;
import dev.baton.common.sbe.MessageHeaderEncoder;
import io.aeron.Publication;

/**
 * Sizes of the frames of the SBE schema {@code kv-transfer.xml} inside Aeron frames:
 * <pre>
 *   Aeron data header      32 bytes
 *   SBE message header      8 bytes  blockLength, templateId, schemaId, version
 *   Block fixed fields     52 bytes  transferId, hash hi/lo, blockIndex, firstPosition,
 *                                    layerStart, layerCount, partBytes, chunkOffset, crc32c
 *   payload length          4 bytes
 *   payload                 up to mtu - 96 bytes
 * </pre>
 */
final class Frames {

    /** Bytes of a Block frame before its payload. */
    static final int BLOCK_OVERHEAD = MessageHeaderEncoder.ENCODED_LENGTH + BlockEncoder.BLOCK_LENGTH
            + BlockEncoder.payloadHeaderLength();

    /** Longest reason text put in an Ack or Cancel frame, in characters. */
    static final int MAX_REASON_CHARS = 1024;

    /** Bytes of the buffer control frames (Begin, End, Ack, Cancel) are encoded into. */
    static final int CONTROL_BUFFER_BYTES = 8192;

    /** How often the duty cycles look for expired deadlines and vanished peers. */
    static final long CHECK_INTERVAL_NS = 1_000_000L;

    private Frames() {}

    /** Payload bytes of the largest Block frame {@code publication} takes in one unfragmented frame. */
    static int maxChunkBytes(Publication publication) {
        return publication.maxPayloadLength() - BLOCK_OVERHEAD;
    }

    /** {@code reason}, cut to {@link #MAX_REASON_CHARS}. */
    static String clip(String reason) {
        if (reason == null) {
            return "";
        }
        return reason.length() <= MAX_REASON_CHARS ? reason : reason.substring(0, MAX_REASON_CHARS);
    }
}
