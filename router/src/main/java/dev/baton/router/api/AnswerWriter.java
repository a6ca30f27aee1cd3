package dev.baton.router.api;

import dev.baton.router.api.GenerationRun.Event;
import dev.baton.router.api.GenerationRun.Failed;
import dev.baton.router.api.GenerationRun.Finished;
import dev.baton.router.api.GenerationRun.Token;
import dev.baton.router.api.openai.ApiError;
import dev.baton.router.api.openai.CompletionRequest.Kind;
import dev.baton.router.api.openai.OpenAiJson;
import dev.baton.router.api.openai.OpenAiJson.Usage;
import org.apache.pekko.NotUsed;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.util.ByteString;

/**
 * Writes one request's answer from its {@link Event}s: as Server-Sent Events, or whole.
 *
 * <pre>
 * stream:  [chat: data: {role chunk}]  data: {chunk}...  data: {last chunk, finish_reason}
 *          [include_usage: data: {usage chunk}]  data: [DONE]
 * error after the stream started:  data: {"error":{...}}  data: [DONE]
 * </pre>
 *
 * Each SSE frame is {@code data: JSON\n\n}; JSON never contains a raw newline. Immutable.
 */
final class AnswerWriter {

    private static final ByteString DATA = ByteString.fromString("data: ");
    private static final ByteString END_OF_EVENT = ByteString.fromString("\n\n");
    private static final ByteString DONE = ByteString.fromString("data: [DONE]\n\n");

    private final Kind kind;
    private final String id;
    private final long created;
    private final String model;
    private final boolean includeUsage;

    AnswerWriter(Kind kind, String id, long created, String model, boolean includeUsage) {
        this.kind = kind;
        this.id = id;
        this.created = created;
        this.model = model;
        this.includeUsage = includeUsage;
    }

    /** The SSE frames of a stream of events, ending with {@code [DONE]} after the terminal event. */
    Source<ByteString, NotUsed> frames(Source<Event, NotUsed> events) {
        Source<ByteString, NotUsed> body = events.map(this::frame);
        if (kind == Kind.CHAT) {
            ByteString role = frame(OpenAiJson.chunk(kind, id, created, model, "", null, true, includeUsage));
            return Source.single(role).concat(body);
        }
        return body;
    }

    ByteString frame(Event event) {
        return switch (event) {
            case Token t -> frame(OpenAiJson.chunk(kind, id, created, model, t.text(), null, false, includeUsage));
            case Finished f -> {
                ByteString out = frame(OpenAiJson.chunk(kind, id, created, model, f.text(), f.reason().wireName(), false,
                        includeUsage));
                if (includeUsage) {
                    out = out.concat(frame(OpenAiJson.usageChunk(kind, id, created, model, f.usage())));
                }
                yield out.concat(DONE);
            }
            case Failed x -> frame(OpenAiJson.error(x.error())).concat(DONE);
        };
    }

    /** Collects the events of a non-streaming answer. Owned by one stream stage: not thread-safe. */
    static final class Collected {
        private final StringBuilder text = new StringBuilder();
        private Finished finished;
        private ApiError error;

        Collected add(Event event) {
            switch (event) {
                case Token t -> text.append(t.text());
                case Finished f -> {
                    text.append(f.text());
                    finished = f;
                }
                case Failed x -> error = x.error();
            }
            return this;
        }
    }

    /** The whole answer, or the error that ended the request. */
    HttpResponse whole(Collected c) {
        if (c.error != null) {
            return HttpAnswers.error(c.error);
        }
        if (c.finished == null) {
            return HttpAnswers.error(ApiError.internal()); // the stream ended without an end: a bug
        }
        Usage usage = c.finished.usage();
        return HttpAnswers.json(200, OpenAiJson.answer(kind, id, created, model, c.text.toString(),
                c.finished.reason().wireName(), usage));
    }

    private static ByteString frame(byte[] json) {
        return DATA.concat(ByteString.fromArray(json)).concat(END_OF_EVENT);
    }
}
