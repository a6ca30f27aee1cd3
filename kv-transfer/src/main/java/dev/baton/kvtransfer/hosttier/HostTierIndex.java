package dev.baton.kvtransfer.hosttier;

import java.io.IOException;
import java.nio.file.Path;
import net.openhft.chronicle.bytes.Bytes;
import net.openhft.chronicle.hash.locks.InterProcessDeadLockException;
import net.openhft.chronicle.hash.serialization.SizedReader;
import net.openhft.chronicle.hash.serialization.SizedWriter;
import net.openhft.chronicle.hash.serialization.impl.EnumMarshallable;
import net.openhft.chronicle.map.ChronicleMap;
import net.openhft.chronicle.map.ExternalMapQueryContext;
import net.openhft.chronicle.map.MapAbsentEntry;
import net.openhft.chronicle.map.MapEntry;
import net.openhft.chronicle.map.MapSegmentContext;

/**
 * The host tier's shared index: a Chronicle Map persisted next to the slab ({@code <name>.index})
 * that maps (block hash, compatibility digest) to a slot reference (slot number and generation).
 * Chronicle Map keeps it consistent between processes with its own cross-process segment locks;
 * the slot states themselves live in the {@link Slab}, so a stale reference (a slot that has since
 * been evicted) is recognised by its generation and cleaned up lazily.
 *
 * <pre>
 *   key   (24 bytes): block hash hi (8) | block hash lo (8) | compatibility digest (8)
 *   value  (8 bytes): slot (bits 63..32) | generation (bits 31..0)
 * </pre>
 *
 * <p>Thread-safe: the key and value objects it serializes through are per thread. Not public:
 * {@link HostTier} is the only user.
 */
final class HostTierIndex implements AutoCloseable {

    /** No reference: the key is absent. */
    static final long NONE = -1L;
    /** {@link #publish} could not store the reference: the map is full even after purging stale entries. */
    static final long FULL = -2L;

    static {
        // Chronicle's usage reporting stays off even when a JVM was started without bin/baton's flags
        // (they set these too); this runs before any Chronicle class is initialized.
        if (System.getProperty("chronicle.analytics.disable") == null) {
            System.setProperty("chronicle.analytics.disable", "true");
        }
        if (System.getProperty("chronicle.announcer.disable") == null) {
            System.setProperty("chronicle.announcer.disable", "true");
        }
    }

    private final ChronicleMap<Key, Ref> map;
    private final ThreadLocal<Scratch> scratch = ThreadLocal.withInitial(Scratch::new);

    private HostTierIndex(ChronicleMap<Key, Ref> map) {
        this.map = map;
    }

    /**
     * Creates the index file or opens the existing one. Callers serialize creation (the slab lock).
     *
     * @throws HostTierException when Chronicle Map cannot start (typically: the JVM lacks the
     *                           {@code --add-opens}/{@code --add-exports} flags it needs)
     */
    static HostTierIndex open(Path file, String name, long entries) throws IOException {
        try {
            ChronicleMap<Key, Ref> map = ChronicleMap.of(Key.class, Ref.class)
                    .name("baton-host-tier-" + name)
                    .keyMarshaller(KeyMarshaller.INSTANCE)
                    .constantKeySizeBySample(new Key())
                    .valueMarshaller(RefMarshaller.INSTANCE)
                    .constantValueSizeBySample(new Ref())
                    .entries(entries)
                    .maxBloatFactor(2.0)
                    .createPersistedTo(file.toFile());
            return new HostTierIndex(map);
        } catch (LinkageError | RuntimeException e) {
            throw new HostTierException("host tier index " + file + ": Chronicle Map could not open it (" + e
                    + "); the JVM needs the flags bin/baton passes (--add-opens java.base/java.lang=ALL-UNNAMED"
                    + " and the others of baton.jvm.flags in pom.xml)", e);
        }
    }

    static long ref(int slot, long generation) {
        return ((long) slot << 32) | (generation & 0xFFFF_FFFFL);
    }

    static int slotOf(long ref) {
        return (int) (ref >>> 32);
    }

    static long generationOf(long ref) {
        return ref & 0xFFFF_FFFFL;
    }

    /** The reference stored under the key, or {@link #NONE}. */
    long lookup(long hashHi, long hashLo, long compat) {
        Scratch s = scratch.get();
        s.key.set(hashHi, hashLo, compat);
        try {
            Ref found = map.getUsing(s.key, s.ref);
            return found == null ? NONE : found.value;
        } catch (InterProcessDeadLockException e) {
            throw deadLock(e);
        }
    }

    /**
     * A process died inside an index operation (a few microseconds) and left a segment locked;
     * Chronicle Map gives up after its lock timeout. Only recovering or deleting the files while no
     * process has them open clears it.
     */
    private HostTierException deadLock(InterProcessDeadLockException e) {
        return new HostTierException("host tier index " + map.file() + ": a segment stays locked by a process that"
                + " died; stop the processes using it and delete or recover the files", e);
    }

    /**
     * Stores {@code ref} under the key unless the key already holds a reference that {@code slab}
     * says is live; atomic for all processes (under the key's segment write lock).
     *
     * @return {@link #NONE} when {@code ref} was stored, the live reference already there, or
     *         {@link #FULL} when the map has no room even after {@link #purgeStale}
     */
    long publish(long hashHi, long hashLo, long compat, long ref, HostTier.Liveness liveness) {
        try {
            return tryPublish(hashHi, hashLo, compat, ref, liveness);
        } catch (InterProcessDeadLockException e) {
            throw deadLock(e);
        } catch (IllegalStateException full) {
            // Chronicle Map refuses another segment tier: stale entries (left by processes that died
            // between evicting a slot and unindexing it) filled it. Drop them and try once more.
            purgeStale(liveness);
            try {
                return tryPublish(hashHi, hashLo, compat, ref, liveness);
            } catch (InterProcessDeadLockException e) {
                throw deadLock(e);
            } catch (IllegalStateException stillFull) {
                return FULL;
            }
        }
    }

    private long tryPublish(long hashHi, long hashLo, long compat, long ref, HostTier.Liveness liveness) {
        Scratch s = scratch.get();
        s.key.set(hashHi, hashLo, compat);
        try (ExternalMapQueryContext<Key, Ref, ?> c = map.queryContext(s.key)) {
            c.writeLock().lock();
            s.ref.value = ref;
            MapEntry<Key, Ref> entry = c.entry();
            if (entry != null) {
                long existing = entry.value().getUsing(s.other).value;
                if (liveness.isLive(existing)) {
                    return existing;
                }
                c.replaceValue(entry, c.wrapValueAsData(s.ref));
            } else {
                MapAbsentEntry<Key, Ref> absent = c.absentEntry();
                c.insert(absent, c.wrapValueAsData(s.ref));
            }
            return NONE;
        }
    }

    /** Removes the key if it still holds exactly {@code ref}; true when it did. */
    boolean removeIfEquals(long hashHi, long hashLo, long compat, long ref) {
        Scratch s = scratch.get();
        s.key.set(hashHi, hashLo, compat);
        try (ExternalMapQueryContext<Key, Ref, ?> c = map.queryContext(s.key)) {
            c.updateLock().lock();
            MapEntry<Key, Ref> entry = c.entry();
            if (entry == null || entry.value().getUsing(s.other).value != ref) {
                return false;
            }
            c.remove(entry);
            return true;
        } catch (InterProcessDeadLockException e) {
            throw deadLock(e);
        }
    }

    /**
     * Removes every entry whose reference is no longer live; returns how many. O(entries): it takes
     * each segment's lock in turn, so it runs only when the index has grown well past the slot count.
     */
    long purgeStale(HostTier.Liveness liveness) {
        long[] removed = {0};
        Ref r = new Ref();
        for (int i = 0; i < map.segments(); i++) {
            try (MapSegmentContext<Key, Ref, ?> c = map.segmentContext(i)) {
                c.forEachSegmentEntry(e -> {
                    if (!liveness.isLive(e.value().getUsing(r).value)) {
                        e.doRemove();
                        removed[0]++;
                    }
                });
            }
        }
        return removed[0];
    }

    /** Entries in the index, all compatibility digests, stale ones included. */
    long size() {
        return map.longSize();
    }

    @Override
    public void close() {
        map.close();
    }

    /** Per-thread objects Chronicle Map reads into and writes from. */
    private static final class Scratch {
        final Key key = new Key();
        final Ref ref = new Ref();
        final Ref other = new Ref();
    }

    /** Mutable key: reused per thread, serialized by {@link KeyMarshaller}. */
    static final class Key {
        long hashHi;
        long hashLo;
        long compat;

        void set(long hi, long lo, long c) {
            hashHi = hi;
            hashLo = lo;
            compat = c;
        }
    }

    /** Mutable value: a packed slot reference. */
    static final class Ref {
        long value;
    }

    /** Chronicle Map stores the marshaller in the file header; a singleton with readResolve, as its docs ask. */
    static final class KeyMarshaller implements SizedReader<Key>, SizedWriter<Key>, EnumMarshallable<KeyMarshaller> {
        static final KeyMarshaller INSTANCE = new KeyMarshaller();

        private KeyMarshaller() {
        }

        @Override
        public long size(Key k) {
            return 24;
        }

        @Override
        public void write(Bytes<?> out, long size, Key k) {
            out.writeLong(k.hashHi);
            out.writeLong(k.hashLo);
            out.writeLong(k.compat);
        }

        @Override
        public Key read(Bytes<?> in, long size, Key using) {
            Key k = using != null ? using : new Key();
            k.hashHi = in.readLong();
            k.hashLo = in.readLong();
            k.compat = in.readLong();
            return k;
        }

        @Override
        public KeyMarshaller readResolve() {
            return INSTANCE;
        }
    }

    static final class RefMarshaller implements SizedReader<Ref>, SizedWriter<Ref>, EnumMarshallable<RefMarshaller> {
        static final RefMarshaller INSTANCE = new RefMarshaller();

        private RefMarshaller() {
        }

        @Override
        public long size(Ref r) {
            return 8;
        }

        @Override
        public void write(Bytes<?> out, long size, Ref r) {
            out.writeLong(r.value);
        }

        @Override
        public Ref read(Bytes<?> in, long size, Ref using) {
            Ref r = using != null ? using : new Ref();
            r.value = in.readLong();
            return r;
        }

        @Override
        public RefMarshaller readResolve() {
            return INSTANCE;
        }
    }
}
