package dev.baton.bench.serve.client;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Duration;

/**
 * How requests are made.
 *
 * @param ignoreEos send {@code ignore_eos: true} so that the server generates exactly {@code max_tokens}
 *     (vLLM, llama-server, SGLang and Baton honour it; plain OpenAI rejects unknown fields, so it can be off)
 * @param extraBody fields merged into every request body (server-specific sampling options); may be null
 * @param requestTimeout the limit on one request, from sending to the end of its stream
 * @param connectTimeout the limit on opening a connection
 * @param sessionIds send each session's id (a run-unique name) as {@code user}, so that a server with sticky
 *     sessions sends a conversation's turns to one node
 */
public record ClientOptions(boolean ignoreEos, ObjectNode extraBody, Duration requestTimeout, Duration connectTimeout,
        boolean sessionIds) {

    public ClientOptions(boolean ignoreEos, ObjectNode extraBody, Duration requestTimeout, Duration connectTimeout) {
        this(ignoreEos, extraBody, requestTimeout, connectTimeout, true);
    }

    /** {@code ignore_eos} on, no extra fields, 5 minutes per request, 10 s to connect. */
    public static ClientOptions defaults() {
        return new ClientOptions(true, null, Duration.ofMinutes(5), Duration.ofSeconds(10));
    }

    public ClientOptions withRequestTimeout(Duration d) {
        return new ClientOptions(ignoreEos, extraBody, d, connectTimeout, sessionIds);
    }
}
