package dev.baton.router.api;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import dev.baton.engine.sampling.SamplingParams;
import dev.baton.router.api.openai.RequestLimits;
import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * Settings of the router's HTTP API, read once from {@code baton.router} (every key is described in
 * the router's {@code reference.conf}) and validated by {@link #validate()}. Immutable.
 *
 * @param host            interface to bind
 * @param port            TCP port; 0 picks a free one (the bound port is in the server's binding)
 * @param apiKeys         accepted bearer keys for {@code /v1/*}; empty means no key is needed
 * @param requestTimeout  longest a completion may run before it is cancelled and answered with a timeout
 * @param maxStreamBuffer stream events buffered per streaming response before the client counts as gone
 * @param retryAfter      the {@code Retry-After} of 429 and 503 answers (sent in whole seconds, at least 1)
 * @param maxRequestBytes largest request body
 * @param shutdownTimeout how long stopping waits for requests in flight
 * @param adminKeys       bearer keys of the admin endpoints ({@code /v1/cluster}, drain, {@code /v1/planner}); empty:
 *                        those take the API keys like every other {@code /v1/*} endpoint
 * @param tls             HTTPS: the API's key and certificate ({@code baton.router.tls}); off: plain HTTP
 * @param maxHeaderBytes  longest value of one request header (past it: 431)
 * @param maxHeaders      most request headers (past it: 431)
 * @param maxUriBytes     longest request target (past it: 414)
 * @param limits          limits on a request's fields ({@code baton.router.limits}): prompt tokens,
 *                        {@code max_tokens}, stop strings, logprobs (past one: 400)
 * @param bodyTimeout     longest the whole request body may take to arrive once its headers have (past it: 408)
 */
public record RouterSettings(
        String host,
        int port,
        List<String> apiKeys,
        Duration requestTimeout,
        int maxStreamBuffer,
        Duration retryAfter,
        long maxRequestBytes,
        Duration shutdownTimeout,
        List<String> adminKeys,
        dev.baton.router.tls.TlsSettings tls,
        int maxHeaderBytes,
        int maxHeaders,
        int maxUriBytes,
        RequestLimits limits,
        Duration bodyTimeout) {

    /** The largest {@link #maxStreamBuffer()}: a million events is far past any useful client lag. */
    public static final int MAX_STREAM_BUFFER = 1 << 20;

    public RouterSettings {
        apiKeys = List.copyOf(Objects.requireNonNull(apiKeys, "apiKeys"));
        adminKeys = List.copyOf(Objects.requireNonNull(adminKeys, "adminKeys"));
        tls = tls == null ? dev.baton.router.tls.TlsSettings.off("baton.router.tls") : tls;
        limits = limits == null ? RequestLimits.ENGINE : limits;
    }

    /**
     * Reads {@code baton.router} from a resolved root config (the router's {@code reference.conf}
     * under whatever overrides it) and validates it.
     *
     * @throws RouterConfigException naming the key that is missing, of the wrong type or out of range
     */
    public static RouterSettings from(Config root) {
        try {
            Config c = root.getConfig("baton.router");
            return new RouterSettings(
                    c.getString("host"),
                    c.getInt("port"),
                    c.getStringList("api-keys"),
                    c.getDuration("request-timeout"),
                    c.getInt("max-stream-buffer"),
                    c.getDuration("retry-after"),
                    c.getBytes("max-request-bytes"),
                    c.getDuration("shutdown-timeout"),
                    c.getStringList("admin-keys"),
                    dev.baton.router.tls.TlsSettings.from(root, "baton.router.tls"),
                    Math.toIntExact(Math.min(Integer.MAX_VALUE, c.getBytes("max-header-bytes"))),
                    c.getInt("max-headers"),
                    Math.toIntExact(Math.min(Integer.MAX_VALUE, c.getBytes("max-uri-bytes"))),
                    limits(c.getConfig("limits")),
                    c.getDuration("body-timeout")).validate();
        } catch (ConfigException | dev.baton.router.tls.TlsConfigException e) {
            throw new RouterConfigException("configuration: " + e.getMessage(), e);
        }
    }

    private static RequestLimits limits(Config l) {
        return new RequestLimits(l.getInt("max-prompt-tokens"), l.getInt("max-tokens"), l.getInt("max-stop-strings"),
                l.getInt("max-stop-string-chars"), l.getInt("max-logprobs"));
    }

    /** A copy listening on {@code newPort} (0: a free port). */
    public RouterSettings withPort(int newPort) {
        return new RouterSettings(host, newPort, apiKeys, requestTimeout, maxStreamBuffer, retryAfter, maxRequestBytes,
                shutdownTimeout, adminKeys, tls, maxHeaderBytes, maxHeaders, maxUriBytes, limits, bodyTimeout).validate();
    }

    /** A copy accepting exactly {@code keys} (empty: no key needed). */
    public RouterSettings withApiKeys(List<String> keys) {
        return new RouterSettings(host, port, keys, requestTimeout, maxStreamBuffer, retryAfter, maxRequestBytes,
                shutdownTimeout, adminKeys, tls, maxHeaderBytes, maxHeaders, maxUriBytes, limits, bodyTimeout).validate();
    }

    /** A copy with another request timeout. */
    public RouterSettings withRequestTimeout(Duration timeout) {
        return new RouterSettings(host, port, apiKeys, timeout, maxStreamBuffer, retryAfter, maxRequestBytes,
                shutdownTimeout, adminKeys, tls, maxHeaderBytes, maxHeaders, maxUriBytes, limits, bodyTimeout).validate();
    }

    /** A copy with another stream buffer. */
    public RouterSettings withMaxStreamBuffer(int events) {
        return new RouterSettings(host, port, apiKeys, requestTimeout, events, retryAfter, maxRequestBytes,
                shutdownTimeout, adminKeys, tls, maxHeaderBytes, maxHeaders, maxUriBytes, limits, bodyTimeout).validate();
    }

    /** A copy whose admin endpoints take exactly {@code keys} (empty: the API keys). */
    public RouterSettings withAdminKeys(List<String> keys) {
        return new RouterSettings(host, port, apiKeys, requestTimeout, maxStreamBuffer, retryAfter, maxRequestBytes,
                shutdownTimeout, keys, tls, maxHeaderBytes, maxHeaders, maxUriBytes, limits, bodyTimeout).validate();
    }

    /** A copy serving HTTPS as {@code newTls} says (or plain HTTP when it is off). */
    public RouterSettings withTls(dev.baton.router.tls.TlsSettings newTls) {
        return new RouterSettings(host, port, apiKeys, requestTimeout, maxStreamBuffer, retryAfter, maxRequestBytes,
                shutdownTimeout, adminKeys, newTls, maxHeaderBytes, maxHeaders, maxUriBytes, limits, bodyTimeout).validate();
    }

    /** A copy with other limits on a request's fields. */
    public RouterSettings withLimits(RequestLimits newLimits) {
        return new RouterSettings(host, port, apiKeys, requestTimeout, maxStreamBuffer, retryAfter, maxRequestBytes,
                shutdownTimeout, adminKeys, tls, maxHeaderBytes, maxHeaders, maxUriBytes, newLimits, bodyTimeout).validate();
    }

    /** A copy that waits at most {@code timeout} for a request body. */
    public RouterSettings withBodyTimeout(Duration timeout) {
        return new RouterSettings(host, port, apiKeys, requestTimeout, maxStreamBuffer, retryAfter, maxRequestBytes,
                shutdownTimeout, adminKeys, tls, maxHeaderBytes, maxHeaders, maxUriBytes, limits, timeout).validate();
    }

    /**
     * Checks every field.
     *
     * @return this
     * @throws RouterConfigException naming the first key out of range, its value and the range
     */
    public RouterSettings validate() {
        check(host != null && !host.isBlank(), "host", host, "a host name or address");
        check(port >= 0 && port <= 65535, "port", port, "0..65535");
        for (String key : apiKeys) {
            check(key != null && !key.isBlank() && key.strip().equals(key), "api-keys", "(a key)",
                    "non-blank keys without surrounding spaces");
        }
        check(requestTimeout != null && requestTimeout.toMillis() >= 1, "request-timeout", requestTimeout, ">= 1ms");
        check(maxStreamBuffer >= 1 && maxStreamBuffer <= MAX_STREAM_BUFFER, "max-stream-buffer", maxStreamBuffer,
                "1.." + MAX_STREAM_BUFFER);
        check(retryAfter != null && !retryAfter.isNegative() && retryAfter.toSeconds() <= 3600, "retry-after",
                retryAfter, "0s..1h");
        check(maxRequestBytes >= 1024, "max-request-bytes", maxRequestBytes, ">= 1KiB");
        check(shutdownTimeout != null && !shutdownTimeout.isNegative(), "shutdown-timeout", shutdownTimeout, ">= 0s");
        for (String key : adminKeys) {
            check(key != null && !key.isBlank() && key.strip().equals(key), "admin-keys", "(a key)",
                    "non-blank keys without surrounding spaces");
            check(!apiKeys.contains(key), "admin-keys", "(a key)", "keys that are not also API keys");
        }
        try {
            tls.validate();
        } catch (dev.baton.router.tls.TlsConfigException e) {
            throw new RouterConfigException(e.getMessage(), e);
        }
        check(maxHeaderBytes >= 256 && maxHeaderBytes <= 1 << 20, "max-header-bytes", maxHeaderBytes, "256B..1MiB");
        check(maxHeaders >= 8 && maxHeaders <= 1024, "max-headers", maxHeaders, "8..1024");
        check(maxUriBytes >= 256 && maxUriBytes <= 1 << 20, "max-uri-bytes", maxUriBytes, "256B..1MiB");
        check(bodyTimeout != null && bodyTimeout.toMillis() >= 1, "body-timeout", bodyTimeout, ">= 1ms");
        check(limits.maxPromptTokens() >= 0, "limits.max-prompt-tokens", limits.maxPromptTokens(),
                ">= 0, 0: the model's context");
        check(limits.maxTokens() >= 0, "limits.max-tokens", limits.maxTokens(), ">= 0, 0: the model's context");
        check(limits.maxStopStrings() >= 0 && limits.maxStopStrings() <= SamplingParams.MAX_STOP_STRINGS,
                "limits.max-stop-strings", limits.maxStopStrings(), "0.." + SamplingParams.MAX_STOP_STRINGS
                        + ", the engine's limit");
        check(limits.maxStopStringChars() >= 1 && limits.maxStopStringChars() <= SamplingParams.MAX_STOP_STRING_CHARS,
                "limits.max-stop-string-chars", limits.maxStopStringChars(), "1.." + SamplingParams.MAX_STOP_STRING_CHARS
                        + ", the engine's limit");
        check(limits.maxLogprobs() >= 0 && limits.maxLogprobs() <= SamplingParams.MAX_LOGPROBS, "limits.max-logprobs",
                limits.maxLogprobs(), "0.." + SamplingParams.MAX_LOGPROBS + ", the engine's limit");
        return this;
    }

    /** {@code Retry-After} in whole seconds, at least 1. */
    public long retryAfterSeconds() {
        return Math.max(1, (retryAfter.toMillis() + 999) / 1000);
    }

    /** Whether {@code /v1/*} needs a bearer key. */
    public boolean requiresApiKey() {
        return !apiKeys.isEmpty();
    }

    /** Whether the admin endpoints take only the admin keys. */
    public boolean requiresAdminKey() {
        return !adminKeys.isEmpty();
    }

    /** Never prints the keys themselves. */
    @Override
    public String toString() {
        return "RouterSettings[host=" + host + ", port=" + port + ", apiKeys=" + apiKeys.size() + " key(s)"
                + ", requestTimeout=" + requestTimeout + ", maxStreamBuffer=" + maxStreamBuffer + ", retryAfter="
                + retryAfter + ", maxRequestBytes=" + maxRequestBytes + ", shutdownTimeout=" + shutdownTimeout + ", adminKeys="
                + adminKeys.size() + " key(s), tls=" + tls + ", maxHeaderBytes=" + maxHeaderBytes + ", maxHeaders=" + maxHeaders
                + ", maxUriBytes=" + maxUriBytes + ", limits=" + limits + "]";
    }

    private static void check(boolean ok, String key, Object value, String range) {
        if (!ok) {
            throw new RouterConfigException("baton.router." + key + " = " + value + " is out of range (" + range + ")");
        }
    }
}
