package dev.baton.kvtransfer.aeron;

import dev.baton.common.KvCompatibility;
import dev.baton.kvtransfer.KvDestination;
import dev.baton.kvtransfer.KvReceiver;
import dev.baton.kvtransfer.KvSendListener;
import dev.baton.kvtransfer.KvSender;
import dev.baton.kvtransfer.KvTransferException;
import dev.baton.kvtransfer.KvTransferListener;
import dev.baton.kvtransfer.KvTransferMetrics;
import dev.baton.kvtransfer.KvTransport;
import dev.baton.kvtransfer.SharedRegion;
import io.aeron.Aeron;
import io.aeron.driver.MediaDriver;
import io.aeron.driver.ext.DebugReceiveChannelEndpoint;
import io.aeron.driver.ext.RandomLossGenerator;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.agrona.CloseHelper;
import org.agrona.ErrorHandler;
import org.agrona.concurrent.Agent;
import org.agrona.concurrent.AgentRunner;
import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.BusySpinIdleStrategy;
import org.agrona.concurrent.IdleStrategy;
import org.agrona.concurrent.NanoClock;
import org.agrona.concurrent.SleepingMillisIdleStrategy;
import org.agrona.concurrent.SystemNanoClock;
import org.agrona.concurrent.YieldingIdleStrategy;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Aeron {@link KvTransport}, and the owner of its lifecycle: the Aeron client and, with
 * {@code driver = embedded}, a media driver in {@code aeron-dir} (deleted again on close). Senders
 * and receivers made here share the client; each is an {@link Agent} that its caller runs, for
 * instance with {@link #startOnThread(Agent)}.
 *
 * <p>Errors reported by Aeron on its own threads are counted and logged once per distinct message;
 * they never throw into the caller.
 *
 * <p>Thread-safe. Close every sender and receiver (or the runners of them) before the transport.
 */
public final class AeronKvTransport implements KvTransport {

    private static final Logger LOG = LoggerFactory.getLogger(AeronKvTransport.class);

    private final AeronTransportSettings settings;
    private final MediaDriver driver;
    private final Aeron aeron;
    private final KvTransferMetrics sendMetrics;
    private final KvTransferMetrics receiveMetrics;
    private final NanoClock clock = SystemNanoClock.INSTANCE;
    private final AtomicLong errors = new AtomicLong();
    private final Set<String> distinctErrors = ConcurrentHashMap.newKeySet();

    private AeronKvTransport(AeronTransportSettings settings, MeterRegistry registry) {
        this.settings = settings;
        ErrorHandler errorHandler = this::onError;
        MediaDriver launched = null;
        try {
            if (settings.driver() == AeronTransportSettings.DriverMode.EMBEDDED) {
                launched = MediaDriver.launch(driverContext(settings, errorHandler));
            }
            this.driver = launched;
            this.aeron = Aeron.connect(new Aeron.Context()
                    .aeronDirectoryName(settings.aeronDirectory())
                    .driverTimeoutMs(TimeUnit.NANOSECONDS.toMillis(settings.driverTimeoutNs()))
                    .errorHandler(errorHandler));
        } catch (RuntimeException e) {
            CloseHelper.quietClose(launched);
            throw new KvTransferException("could not start the Aeron transport in " + settings.aeronDirectory()
                    + " (driver " + settings.driver().name().toLowerCase(java.util.Locale.ROOT) + "): " + e.getMessage(), e);
        }
        this.sendMetrics = new KvTransferMetrics(registry, settings.name(), "send");
        this.receiveMetrics = new KvTransferMetrics(registry, settings.name(), "receive");
        LOG.info("kv-transfer {} started: driver {} in {}, receiving on {} stream {}, replies on {} stream {}, "
                + "mtu {} B, term {} B (IPC {} B), CRC32C {}", settings.name(), settings.driver(), settings.aeronDirectory(),
                settings.channel(), settings.streamId(), settings.replyChannel(), settings.replyStreamId(),
                settings.mtuBytes(), settings.termLengthBytes(), settings.ipcTermLengthBytes(), RunningCrc32c.isDirect() ? "direct" : "through ByteBuffer views "
                        + "(add --add-opens java.base/java.util.zip=ALL-UNNAMED to avoid allocation)");
    }

    /**
     * Starts the transport: the embedded media driver (if configured) and the Aeron client.
     *
     * @throws KvTransferException if the driver or the client cannot start (the message names the directory)
     */
    public static AeronKvTransport launch(AeronTransportSettings settings, MeterRegistry registry) {
        return new AeronKvTransport(settings, registry);
    }

    private static MediaDriver.Context driverContext(AeronTransportSettings s, ErrorHandler errorHandler) {
        MediaDriver.Context ctx = new MediaDriver.Context()
                .aeronDirectoryName(s.aeronDirectory())
                .threadingMode(s.threadingMode())
                // Not deleted on start: Aeron then refuses a directory whose driver is still alive
                // (ActiveDriverException) and clears only a stale one.
                .dirDeleteOnStart(false)
                .dirDeleteOnShutdown(true)
                .warnIfDirectoryExists(false)
                .mtuLength(s.mtuBytes())
                .ipcMtuLength(s.mtuBytes())
                .publicationTermBufferLength(s.termLengthBytes())
                .ipcTermBufferLength(s.ipcTermLengthBytes())
                .driverTimeoutMs(TimeUnit.NANOSECONDS.toMillis(s.driverTimeoutNs()))
                .errorHandler(errorHandler);
        if (s.socketBufferBytes() > 0) {
            ctx.socketRcvbufLength(s.socketBufferBytes()).socketSndbufLength(s.socketBufferBytes());
            ctx.initialWindowLength(Math.min(s.socketBufferBytes(), s.termLengthBytes() / 2));
        }
        if (s.debugReceiveLossRate() > 0) {
            double rate = s.debugReceiveLossRate();
            long seed = s.debugReceiveLossSeed();
            ctx.receiveChannelEndpointSupplier((channel, dispatcher, status, context) -> new DebugReceiveChannelEndpoint(
                    channel, dispatcher, status, context, new RandomLossGenerator(rate, seed), new RandomLossGenerator(0)));
        }
        return ctx;
    }

    @Override
    public String name() {
        return settings.name();
    }

    public AeronTransportSettings settings() {
        return settings;
    }

    @Override
    public KvDestination destination() {
        return new KvDestination(settings.channel(), settings.streamId());
    }

    @Override
    public KvSender newSender(KvSendListener listener) {
        return new AeronKvSender(aeron, settings, sendMetrics, listener, clock, null);
    }

    @Override
    public KvSender newSender(KvSendListener listener, SharedRegion region) {
        return new AeronKvSender(aeron, settings, sendMetrics, listener, clock, region);
    }

    @Override
    public KvReceiver newReceiver(KvCompatibility local, KvTransferListener listener) {
        return new AeronKvReceiver(aeron, settings, local, listener, receiveMetrics, clock);
    }

    /** Metrics of this transport's senders. */
    public KvTransferMetrics sendMetrics() {
        return sendMetrics;
    }

    /** Metrics of this transport's receivers. */
    public KvTransferMetrics receiveMetrics() {
        return receiveMetrics;
    }

    /** A new idle strategy of the configured kind. */
    public IdleStrategy newIdleStrategy() {
        return switch (settings.idleStrategy()) {
            case BACKOFF -> new BackoffIdleStrategy(100, 10, TimeUnit.MICROSECONDS.toNanos(1),
                    TimeUnit.MILLISECONDS.toNanos(1));
            case YIELD -> new YieldingIdleStrategy();
            case BUSY_SPIN -> new BusySpinIdleStrategy();
            case SLEEP -> new SleepingMillisIdleStrategy(1);
        };
    }

    /**
     * Runs {@code agent} (a receiver, or a sender used by no other thread) on a new daemon thread with the
     * configured idle strategy; close the returned runner to stop it (which closes the agent).
     */
    public AgentRunner startOnThread(Agent agent) {
        AgentRunner runner = new AgentRunner(newIdleStrategy(), this::onError, null, agent);
        AgentRunner.startOnThread(runner);
        return runner;
    }

    /** Errors Aeron or a duty cycle reported so far. */
    public long errorCount() {
        return errors.get();
    }

    private void onError(Throwable t) {
        errors.incrementAndGet();
        String key = t.getClass().getName() + ": " + t.getMessage();
        if (distinctErrors.size() < 1000 && distinctErrors.add(key)) {
            LOG.warn("kv-transfer {}: {}", settings.name(), key, t);
        }
    }

    @Override
    public void close() {
        CloseHelper.closeAll(aeron, driver);
        LOG.info("kv-transfer {} closed", settings.name());
    }
}
