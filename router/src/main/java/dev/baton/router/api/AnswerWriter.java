package dev.baton.router.api;

import com.fasterxml.jackson.databind.JsonNode;
import dev.baton.common.protocol.GenerationEvent;
import dev.baton.engine.tokenizer.Tokenizer;
import dev.baton.router.api.GenerationRun.Event;
import dev.baton.router.api.GenerationRun.Failed;
import dev.baton.router.api.GenerationRun.Finished;
import dev.baton.router.api.GenerationRun.Token;
import dev.baton.router.api.openai.ApiError;
import dev.baton.router.api.openai.CompletionRequest.Kind;
import dev.baton.router.api.openai.OpenAiJson;
import dev.baton.router.api.openai.OpenAiJson.Usage;
import java.util.ArrayList;
import java.util.List;
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
    /** Renders logprobs; null when the request asked for none. */
    private final Tokenizer logprobs;

    AnswerWriter(Kind kind, String id, long created, String model, boolean includeUsage) {
        this(kind, id, created, model, includeUsage, null);
    }

    /** @param logprobs the model's tokenizer when the request asked for logprobs, else null */
    AnswerWriter(Kind kind, String id, long created, String model, boolean includeUsage, Tokenizer logprobs) {
        this.kind = kind;
        this.id = id;
        this.created = created;
        this.model = model;
        this.includeUsage = includeUsage;
        this.logprobs = logprobs;
    }

    /** The SSE frames of a stream of events, ending with {@code [DONE]} after the terminal event. */
    Source<ByteString, NotUsed> frames(Source<Event, NotUsed> events) {
        int[] textOffset = new int[1]; // completions' text_offset runs on over the chunks; one stream stage uses it
        Source<ByteString, NotUsed> body = events.map(e -> frame(e, textOffset));
        if (kind == Kind.CHAT) {
            ByteString role = frame(OpenAiJson.chunk(kind, id, created, model, "", null, true, includeUsage));
            return Source.single(role).concat(body);
        }
        return body;
    }

    ByteString frame(Event event) {
        return frame(event, new int[1]);
    }

    private ByteString frame(Event event, int[] textOffset) {
        return switch (event) {
            case Token t -> frame(OpenAiJson.chunk(kind, id, created, model, t.text(), null, false, includeUsage,
                    logprobs(t.logprobs(), textOffset)));
            case Finished f -> {
                ByteString out = frame(OpenAiJson.chunk(kind, id, created, model, f.text(), f.reason().wireName(), false,
                        includeUsage, logprobs(f.logprobs(), textOffset)));
                if (includeUsage) {
                    out = out.concat(frame(OpenAiJson.usageChunk(kind, id, created, model, f.usage())));
                }
                yield out.concat(DONE);
            }
            case Failed x -> frame(OpenAiJson.error(x.error())).concat(DONE);
        };
    }

    /**
     * The {@code logprobs} of a chunk's tokens, or null when none were asked for; moves the completions'
     * text offset past them.
     */
    private JsonNode logprobs(List<GenerationEvent.Logprob> tokens, int[] textOffset) {
        if (logprobs == null) {
            return null;
        }
        JsonNode node = OpenAiJson.logprobs(kind, tokens, logprobs, textOffset[0]);
        if (kind == Kind.COMPLETION) {
            for (JsonNode token : node.get("tokens")) {
                textOffset[0] += token.asText().length(); // the texts just decoded; chat has no offsets
            }
        }
        return node;
    }

    /** Collects the events of a non-streaming answer. Owned by one stream stage: not thread-safe. */
    static final class Collected {
        private final StringBuilder text = new StringBuilder();
        private final List<GenerationEvent.Logprob> logprobs = new ArrayList<>();
        private Finished finished;
        private ApiError error;

        Collected add(Event event) {
            switch (event) {
                case Token t -> {
                    text.append(t.text());
                    logprobs.addAll(t.logprobs());
                }
                case Finished f -> {
                    text.append(f.text());
                    logprobs.addAll(f.logprobs());
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
                c.finished.reason().wireName(), usage,
                logprobs == null ? null : OpenAiJson.logprobs(kind, c.logprobs, logprobs, 0)));
    }

    private static ByteString frame(byte[] json) {
        return DATA.concat(ByteString.fromArray(json)).concat(END_OF_EVENT);
    }
}
