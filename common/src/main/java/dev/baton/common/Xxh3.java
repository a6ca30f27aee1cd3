package dev.baton.common;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import net.openhft.hashing.Access;
import net.openhft.hashing.LongTupleHashFunction;

/**
 * XXH3-128 (seed 0) over byte arrays and {@link MemorySegment}s, without copying. Results are written
 * as {@code {lo, hi}} into a caller-owned {@code long[2]}. Stateless and thread-safe.
 */
final class Xxh3 {

    private static final LongTupleHashFunction XX128 = LongTupleHashFunction.xx128();

    private Xxh3() {}

    static void hash(byte[] input, int offset, int length, long[] loHi) {
        XX128.hashBytes(input, offset, length, loHi);
    }

    static void hash(MemorySegment input, long offset, long length, long[] loHi) {
        java.util.Objects.checkFromIndexSize(offset, length, input.byteSize());
        XX128.hash(input, SegmentAccess.INSTANCE, offset, length, loHi);
    }

    /** Little-endian, bounds-checked reads from a heap or native segment. */
    private static final class SegmentAccess extends Access<MemorySegment> {
        static final SegmentAccess INSTANCE = new SegmentAccess();
        private static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
        private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
        private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

        @Override
        public long getLong(MemorySegment s, long offset) {
            return s.get(I64, offset);
        }

        @Override
        public long getUnsignedInt(MemorySegment s, long offset) {
            return Integer.toUnsignedLong(s.get(I32, offset));
        }

        @Override
        public int getInt(MemorySegment s, long offset) {
            return s.get(I32, offset);
        }

        @Override
        public int getUnsignedShort(MemorySegment s, long offset) {
            return Short.toUnsignedInt(s.get(I16, offset));
        }

        @Override
        public int getShort(MemorySegment s, long offset) {
            return s.get(I16, offset);
        }

        @Override
        public int getUnsignedByte(MemorySegment s, long offset) {
            return Byte.toUnsignedInt(s.get(ValueLayout.JAVA_BYTE, offset));
        }

        @Override
        public int getByte(MemorySegment s, long offset) {
            return s.get(ValueLayout.JAVA_BYTE, offset);
        }

        @Override
        public ByteOrder byteOrder(MemorySegment s) {
            return ByteOrder.LITTLE_ENDIAN;
        }

        @Override
        protected Access<MemorySegment> reverseAccess() {
            throw new UnsupportedOperationException("segments are always read little-endian");
        }
    }
}
