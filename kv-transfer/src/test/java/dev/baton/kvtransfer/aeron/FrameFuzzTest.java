package dev.baton.kvtransfer.aeron;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.baton.common.sbe.AckDecoder;
import dev.baton.common.sbe.BeginDecoder;
import dev.baton.common.sbe.BlockDecoder;
import dev.baton.common.sbe.BlockRefDecoder;
import dev.baton.common.sbe.CancelDecoder;
import dev.baton.common.sbe.EndDecoder;
import dev.baton.common.sbe.MessageHeaderDecoder;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * Fuzz harness of the KV transfer frame decoders (README "Fuzzing"): any bytes, as a frame on a
 * receiver's data channel or a sender's reply channel, are either dropped by {@link FrameCheck} or
 * decode, every field of their template (fixed, versioned, enum and variable-length) read the way
 * {@code AeronKvReceiver} and {@code AeronKvSender} read them, without reading past the frame. The
 * frame is the whole buffer, so a read past its end throws (Agrona's bounds checks) and is a finding.
 *
 * <p>Inputs: {@code src/test/resources/dev/baton/kvtransfer/aeron/FrameFuzzTestInputs/decode/}.
 */
class FrameFuzzTest {

    private final MessageHeaderDecoder header = new MessageHeaderDecoder();
    private final BeginDecoder begin = new BeginDecoder();
    private final BlockDecoder block = new BlockDecoder();
    private final BlockRefDecoder blockRef = new BlockRefDecoder();
    private final EndDecoder end = new EndDecoder();
    private final AckDecoder ack = new AckDecoder();
    private final CancelDecoder cancel = new CancelDecoder();

    @FuzzTest(maxDuration = "20s")
    void decode(byte[] frame) {
        UnsafeBuffer buffer = new UnsafeBuffer(frame);
        for (int expected : new int[] {AeronKvReceiver.RECEIVED_TEMPLATES, AeronKvSender.REPLY_TEMPLATES}) {
            int template = FrameCheck.check(buffer, 0, frame.length, expected);
            if (template < 0) {
                assertTrue(template == FrameCheck.FOREIGN || template == FrameCheck.MALFORMED);
                continue;
            }
            assertTrue((expected & FrameCheck.bit(template)) != 0, "template " + template);
            readAll(buffer, template);
        }
    }

    /** Every field, in schema order (variable-length ones after the fixed ones), as the transport reads them. */
    private long readAll(UnsafeBuffer buffer, int template) {
        header.wrap(buffer, 0);
        int body = MessageHeaderDecoder.ENCODED_LENGTH;
        int blockLength = header.blockLength();
        int version = header.version();
        long sink = 0;
        switch (template) {
            case BeginDecoder.TEMPLATE_ID -> {
                BeginDecoder d = begin.wrap(buffer, body, blockLength, version);
                sink += d.transferId() + d.destinationTag() + d.timeoutNs() + d.modelFingerprintHi()
                        + d.modelFingerprintLo() + d.blockCount() + d.blockBytes() + d.blockSize() + d.layerCount()
                        + d.kvHeadCount() + d.headDim() + d.kvProtocolVersion() + d.replyStreamId();
                if (version >= 2) {
                    sink += d.regionPid() + d.regionFd() + d.regionToken() + d.regionBytes() + d.pull();
                }
                sink += d.dtype().length() + d.layout().length() + d.replyChannel().length();
                assertTrue(d.limit() <= buffer.capacity());
            }
            case BlockDecoder.TEMPLATE_ID -> {
                BlockDecoder d = block.wrap(buffer, body, blockLength, version);
                sink += d.transferId() + d.blockHashHi() + d.blockHashLo() + d.blockIndex() + d.firstPosition()
                        + d.layerStart() + d.layerCount() + d.partBytes() + d.chunkOffset() + d.crc32c();
                int length = d.payloadLength();
                byte[] payload = new byte[length];
                d.getPayload(payload, 0, length);
                assertTrue(d.limit() <= buffer.capacity());
            }
            case BlockRefDecoder.TEMPLATE_ID -> {
                BlockRefDecoder d = blockRef.wrap(buffer, body, blockLength, version);
                sink += d.transferId() + d.blockHashHi() + d.blockHashLo() + d.blockIndex() + d.firstPosition()
                        + d.layerStart() + d.layerCount() + d.partBytes() + d.regionOffset() + d.crc32c();
            }
            case EndDecoder.TEMPLATE_ID -> {
                EndDecoder d = end.wrap(buffer, body, blockLength, version);
                sink += d.transferId() + d.blockCount();
            }
            case AckDecoder.TEMPLATE_ID -> {
                AckDecoder d = ack.wrap(buffer, body, blockLength, version);
                sink += d.transferId() + d.status().ordinal() + d.failure().ordinal();
                if (version >= 2) {
                    sink += d.regionMapped();
                }
                sink += d.reason().length();
                assertTrue(d.limit() <= buffer.capacity());
            }
            case CancelDecoder.TEMPLATE_ID -> {
                CancelDecoder d = cancel.wrap(buffer, body, blockLength, version);
                sink += d.transferId() + d.failure().ordinal() + d.reason().length();
                assertTrue(d.limit() <= buffer.capacity());
            }
            default -> throw new AssertionError("FrameCheck passed template " + template);
        }
        return sink; // the reads are the test: any one past the frame throws
    }
}
