package dev.baton.kvtransfer.aeron;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import dev.baton.kvtransfer.KvTransferException;
import io.aeron.ChannelUri;
import io.aeron.CommonContext;
import io.aeron.driver.ThreadingMode;
import java.util.Locale;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import org.agrona.BitUtil;

/**
 * The settings of one Aeron KV transport, from {@code baton.kv-transfer.aeron} (see the module's
 * {@code reference.conf} for every key). Immutable, validated once when built: a value out of range
 * throws {@link KvTransferException} naming the key and the limit.
 */
public record AeronTransportSettings(
        String name,
        DriverMode driver,
        String aeronDirectory,
        ThreadingMode threadingMode,
        String channel,
        int streamId,
        String replyChannel,
        int replyStreamId,
        int mtuBytes,
        int termLengthBytes,
        int ipcTermLengthBytes,
        int socketBufferBytes,
        long maxTransferTimeoutNs,
        int fragmentLimit,
        IdleKind idleStrategy,
        double debugReceiveLossRate,
        long debugReceiveLossSeed,
        long driverTimeoutNs,
        String bindAddress,
        long peerIdleTimeoutNs) {

    /** Configuration path of these settings. */
    public static final String PATH = "baton.kv-transfer.aeron";

    /** Smallest MTU accepted: below this a KV block needs too many frames to be worth sending. */
    public static final int MIN_MTU_BYTES = 4096;
    /** Largest MTU Aeron accepts (the largest UDP payload it sends). */
    public static final int MAX_MTU_BYTES = 65504;
    public static final int MIN_TERM_LENGTH_BYTES = 64 * 1024;
    public static final int MAX_TERM_LENGTH_BYTES = 1 << 30;

    /** Whether this process runs the media driver. */
    public enum DriverMode { EMBEDDED, EXTERNAL }

    /** What an idle duty cycle does. */
    public enum IdleKind { BACKOFF, YIELD, BUSY_SPIN, SLEEP }

    public AeronTransportSettings {
        Objects.requireNonNull(driver, "driver");
        Objects.requireNonNull(threadingMode, "threading-mode");
        Objects.requireNonNull(idleStrategy, "idle-strategy");
        bindAddress = bindAddress == null ? "" : bindAddress.trim();
        if (bindAddress.contains(":") && !bindAddress.startsWith("[") || bindAddress.contains("/")) {
            throw new KvTransferException(PATH + ".bind-address: \"" + bindAddress
                    + "\" must be a host name or an IP address (IPv6 in brackets), without a port");
        }
        aeronDirectory = aeronDirectory == null || aeronDirectory.isBlank()
                ? CommonContext.getAeronDirectoryName() : aeronDirectory;
        checkChannel("channel", channel);
        checkChannel("reply-channel", replyChannel);
        if (name == null || name.isBlank()) {
            name = channel.startsWith("aeron:ipc") ? "aeron-ipc" : "aeron-udp";
        }
        if (mtuBytes < MIN_MTU_BYTES || mtuBytes > MAX_MTU_BYTES || mtuBytes % 32 != 0) {
            throw invalid("mtu-bytes", mtuBytes, "a multiple of 32 from " + MIN_MTU_BYTES + " to " + MAX_MTU_BYTES);
        }
        checkTermLength("term-length-bytes", termLengthBytes, mtuBytes);
        checkTermLength("ipc-term-length-bytes", ipcTermLengthBytes, mtuBytes);
        if (socketBufferBytes < 0) {
            throw invalid("socket-buffer-bytes", socketBufferBytes, "0 (driver default) or more");
        }
        if (maxTransferTimeoutNs <= 0) {
            throw invalid("max-transfer-timeout", maxTransferTimeoutNs + " ns", "more than 0");
        }
        if (fragmentLimit < 1 || fragmentLimit > 65536) {
            throw invalid("fragment-limit", fragmentLimit, "from 1 to 65536");
        }
        if (!(debugReceiveLossRate >= 0 && debugReceiveLossRate <= 0.5)) {
            throw invalid("debug-receive-loss-rate", debugReceiveLossRate, "from 0 to 0.5");
        }
        if (peerIdleTimeoutNs < TimeUnit.SECONDS.toNanos(1)) {
            throw invalid("peer-idle-timeout", peerIdleTimeoutNs + " ns", "at least 1 s");
        }
        if (driverTimeoutNs < TimeUnit.MILLISECONDS.toNanos(100)) {
            throw invalid("driver-timeout", driverTimeoutNs + " ns", "at least 100 ms");
        }
        if (streamId == replyStreamId && channel.equals(replyChannel)) {
            throw new KvTransferException(PATH + ".reply-stream-id: " + replyStreamId
                    + " must differ from stream-id when reply-channel equals channel (" + channel + ")");
        }
    }

    /** Parses and validates {@code config} at {@link #PATH}. */
    public static AeronTransportSettings from(Config config) {
        try {
            Config c = config.getConfig(PATH);
            return new AeronTransportSettings(
                    c.getString("name"),
                    parseEnum(DriverMode.class, c, "driver"),
                    c.getString("aeron-dir"),
                    parseEnum(ThreadingMode.class, c, "threading-mode"),
                    c.getString("channel"),
                    c.getInt("stream-id"),
                    c.getString("reply-channel"),
                    c.getInt("reply-stream-id"),
                    intBytes(c, "mtu-bytes"),
                    intBytes(c, "term-length-bytes"),
                    intBytes(c, "ipc-term-length-bytes"),
                    intBytes(c, "socket-buffer-bytes"),
                    c.getDuration("max-transfer-timeout", TimeUnit.NANOSECONDS),
                    c.getInt("fragment-limit"),
                    parseEnum(IdleKind.class, c, "idle-strategy"),
                    c.getDouble("debug-receive-loss-rate"),
                    c.getLong("debug-receive-loss-seed"),
                    c.getDuration("driver-timeout", TimeUnit.NANOSECONDS),
                    c.getString("bind-address"),
                    c.getDuration("peer-idle-timeout", TimeUnit.NANOSECONDS));
        } catch (ConfigException e) {
            throw new KvTransferException("invalid kv-transfer configuration: " + e.getMessage(), e);
        }
    }

    /** The defaults of {@code reference.conf}. */
    public static AeronTransportSettings defaults() {
        return from(ConfigFactory.defaultReference());
    }

    /** A copy with another driver mode and directory. */
    public AeronTransportSettings withDriver(DriverMode mode, String directory) {
        return new AeronTransportSettings(name, mode, directory, threadingMode, channel, streamId, replyChannel,
                replyStreamId, mtuBytes, termLengthBytes, ipcTermLengthBytes, socketBufferBytes, maxTransferTimeoutNs, fragmentLimit,
                idleStrategy, debugReceiveLossRate, debugReceiveLossSeed, driverTimeoutNs, bindAddress, peerIdleTimeoutNs);
    }

    /** A copy with other receive and reply channels (and the name derived from them again). */
    public AeronTransportSettings withChannels(String channel, int streamId, String replyChannel, int replyStreamId) {
        return new AeronTransportSettings("", driver, aeronDirectory, threadingMode, channel, streamId, replyChannel,
                replyStreamId, mtuBytes, termLengthBytes, ipcTermLengthBytes, socketBufferBytes, maxTransferTimeoutNs, fragmentLimit,
                idleStrategy, debugReceiveLossRate, debugReceiveLossSeed, driverTimeoutNs, bindAddress, peerIdleTimeoutNs);
    }

    /**
     * A copy whose UDP subscriptions listen on {@code address} (e.g. {@code 0.0.0.0}) while the channels keep
     * the address senders use ({@code ""}: listen on the channels' own address).
     */
    public AeronTransportSettings withBindAddress(String address) {
        return new AeronTransportSettings(name, driver, aeronDirectory, threadingMode, channel, streamId, replyChannel,
                replyStreamId, mtuBytes, termLengthBytes, ipcTermLengthBytes, socketBufferBytes, maxTransferTimeoutNs,
                fragmentLimit, idleStrategy, debugReceiveLossRate, debugReceiveLossSeed, driverTimeoutNs, address, peerIdleTimeoutNs);
    }

    /** A copy with another MTU and term lengths (UDP publications', IPC publications'). */
    public AeronTransportSettings withFrames(int mtuBytes, int termLengthBytes, int ipcTermLengthBytes) {
        return new AeronTransportSettings(name, driver, aeronDirectory, threadingMode, channel, streamId, replyChannel,
                replyStreamId, mtuBytes, termLengthBytes, ipcTermLengthBytes, socketBufferBytes, maxTransferTimeoutNs,
                fragmentLimit, idleStrategy, debugReceiveLossRate, debugReceiveLossSeed, driverTimeoutNs, bindAddress, peerIdleTimeoutNs);
    }

    /** A copy whose embedded driver drops {@code rate} of received UDP data frames (tests only). */
    public AeronTransportSettings withDebugReceiveLoss(double rate, long seed) {
        return new AeronTransportSettings(name, driver, aeronDirectory, threadingMode, channel, streamId, replyChannel,
                replyStreamId, mtuBytes, termLengthBytes, ipcTermLengthBytes, socketBufferBytes, maxTransferTimeoutNs, fragmentLimit,
                idleStrategy, rate, seed, driverTimeoutNs, bindAddress, peerIdleTimeoutNs);
    }

    /** A copy with another idle strategy. */
    public AeronTransportSettings withIdleStrategy(IdleKind idle) {
        return new AeronTransportSettings(name, driver, aeronDirectory, threadingMode, channel, streamId, replyChannel,
                replyStreamId, mtuBytes, termLengthBytes, ipcTermLengthBytes, socketBufferBytes, maxTransferTimeoutNs, fragmentLimit,
                idle, debugReceiveLossRate, debugReceiveLossSeed, driverTimeoutNs, bindAddress, peerIdleTimeoutNs);
    }

    /** A copy with another receiver deadline cap. */
    /** A copy that closes a peer's publication after {@code timeoutNs} without a transfer. */
    public AeronTransportSettings withPeerIdleTimeoutNs(long timeoutNs) {
        return new AeronTransportSettings(name, driver, aeronDirectory, threadingMode, channel, streamId, replyChannel,
                replyStreamId, mtuBytes, termLengthBytes, ipcTermLengthBytes, socketBufferBytes, maxTransferTimeoutNs,
                fragmentLimit, idleStrategy, debugReceiveLossRate, debugReceiveLossSeed, driverTimeoutNs, bindAddress,
                timeoutNs);
    }

    public AeronTransportSettings withMaxTransferTimeoutNs(long timeoutNs) {
        return new AeronTransportSettings(name, driver, aeronDirectory, threadingMode, channel, streamId, replyChannel,
                replyStreamId, mtuBytes, termLengthBytes, ipcTermLengthBytes, socketBufferBytes, timeoutNs, fragmentLimit,
                idleStrategy, debugReceiveLossRate, debugReceiveLossSeed, driverTimeoutNs, bindAddress, peerIdleTimeoutNs);
    }

    /** Whether {@code channel} is a UDP channel (as opposed to IPC). */
    static boolean isUdp(String channel) {
        return channel.startsWith("aeron:udp");
    }

    /**
     * Whether a receiver on {@code channel} runs on this host: an IPC channel, or UDP to a loopback
     * address ({@code 127.0.0.0/8}, {@code ::1}, {@code localhost}). Other addresses may be local too,
     * but telling that would need name and interface lookups; those receivers get bytes.
     */
    static boolean isSameHost(String channel) {
        if (!isUdp(channel)) {
            return true;
        }
        String endpoint = ChannelUri.parse(channel).get(CommonContext.ENDPOINT_PARAM_NAME);
        if (endpoint == null) {
            return false;
        }
        int colon = endpoint.lastIndexOf(':');
        String host = colon < 0 ? endpoint : endpoint.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        return host.equals("localhost") || host.startsWith("127.") || host.equals("::1");
    }

    /** The term length of a publication on {@code channel}: {@link #ipcTermLengthBytes} for IPC. */
    int termLengthFor(String channel) {
        return isUdp(channel) ? termLengthBytes : ipcTermLengthBytes;
    }

    /** {@code channel} with this transport's MTU, term length and socket buffers for a publication. */
    String publicationChannel(String channel) {
        ChannelUri uri = ChannelUri.parse(channel);
        uri.put(CommonContext.MTU_LENGTH_PARAM_NAME, Integer.toString(mtuBytes));
        uri.put(CommonContext.TERM_LENGTH_PARAM_NAME, Integer.toString(termLengthFor(channel)));
        if (isUdp(channel) && socketBufferBytes > 0) {
            uri.put(CommonContext.SOCKET_SNDBUF_PARAM_NAME, Integer.toString(socketBufferBytes));
        }
        return uri.toString();
    }

    /**
     * {@code channel} with this transport's socket buffers for a subscription, listening on
     * {@link #bindAddress} instead of the endpoint's host when one is set.
     */
    String subscriptionChannel(String channel) {
        ChannelUri uri = ChannelUri.parse(channel);
        if (isUdp(channel) && !bindAddress.isEmpty()) {
            String endpoint = uri.get(CommonContext.ENDPOINT_PARAM_NAME);
            uri.put(CommonContext.ENDPOINT_PARAM_NAME, bindAddress + endpoint.substring(endpoint.lastIndexOf(':')));
        }
        if (isUdp(channel) && socketBufferBytes > 0) {
            uri.put(CommonContext.SOCKET_RCVBUF_PARAM_NAME, Integer.toString(socketBufferBytes));
            uri.put(CommonContext.RECEIVER_WINDOW_LENGTH_PARAM_NAME,
                    Integer.toString(Math.min(socketBufferBytes, termLengthBytes / 2)));
        }
        return uri.toString();
    }

    private static void checkTermLength(String key, int bytes, int mtuBytes) {
        if (bytes < MIN_TERM_LENGTH_BYTES || bytes > MAX_TERM_LENGTH_BYTES || !BitUtil.isPowerOfTwo(bytes)) {
            throw invalid(key, bytes, "a power of two from " + MIN_TERM_LENGTH_BYTES + " to " + MAX_TERM_LENGTH_BYTES);
        }
        if (bytes < 8L * mtuBytes) {
            throw invalid(key, bytes, "at least 8 * mtu-bytes = " + 8L * mtuBytes
                    + " (the largest Aeron message is a term / 8)");
        }
    }

    private static void checkChannel(String key, String channel) {
        if (channel == null || !(channel.startsWith("aeron:ipc") || channel.startsWith("aeron:udp"))) {
            throw new KvTransferException(PATH + "." + key + ": \"" + channel
                    + "\" is not an Aeron channel (expected aeron:ipc or aeron:udp?endpoint=host:port)");
        }
        try {
            ChannelUri uri = ChannelUri.parse(channel);
            if (isUdp(channel) && uri.get(CommonContext.ENDPOINT_PARAM_NAME) == null) {
                throw new KvTransferException(PATH + "." + key + ": \"" + channel + "\" has no endpoint=host:port");
            }
        } catch (IllegalArgumentException e) {
            throw new KvTransferException(PATH + "." + key + ": \"" + channel + "\" is malformed: " + e.getMessage(), e);
        }
    }

    private static KvTransferException invalid(String key, Object value, String limit) {
        return new KvTransferException(PATH + "." + key + " = " + value + " is out of range: must be " + limit);
    }

    private static int intBytes(Config c, String key) {
        long v = c.getBytes(key);
        if (v > Integer.MAX_VALUE) {
            throw invalid(key, v, "at most " + Integer.MAX_VALUE);
        }
        return (int) v;
    }

    private static <E extends Enum<E>> E parseEnum(Class<E> type, Config c, String key) {
        String v = c.getString(key).trim().toUpperCase(Locale.ROOT).replace('-', '_');
        try {
            return Enum.valueOf(type, v);
        } catch (IllegalArgumentException e) {
            throw new KvTransferException(PATH + "." + key + " = \"" + c.getString(key) + "\" is not one of "
                    + java.util.Arrays.toString(type.getEnumConstants()).toLowerCase(Locale.ROOT).replace('_', '-'));
        }
    }
}
