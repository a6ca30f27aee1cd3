package dev.baton.router.api;

import dev.baton.router.api.openai.ApiError;
import dev.baton.router.api.openai.OpenAiJson;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.apache.pekko.http.javadsl.model.ContentType;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpHeader;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.MediaTypes;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.headers.CacheControl;
import org.apache.pekko.http.javadsl.model.headers.CacheDirectives;
import org.apache.pekko.http.javadsl.model.headers.HttpChallenge;
import org.apache.pekko.http.javadsl.model.headers.RetryAfter;
import org.apache.pekko.http.javadsl.model.headers.WWWAuthenticate;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.util.ByteString;

/** The HTTP responses the API sends: JSON bodies, OpenAI errors (with their headers) and event streams. */
final class HttpAnswers {

    /** {@code text/event-stream} (UTF-8). */
    static final ContentType EVENT_STREAM = ContentTypes.create(MediaTypes.TEXT_EVENT_STREAM);

    /** Prometheus' text exposition format. */
    static final ContentType PROMETHEUS_TEXT = ContentTypes.parse("text/plain; version=0.0.4; charset=utf-8");

    private HttpAnswers() {}

    static HttpResponse json(int status, byte[] body) {
        return HttpResponse.create().withStatus(status).withEntity(HttpEntities.create(ContentTypes.APPLICATION_JSON, body));
    }

    /** An OpenAI error body with {@code Retry-After} (429, 503) or {@code WWW-Authenticate} (401) where they apply. */
    static HttpResponse error(ApiError error) {
        List<HttpHeader> headers = new ArrayList<>(1);
        if (error.retryAfterSeconds() > 0) {
            headers.add(RetryAfter.create(error.retryAfterSeconds()));
        }
        if (error.status() == 401) {
            headers.add(WWWAuthenticate.create(HttpChallenge.create("Bearer", "baton")));
        }
        return json(error.status(), OpenAiJson.error(error)).withHeaders(headers);
    }

    /** A Server-Sent Events answer: 200, each element of {@code frames} sent as one chunk as soon as it exists. */
    static HttpResponse eventStream(Source<ByteString, ?> frames) {
        return HttpResponse.create().withStatus(StatusCodes.OK)
                .withHeaders(List.of(CacheControl.create(CacheDirectives.NO_CACHE)))
                .withEntity(HttpEntities.createChunked(EVENT_STREAM, frames));
    }

    static HttpResponse text(int status, ContentType type, String body) {
        return HttpResponse.create().withStatus(status).withEntity(HttpEntities.create(type, body.getBytes(StandardCharsets.UTF_8)));
    }
}
