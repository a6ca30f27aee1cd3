package dev.baton.kvtransfer;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.LongTaskTimer;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import java.util.EnumMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The Micrometer meters of one side ({@code direction} {@code send} or {@code receive}) of one
 * transport (docs/design.md §8): dot-case names, base units, tags {@code transport}, {@code direction} and,
 * for failures and dropped frames, {@code reason}. Meters are created once here; recording allocates
 * nothing except {@link #startTransfer()} (one sample per transfer).
 *
 * <pre>
 *   baton.kv.transfer.bytes            counter  payload bytes sent / received
 *   baton.kv.transfer.pulled.bytes     counter  of those, bytes the receiver copied from the sender's shared region
 *   baton.kv.transfer.frames           counter  frames sent / received (every kind)
 *   baton.kv.transfer.started          counter  transfers begun / accepted
 *   baton.kv.transfer.completed        counter
 *   baton.kv.transfer.failed           counter  reason = refused, deadline, crc-mismatch, ..., cancelled
 *   baton.kv.transfer.duration         timer    begin to verdict, with a histogram
 *   baton.kv.transfer.in.flight        long-task timer; its active count is the transfers in flight
 *   baton.kv.transfer.frames.dropped   counter  reason = late, unknown, foreign, refused, wrong-session
 *   baton.kv.transfer.back.pressured   counter  offers that returned BACK_PRESSURED or NOT_CONNECTED
 * </pre>
 *
 * Thread-safe (Micrometer meters are); shared by every sender or receiver of a transport.
 */
public final class KvTransferMetrics {

    /** Why a frame was dropped: the {@code reason} tag of {@code baton.kv.transfer.frames.dropped}. */
    public enum DropReason {
        /** A frame of a transfer that already ended (late or duplicate). */
        LATE,
        /** A frame of a transfer this receiver never saw begin. */
        UNKNOWN,
        /**
         * A frame of another schema or template, or one that does not fit its frame (too short, or a
         * block length or field length that runs past its end).
         */
        FOREIGN,
        /** A frame of a transfer that was refused at its begin frame. */
        REFUSED,
        /**
         * A frame naming a transfer in flight, sent by a publication other than the one whose Begin the
         * receiver accepted: a sender that did not complete the handshake for that transfer.
         */
        WRONG_SESSION;

        final String tag = name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
    }

    private final Counter bytes;
    private final Counter pulled;
    private final Counter frames;
    private final Counter started;
    private final Counter completed;
    private final Counter backPressured;
    private final EnumMap<KvFailure, Counter> failed = new EnumMap<>(KvFailure.class);
    private final EnumMap<DropReason, Counter> dropped = new EnumMap<>(DropReason.class);
    private final Timer duration;
    private final LongTaskTimer inFlight;
    private final AtomicInteger publications = new AtomicInteger();

    public KvTransferMetrics(MeterRegistry registry, String transport, String direction) {
        Tags tags = Tags.of("transport", transport, "direction", direction);
        bytes = Counter.builder("baton.kv.transfer.bytes").baseUnit("bytes").tags(tags)
                .description("KV payload bytes moved").register(registry);
        pulled = Counter.builder("baton.kv.transfer.pulled.bytes").baseUnit("bytes").tags(tags)
                .description("KV payload bytes copied from the sender's shared region").register(registry);
        frames = Counter.builder("baton.kv.transfer.frames").tags(tags).description("transfer frames").register(registry);
        started = Counter.builder("baton.kv.transfer.started").tags(tags).register(registry);
        completed = Counter.builder("baton.kv.transfer.completed").tags(tags).register(registry);
        backPressured = Counter.builder("baton.kv.transfer.back.pressured").tags(tags).register(registry);
        for (KvFailure f : KvFailure.values()) {
            failed.put(f, Counter.builder("baton.kv.transfer.failed").tags(tags).tag("reason", f.tag()).register(registry));
        }
        for (DropReason r : DropReason.values()) {
            dropped.put(r, Counter.builder("baton.kv.transfer.frames.dropped").tags(tags).tag("reason", r.tag)
                    .register(registry));
        }
        duration = Timer.builder("baton.kv.transfer.duration").tags(tags).publishPercentileHistogram()
                .description("begin to verdict").register(registry);
        inFlight = LongTaskTimer.builder("baton.kv.transfer.in.flight").tags(tags).register(registry);
        Gauge.builder("baton.kv.transfer.publications", publications, AtomicInteger::get).tags(tags)
                .description("publications open to peers (closed once no transfer used them for peer-idle-timeout)")
                .register(registry);
    }

    /** A publication to a peer was opened ({@code +1}) or closed ({@code -1}). */
    public void publications(int delta) {
        publications.addAndGet(delta);
    }

    /** Publications open to peers, over every sender or receiver sharing these meters. */
    public int openPublications() {
        return publications.get();
    }

    public void bytes(long n) {
        bytes.increment(n);
    }

    /** Counts {@code n} payload bytes moved through a shared region (also counted by {@link #bytes}). */
    public void pulled(long n) {
        bytes.increment(n);
        pulled.increment(n);
    }

    /** Bytes moved through a shared region so far. */
    public long pulledBytes() {
        return (long) pulled.count();
    }

    public void frames(long n) {
        frames.increment(n);
    }

    public void backPressured() {
        backPressured.increment();
    }

    /** Counts a started transfer; stop the returned sample with {@link #ended}. */
    public LongTaskTimer.Sample startTransfer() {
        started.increment();
        return inFlight.start();
    }

    /** Records the end of a transfer: {@code failure} null for a completion. */
    public void ended(LongTaskTimer.Sample sample, KvFailure failure, long durationNs) {
        if (sample != null) {
            sample.stop();
        }
        if (failure == null) {
            completed.increment();
        } else {
            failed.get(failure).increment();
        }
        duration.record(durationNs, TimeUnit.NANOSECONDS);
    }

    /** Counts a refusal at a begin frame (no transfer was started). */
    public void refused() {
        failed.get(KvFailure.REFUSED).increment();
    }

    public void dropped(DropReason reason) {
        dropped.get(reason).increment();
    }

    /** Frames dropped for {@code reason} so far. */
    public long droppedCount(DropReason reason) {
        return (long) dropped.get(reason).count();
    }

    /** Transfers failed for {@code failure} so far. */
    public long failedCount(KvFailure failure) {
        return (long) failed.get(failure).count();
    }
}
