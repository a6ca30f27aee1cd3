package dev.baton.router.api.openai;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import dev.baton.common.RequestId;
import dev.baton.common.protocol.NodeProtocol;
import dev.baton.router.api.openai.CompletionRequest.Kind;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.serialization.Serialization;
import org.apache.pekko.serialization.SerializationExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A string with a lone UTF-16 surrogate ({@code "\ud800"}, which JSON's escapes allow) cannot be
 * written as UTF-8, so a request that carried one in {@code cache_salt} or {@code stop} reached the
 * router's dispatcher, whose message to the node then failed to serialize: Pekko drops such a message
 * with a log line, and the request waited for an answer that never came. The parser refuses such
 * strings with a 400 naming the field.
 */
@Timeout(30)
class LoneSurrogateTest {

    @Test
    void shouldShowThatTheClusterCannotCarryALoneSurrogate() throws Exception {
        ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "surrogate", ConfigFactory.parseString(
                "pekko.loglevel = ERROR").withFallback(ConfigFactory.load()));
        try {
            Serialization serialization = SerializationExtension.get(system);
            NodeProtocol.Generate fine = generate("tenant-a");
            assertTrue(serialization.serialize(fine).isSuccess(), "a plain salt serializes");
            assertTrue(serialization.serialize(generate("\ud800")).isFailure(),
                    "a lone surrogate cannot be serialized for another node");
        } finally {
            system.terminate();
            system.getWhenTerminated().toCompletableFuture().get();
        }
    }

    private static NodeProtocol.Generate generate(String salt) {
        CompletionRequest r = RequestParser.parse("{\"prompt\": [1, 2]}", Kind.COMPLETION);
        return new NodeProtocol.Generate(new RequestId(1), new int[] {1, 2}, r.sampling().toSpec(), salt, null);
    }

    @Test
    void shouldRefuseALoneSurrogateInCacheSalt() {
        ApiError e = refusal("{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"cache_salt\": \"\\ud800\"}",
                Kind.CHAT);
        assertEquals(400, e.status());
        assertEquals("cache_salt", e.param());
        assertTrue(e.message().contains("surrogate"), e.message());
    }

    @Test
    void shouldRefuseLoneSurrogatesInEveryStringField() {
        assertEquals("stop", refusal("{\"prompt\": \"x\", \"stop\": [\"ok\", \"a\\udc00\"]}", Kind.COMPLETION).param());
        assertEquals("stop", refusal("{\"prompt\": \"x\", \"stop\": \"\\ud83d\"}", Kind.COMPLETION).param());
        assertEquals("model", refusal("{\"prompt\": \"x\", \"model\": \"m\\ud800\"}", Kind.COMPLETION).param());
        assertEquals("prompt", refusal("{\"prompt\": \"\\udfff tail\"}", Kind.COMPLETION).param());
        assertEquals("prompt", refusal("{\"prompt\": [\"\\ud800\"]}", Kind.COMPLETION).param());
        assertEquals("messages[0].content", refusal(
                "{\"messages\": [{\"role\": \"user\", \"content\": \"\\ud800\"}]}", Kind.CHAT).param());
        assertEquals("messages[0].content", refusal("{\"messages\": [{\"role\": \"user\", \"content\":"
                + " [{\"type\": \"text\", \"text\": \"\\ud800\"}]}]}", Kind.CHAT).param());
        assertEquals("messages[1].role", refusal("{\"messages\": [{\"role\": \"user\", \"content\": \"a\"},"
                + " {\"role\": \"\\ud800\", \"content\": \"b\"}]}", Kind.CHAT).param());
    }

    @Test
    void shouldAcceptSurrogatePairs() {
        CompletionRequest r = RequestParser.parse("{\"prompt\": \"\\ud83d\\ude42\", \"stop\": \"\\ud83d\\ude42\","
                + " \"cache_salt\": \"\\ud83d\\ude42\"}", Kind.COMPLETION);
        assertEquals("\ud83d\ude42", r.cacheSalt());
    }

    private static ApiError refusal(String body, Kind kind) {
        return assertThrows(ApiException.class, () -> RequestParser.parse(body, kind)).error();
    }
}
