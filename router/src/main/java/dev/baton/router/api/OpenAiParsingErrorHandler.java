package dev.baton.router.api;

import dev.baton.router.api.openai.ApiError;
import org.apache.pekko.event.LoggingAdapter;
import org.apache.pekko.http.ParsingErrorHandler;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.scaladsl.model.ErrorInfo;
import org.apache.pekko.http.scaladsl.model.StatusCode;
import org.apache.pekko.http.scaladsl.settings.ServerSettings;

/**
 * Answers requests Pekko HTTP cannot parse (a bad request line, a header over
 * {@code baton.router.max-header-bytes}, more than {@code max-headers} headers, a URI over
 * {@code max-uri-bytes}, a broken chunked body) with an OpenAI error body instead of Pekko's plain text.
 * Pekko's status is kept (400, 413, 414, 431; too many headers is 400), except that a request it refuses with a 5xx (an unknown
 * method is 501, an unknown HTTP version 505) is answered 400: a request that cannot be parsed is the
 * client's error. Set as {@code pekko.http.server.parsing.error-handler} by {@link RouterHttpServer};
 * Pekko makes one instance and calls it from its connection stages (stateless, thread-safe).
 */
public final class OpenAiParsingErrorHandler extends ParsingErrorHandler {

    public OpenAiParsingErrorHandler() {}

    @Override
    public HttpResponse handle(StatusCode status, ErrorInfo info, LoggingAdapter log, ServerSettings settings) {
        int code = status.intValue() >= 500 || status.intValue() < 400 ? 400 : status.intValue();
        String summary = info.summary().isEmpty() ? status.reason() : info.summary();
        if (summary.contains("configured limit") && summary.contains("header")) {
            summary += " (limits: baton.router.max-header-bytes per header, baton.router.max-headers)";
        } else if (code == 414) {
            summary += " (limit: baton.router.max-uri-bytes)";
        }
        return HttpAnswers.error(new ApiError(code, ApiError.INVALID_REQUEST, "the HTTP request cannot be parsed: "
                + summary, null, "invalid_http_request", 0));
    }
}
