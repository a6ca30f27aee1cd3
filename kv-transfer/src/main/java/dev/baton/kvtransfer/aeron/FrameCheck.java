package dev.baton.kvtransfer.aeron;

import dev.baton.common.sbe.AckDecoder;
import dev.baton.common.sbe.AckStatus;
import dev.baton.common.sbe.BeginDecoder;
import dev.baton.common.sbe.BlockDecoder;
import dev.baton.common.sbe.BlockRefDecoder;
import dev.baton.common.sbe.CancelDecoder;
import dev.baton.common.sbe.EndDecoder;
import dev.baton.common.sbe.FailureCode;
import dev.baton.common.sbe.MessageHeaderDecoder;
import java.nio.ByteOrder;
import org.agrona.DirectBuffer;

/**
 * Checks a received frame before any of its fields is read: that it is a message of the KV transfer
 * schema whose fixed block and variable-length fields all lie inside the frame, and whose enum fields
 * hold known values (a decoder throws on an unknown one). SBE decoders trust the
 * lengths they read, so a truncated frame, or one whose block length or a field length lies, would
 * otherwise read past its end (into the next frames of the term buffer, or past the buffer with an
 * exception out of the duty cycle).
 *
 * <pre>
 *   | header 8 | fixed block (blockLength, at least the fields of its version) | u32 len | bytes | u32 len | bytes ...
 *   Begin: 3 variable-length fields (dtype, layout, replyChannel); Block, Ack, Cancel: 1; BlockRef, End: 0
 * </pre>
 *
 * Stateless; allocation-free; safe to share between threads.
 */
final class FrameCheck {

    /** Not a message of this schema, or a template this side does not read. */
    static final int FOREIGN = -1;
    /** A message of this schema that does not fit its frame. */
    static final int MALFORMED = -2;

    /** The values of the enum fields the decoders turn into constants (an unknown one would throw). */
    private static final short[] ACK_STATUSES = values(AckStatus.values());
    private static final short[] FAILURE_CODES = values(FailureCode.values());

    private FrameCheck() {}

    private static short[] values(Enum<?>[] constants) {
        short[] v = new short[constants.length];
        for (int i = 0; i < v.length; i++) {
            v[i] = constants[i] instanceof AckStatus a ? a.value() : ((FailureCode) constants[i]).value();
        }
        return v;
    }

    private static boolean known(short[] values, byte raw) {
        short v = (short) (raw & 0xFF);
        for (short known : values) {
            if (known == v) {
                return true;
            }
        }
        return false;
    }

    /**
     * @param expectedTemplates the templates the caller reads (a bit per template id below 32)
     * @return the template id of a whole message, or {@link #FOREIGN} or {@link #MALFORMED}
     */
    static int check(DirectBuffer buffer, int offset, int length, int expectedTemplates) {
        if (length < MessageHeaderDecoder.ENCODED_LENGTH) {
            return FOREIGN;
        }
        int blockLength = buffer.getShort(offset + MessageHeaderDecoder.blockLengthEncodingOffset(), ByteOrder.LITTLE_ENDIAN) & 0xFFFF;
        int template = buffer.getShort(offset + MessageHeaderDecoder.templateIdEncodingOffset(), ByteOrder.LITTLE_ENDIAN) & 0xFFFF;
        int schema = buffer.getShort(offset + MessageHeaderDecoder.schemaIdEncodingOffset(), ByteOrder.LITTLE_ENDIAN) & 0xFFFF;
        int version = buffer.getShort(offset + MessageHeaderDecoder.versionEncodingOffset(), ByteOrder.LITTLE_ENDIAN) & 0xFFFF;
        if (schema != MessageHeaderDecoder.SCHEMA_ID || template >= 32 || (expectedTemplates & (1 << template)) == 0) {
            return FOREIGN;
        }
        int minBlock;
        int varFields;
        switch (template) {
            case BeginDecoder.TEMPLATE_ID -> {
                minBlock = version >= 2 ? BeginDecoder.BLOCK_LENGTH : BeginDecoder.regionPidEncodingOffset();
                varFields = 3;
            }
            case BlockDecoder.TEMPLATE_ID -> {
                minBlock = BlockDecoder.BLOCK_LENGTH;
                varFields = 1;
            }
            case BlockRefDecoder.TEMPLATE_ID -> {
                minBlock = BlockRefDecoder.BLOCK_LENGTH;
                varFields = 0;
            }
            case EndDecoder.TEMPLATE_ID -> {
                minBlock = EndDecoder.BLOCK_LENGTH;
                varFields = 0;
            }
            case AckDecoder.TEMPLATE_ID -> {
                minBlock = version >= 2 ? AckDecoder.BLOCK_LENGTH : AckDecoder.regionMappedEncodingOffset();
                varFields = 1;
            }
            case CancelDecoder.TEMPLATE_ID -> {
                minBlock = CancelDecoder.BLOCK_LENGTH;
                varFields = 1;
            }
            default -> {
                return FOREIGN;
            }
        }
        long end = (long) offset + length;
        long pos = (long) offset + MessageHeaderDecoder.ENCODED_LENGTH + blockLength;
        if (blockLength < minBlock || pos > end) {
            return MALFORMED;
        }
        int body = offset + MessageHeaderDecoder.ENCODED_LENGTH;
        if (template == AckDecoder.TEMPLATE_ID && (!known(ACK_STATUSES, buffer.getByte(body + AckDecoder.statusEncodingOffset()))
                || !known(FAILURE_CODES, buffer.getByte(body + AckDecoder.failureEncodingOffset())))) {
            return MALFORMED;
        }
        if (template == CancelDecoder.TEMPLATE_ID && !known(FAILURE_CODES, buffer.getByte(body + CancelDecoder.failureEncodingOffset()))) {
            return MALFORMED;
        }
        for (int i = 0; i < varFields; i++) {
            if (pos + 4 > end) {
                return MALFORMED;
            }
            long fieldLength = buffer.getInt((int) pos, ByteOrder.LITTLE_ENDIAN) & 0xFFFF_FFFFL;
            pos += 4 + fieldLength;
            if (pos > end) {
                return MALFORMED;
            }
        }
        return template;
    }

    /** The bit of {@code templateId} in {@code expectedTemplates}. */
    static int bit(int templateId) {
        return 1 << templateId;
    }
}
