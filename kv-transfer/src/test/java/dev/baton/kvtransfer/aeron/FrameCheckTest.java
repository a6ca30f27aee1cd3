package dev.baton.kvtransfer.aeron;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.baton.common.sbe.AckEncoder;
import dev.baton.common.sbe.AckStatus;
import dev.baton.common.sbe.BeginDecoder;
import dev.baton.common.sbe.BeginEncoder;
import dev.baton.common.sbe.BlockDecoder;
import dev.baton.common.sbe.BlockEncoder;
import dev.baton.common.sbe.CancelEncoder;
import dev.baton.common.sbe.EndEncoder;
import dev.baton.common.sbe.FailureCode;
import dev.baton.common.sbe.MessageHeaderEncoder;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Frames as the encoders write them pass; truncated, lying or foreign ones are dropped before a field is read. */
@Timeout(10)
class FrameCheckTest {

    static final int RX = AeronKvReceiver.RECEIVED_TEMPLATES;
    static final int TX = AeronKvSender.REPLY_TEMPLATES;

    /** One well-formed frame of each template (also the fuzz harness's seeds, see {@link #main}). */
    static Map<String, byte[]> frames() {
        Map<String, byte[]> out = new LinkedHashMap<>();
        MessageHeaderEncoder h = new MessageHeaderEncoder();
        UnsafeBuffer b = new UnsafeBuffer(new byte[512]);
        int n = new BeginEncoder().wrapAndApplyHeader(b, 0, h).transferId(7).destinationTag(3).timeoutNs(1_000_000)
                .modelFingerprintHi(1).modelFingerprintLo(2).blockCount(2).blockBytes(64).blockSize(16).layerCount(2)
                .kvHeadCount(1).headDim(8).kvProtocolVersion(1).replyStreamId(11).regionPid(0).regionFd(0)
                .regionToken(0).regionBytes(0).pull((short) 0).dtype("f16").layout("layer-major")
                .replyChannel("aeron:ipc").encodedLength();
        out.put("begin", copy(b, MessageHeaderEncoder.ENCODED_LENGTH + n));
        n = new BlockEncoder().wrapAndApplyHeader(b, 0, h).transferId(7).blockHashHi(5).blockHashLo(6).blockIndex(0)
                .firstPosition(0).layerStart(0).layerCount(2).partBytes(64).chunkOffset(0).crc32c(0x1234)
                .putPayload(new byte[16], 0, 16).encodedLength();
        out.put("block", copy(b, MessageHeaderEncoder.ENCODED_LENGTH + n));
        n = new EndEncoder().wrapAndApplyHeader(b, 0, h).transferId(7).blockCount(2).encodedLength();
        out.put("end", copy(b, MessageHeaderEncoder.ENCODED_LENGTH + n));
        n = new AckEncoder().wrapAndApplyHeader(b, 0, h).transferId(7).status(AckStatus.FAILED)
                .failure(FailureCode.CRC_MISMATCH).regionMapped((short) 0).reason("bad crc").encodedLength();
        out.put("ack", copy(b, MessageHeaderEncoder.ENCODED_LENGTH + n));
        n = new CancelEncoder().wrapAndApplyHeader(b, 0, h).transferId(7).failure(FailureCode.CANCELLED)
                .reason("cancelled").encodedLength();
        out.put("cancel", copy(b, MessageHeaderEncoder.ENCODED_LENGTH + n));
        return out;
    }

    private static byte[] copy(UnsafeBuffer b, int length) {
        byte[] a = new byte[length];
        b.getBytes(0, a);
        return a;
    }

    private static int check(byte[] frame, int templates) {
        return FrameCheck.check(new UnsafeBuffer(frame), 0, frame.length, templates);
    }

    @Test
    void shouldPassWholeFramesToTheSideThatReadsThem() {
        Map<String, byte[]> f = frames();
        assertEquals(BeginDecoder.TEMPLATE_ID, check(f.get("begin"), RX));
        assertEquals(BlockDecoder.TEMPLATE_ID, check(f.get("block"), RX));
        assertEquals(3, check(f.get("end"), RX));
        assertEquals(5, check(f.get("cancel"), RX));
        assertEquals(4, check(f.get("ack"), TX));
        assertEquals(5, check(f.get("cancel"), TX));
        assertEquals(FrameCheck.FOREIGN, check(f.get("ack"), RX), "a receiver reads no Ack");
        assertEquals(FrameCheck.FOREIGN, check(f.get("block"), TX), "a sender reads no Block");
    }

    @Test
    void shouldDropEveryTruncatedFrame() {
        for (Map.Entry<String, byte[]> e : frames().entrySet()) {
            byte[] whole = e.getValue();
            for (int cut = 0; cut < whole.length; cut++) {
                byte[] part = java.util.Arrays.copyOf(whole, cut);
                int got = check(part, RX | TX);
                assertEquals(cut < MessageHeaderEncoder.ENCODED_LENGTH ? FrameCheck.FOREIGN : FrameCheck.MALFORMED, got,
                        e.getKey() + " cut to " + cut + " bytes");
            }
        }
    }

    @Test
    void shouldDropLyingLengthsUnknownEnumsAndOtherSchemas() {
        byte[] block = frames().get("block");
        UnsafeBuffer b = new UnsafeBuffer(block);
        int payloadLengthAt = block.length - 16 - 4;
        b.putInt(payloadLengthAt, 17); // one byte more than the frame holds
        assertEquals(FrameCheck.MALFORMED, check(block, RX));
        b.putInt(payloadLengthAt, -1); // 4 GiB as uint32
        assertEquals(FrameCheck.MALFORMED, check(block, RX));

        byte[] begin = frames().get("begin");
        new UnsafeBuffer(begin).putShort(0, (short) 8); // block length shorter than Begin's fixed fields
        assertEquals(FrameCheck.MALFORMED, check(begin, RX));

        byte[] ack = frames().get("ack");
        new UnsafeBuffer(ack).putByte(MessageHeaderEncoder.ENCODED_LENGTH + 8, (byte) 9); // no such AckStatus
        assertEquals(FrameCheck.MALFORMED, check(ack, TX));

        byte[] foreign = frames().get("end");
        new UnsafeBuffer(foreign).putShort(4, (short) 702); // another schema id
        assertEquals(FrameCheck.FOREIGN, check(foreign, RX));
    }

    /** Writes {@link #frames()} as the fuzz harness's seed inputs: {@code main(dir)}. */
    public static void main(String[] args) throws IOException {
        Path dir = Path.of(args[0]);
        Files.createDirectories(dir);
        for (Map.Entry<String, byte[]> e : frames().entrySet()) {
            Files.write(dir.resolve(e.getKey()), e.getValue());
        }
    }
}
